"""Planning an event on behalf of a user: the shared match service as the
scorer (under the index lock) and an audit row for every version written."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from kejie.audit import audit
from kejie.errors import RecordNotFound
from matcher.errors import InfeasiblePlan
from models import Event, MatchList, User

if TYPE_CHECKING:
    from kejie.match_service import MatchService


def plan_event_for(session: Session, index: MatchService, user: User, event_id: int) -> tuple[MatchList, bool]:
    """Plan ``event_id`` with the shared index; returns (match list, whether a new version was written)."""
    from kejie.events import plan_event_outcome

    if session.get(Event, event_id) is None:
        raise RecordNotFound("活动", event_id)

    def score_fn(s: Session, demand_ids: list[int], kind: Any, candidate_ids: list[int]) -> Any:
        return index.score_matrix(s, demand_ids, kind, candidate_ids)

    try:
        outcome = plan_event_outcome(session, event_id, score_fn)
    except InfeasiblePlan as exc:
        if exc.match_list_id is not None:
            audit(session, user, "plan", "match_list", exc.match_list_id,
                  {"event_id": event_id, "status": "infeasible", "version": exc.version})
            session.commit()
        raise
    if outcome.created:
        ml = outcome.match_list
        audit(session, user, "plan", "match_list", ml.id,
              {"event_id": event_id, "status": ml.status, "version": ml.version})
        session.commit()
    return outcome.match_list, outcome.created
