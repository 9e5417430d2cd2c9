"""The nightly batch: plan every event that starts within the next days."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kejie.events.plan import default_score_fn, plan_event_outcome
from kejie.events.scope import PlanOptions, ScoreFn
from matcher.errors import (
    InfeasiblePlan,
)
from matcher.rules import affiliation_conflict as affiliation_conflict
from matcher.rules import normalise_org as normalise_org
from models import (
    Event,
)


@dataclass
class EventRun:
    event_id: int
    name: str
    starts_on: date
    ok: bool
    created: bool = False
    version: int | None = None
    status: str = ""
    message: str = ""


def upcoming_events(session: Session, days: int, today: date | None = None) -> list[Event]:
    """Events starting between ``today`` and ``today + days`` (inclusive)."""
    today = today or date.today()
    return list(
        session.scalars(
            select(Event)
            .where(Event.starts_on >= today, Event.starts_on <= today + timedelta(days=days))
            .order_by(Event.starts_on, Event.id)
        )
    )


def plan_upcoming(
    session: Session,
    days: int = 14,
    score_fn: ScoreFn | None = None,
    *,
    today: date | None = None,
    options: PlanOptions | None = None,
    on_event: Callable[[EventRun], None] | None = None,
    score_fn_factory: Callable[[Session], ScoreFn] | None = None,
) -> list[EventRun]:
    """Plan every upcoming event; one event failing never stops the others.

    Without ``score_fn`` the scorer is built (by ``score_fn_factory``, default
    :func:`default_score_fn`) only when there is at least one event to plan.
    """
    events = [(e.id, e.name, e.starts_on) for e in upcoming_events(session, days, today)]
    if events and score_fn is None:
        score_fn = (score_fn_factory or default_score_fn)(session)
    runs: list[EventRun] = []
    for event_id, name, starts_on in events:
        run = EventRun(event_id=event_id, name=name, starts_on=starts_on, ok=False)
        try:
            outcome = plan_event_outcome(session, event_id, score_fn, options=options)
        except InfeasiblePlan as err:
            run.status, run.version, run.message = "infeasible", err.version, str(err)
        except Exception as exc:  # noqa: BLE001 - a nightly batch reports and moves on
            session.rollback()
            run.status, run.message = "failed", f"{type(exc).__name__}: {exc}"
        else:
            ml = outcome.match_list
            run.ok, run.created, run.version, run.status, run.message = (
                True,
                outcome.created,
                ml.version,
                ml.status,
                ml.message,
            )
        runs.append(run)
        if on_event is not None:
            on_event(run)
    return runs

