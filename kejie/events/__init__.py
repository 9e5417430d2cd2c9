"""Event use cases: scope (:mod:`.scope`), scoring and hashing (:mod:`.scoring`),
the versioned plan (:mod:`.plan`), the nightly batch (:mod:`.nightly`) and the
exports (:mod:`.export` collects, :mod:`.files` writes)."""

from __future__ import annotations

from kejie.events.nightly import EventRun, plan_upcoming, upcoming_events
from kejie.events.plan import (
    PlanOutcome,
    default_score_fn,
    latest_match_list,
    plan_event,
    plan_event_outcome,
)
from kejie.events.scope import PLAN_FORMAT, CandidateKind, PlanOptions, ReasonsFn, ScoreFn
from kejie.events.scoring import REFERENCE_MAX, REFERENCE_MIN, REFERENCE_TOP, Calibration

__all__ = [
    "PLAN_FORMAT",
    "REFERENCE_MAX",
    "REFERENCE_MIN",
    "REFERENCE_TOP",
    "Calibration",
    "CandidateKind",
    "EventRun",
    "PlanOptions",
    "PlanOutcome",
    "ReasonsFn",
    "ScoreFn",
    "default_score_fn",
    "latest_match_list",
    "plan_event",
    "plan_event_outcome",
    "plan_upcoming",
    "upcoming_events",
]
