"""The one place that builds the match service.

Every caller (the API start-up, ``kejie serve``, the ``kejie index`` / ``rank``
commands, the event planner and the nightly batch) gets its
:class:`~kejie.match_service.MatchService` here, so the sync rules are written
once:

- :func:`match_service` — a service over the on-disk indexes, not synced: the
  ``kejie index`` commands sync or rebuild it themselves, and a kind that was
  never synced in this process is synced on its first DB-backed use.
- :func:`synced_match_service` — a service with ``kinds`` (default: all)
  brought in line with the database first (start-up of the API and of
  ``kejie serve``).
- :func:`planning_score_fn` — the planner's scorer: the experts synced first
  (societies, when an event includes them, on first use).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from kejie.match_service import KINDS, MatchService
from kejie.settings import Settings, get_settings
from matcher.encoders.base import Encoder

if TYPE_CHECKING:
    from kejie.events.scope import ScoreFn

def match_service(settings: Settings | None = None, encoder: Encoder | None = None) -> MatchService:
    """A match service over the indexes on disk; nothing is synced yet."""
    return MatchService(settings or get_settings(), encoder=encoder)


def synced_match_service(
    settings: Settings,
    session_factory: sessionmaker[Session],
    encoder: Encoder | None = None,
    kinds: Iterable[str] = KINDS,
) -> tuple[MatchService, dict[str, int]]:
    """A match service with ``kinds`` synced from the database, and the sync counts."""
    service = match_service(settings, encoder=encoder)
    with session_factory() as session:
        counts = service.sync(session, kinds)
    return service, counts


def planning_score_fn(
    session: Session, settings: Settings | None = None, service: MatchService | None = None
) -> tuple[ScoreFn, dict[str, int]]:
    """The production scorer of the event planner and the sync counts of the experts."""
    service = service or match_service(settings)
    counts = service.sync(session, ["expert"])
    return service.score_matrix, counts  # type: ignore[return-value]
