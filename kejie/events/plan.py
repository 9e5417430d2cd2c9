"""Plan an event: read its scope from the database, score, optimise, store a
versioned :class:`~models.MatchList`.

Scope
    Demands whose enterprise is in one of ``Event.regions`` (all regions when
    empty), whose industry (the demand's, else the enterprise's) is in
    ``Event.demand_industries`` (any when empty) and whose status is in
    ``Event.demand_statuses`` (any when empty).
Candidates
    Invited experts, or every expert when ``invite_all``; unavailable experts
    are left out. Societies too when ``include_societies`` (invited ones, or
    all when ``invite_all``). Capacity: the invitation's override, else the
    event's default, else the record's own.
Exclusions
    ``Conflict`` rows; an expert whose affiliation and the enterprise name
    contain one another after normalisation (subsidiaries, branches, group
    parents); never-rules. Must-rules are forced.

Experts are planned with the event's per-demand minimum and maximum; societies
(if any) separately with no minimum and at most ``society_max_per_demand`` per
demand: the two pools share nothing, so the two optimisations are independent.

Idempotency: every input that can change the plan (the records' content, the
effective capacities, conflicts, rules, event settings, planner options and the
scores rounded to 1e-4) goes into ``input_hash``. When the newest version of
the event's list has the same hash it is returned as is and nothing is written;
an infeasible outcome is stored once (status ``infeasible``) and re-raised on
identical re-runs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kejie.events import itinerary, scoring
from kejie.events.scope import CandidateKind, PlanOptions, Scope, ScoreFn, collect, interest_bonus
from kejie.events.scoring import Scored
from matcher.errors import (
    EventNotFound,
    InfeasibleDetail,
    InfeasiblePlan,
    PlanningError,
)
from matcher.planner import (
    SCALE,
    PlanProblem,
    PlanResult,
    solve,
)
from matcher.rules import affiliation_conflict as affiliation_conflict
from matcher.rules import normalise_org as normalise_org
from models import (
    Event,
    MatchItem,
    MatchList,
)


@dataclass
class PlanOutcome:
    match_list: MatchList
    created: bool  # False when an identical earlier version was returned



# ----------------------------------------------------------------------------
# planning


def latest_match_list(session: Session, event_id: int) -> MatchList | None:
    return session.scalars(
        select(MatchList)
        .where(MatchList.event_id == event_id)
        .order_by(MatchList.version.desc())
        .limit(1)
    ).first()


def _problems(
    scope: Scope, scored: dict[CandidateKind, Scored], options: PlanOptions
) -> dict[CandidateKind, PlanProblem]:
    ev = scope.event
    dlabels = [scope.demand_label(i) for i in range(len(scope.demands))]
    out: dict[CandidateKind, PlanProblem] = {
        "expert": PlanProblem(
            scores=interest_bonus(scored["expert"].quality, scope.interested, options),
            capacity=scope.experts.capacity,
            demand_min=ev.min_experts_per_demand,
            demand_max=ev.max_experts_per_demand,
            must_pairs=scope.must["expert"],
            never_pairs=scope.never["expert"],
            forbidden=scope.forbidden,
            min_score=options.min_score,
            load_penalty=options.load_penalty,
            demand_labels=dlabels,
            candidate_labels=[scope.experts.label(j) for j in range(len(scope.experts.records))],
        )
    }
    if scope.societies.records or scope.must["society"]:
        out["society"] = PlanProblem(
            scores=scored["society"].quality,
            capacity=scope.societies.capacity,
            demand_min=0,
            demand_max=options.society_max_per_demand,
            must_pairs=scope.must["society"],
            never_pairs=scope.never["society"],
            min_score=options.min_score,
            load_penalty=options.load_penalty,
            demand_labels=dlabels,
            candidate_labels=[
                scope.societies.label(j) for j in range(len(scope.societies.records))
            ],
        )
    return out


def _store(
    session: Session,
    event_id: int,
    version: int,
    input_hash: str,
    status: str,
    message: str,
    params: dict[str, Any],
    items: Sequence[MatchItem] = (),
) -> MatchList:
    ml = MatchList(
        event_id=event_id,
        version=version,
        input_hash=input_hash,
        status=status,
        message=message,
        params=params,
        total_score=round(sum(it.score for it in items), 4),
    )
    ml.items = list(items)
    session.add(ml)
    return ml


def _finish(
    session: Session, ml: MatchList, commit: bool, event_id: int, input_hash: str
) -> MatchList:
    try:
        if commit:
            session.commit()
        else:
            session.flush()
    except IntegrityError as exc:
        # another run stored this version first; accept it if it is our plan
        session.rollback()
        latest = latest_match_list(session, event_id)
        if latest is not None and latest.input_hash == input_hash:
            return latest
        raise PlanningError(f"活动 #{event_id} 正被另一进程同时排定，请稍后重试") from exc
    return ml


def plan_event_outcome(
    session: Session,
    event_id: int,
    score_fn: ScoreFn | None = None,
    *,
    options: PlanOptions | None = None,
    commit: bool = True,
) -> PlanOutcome:
    """:func:`plan_event`, also telling whether a new version was written."""
    options = options or PlanOptions()
    event = session.get(Event, event_id)
    if event is None:
        raise EventNotFound(event_id)
    scope = collect(session, event)
    if score_fn is None:
        score_fn = default_score_fn(session)
    demand_ids = [d.id for d in scope.demands]
    scored: dict[CandidateKind, Scored] = {
        kind: scoring.score(session, score_fn, demand_ids, kind, pool.ids, options.calibrate)
        for kind, pool in (("expert", scope.experts), ("society", scope.societies))
    }
    input_hash = scoring.input_hash(scope, scored, options)

    latest = latest_match_list(session, event_id)
    if latest is not None and latest.input_hash == input_hash:
        if latest.status == "infeasible":
            err = InfeasiblePlan.from_message(latest.message)
            err.match_list_id, err.version = latest.id, latest.version
            raise err
        return PlanOutcome(latest, created=False)
    version = (latest.version if latest is not None else 0) + 1

    params: dict[str, Any] = {
        "min_score": options.min_score,
        "load_penalty": options.load_penalty,
        "interest_bonus": options.interest_bonus,
        "calibration": {
            kind: asdict(sc.calibration) if sc.calibration is not None else None
            for kind, sc in scored.items()
        },
        "society_max_per_demand": options.society_max_per_demand,
        "min_experts_per_demand": event.min_experts_per_demand,
        "max_experts_per_demand": event.max_experts_per_demand,
        "solver": "min_cost_flow",
        "scale": SCALE,
        "demand_ids": demand_ids,
        "expert_ids": scope.experts.ids,
        "society_ids": scope.societies.ids,
        "expert_capacity": dict(
            zip(map(str, scope.experts.ids), scope.experts.capacity, strict=True)
        ),
        "society_capacity": dict(
            zip(map(str, scope.societies.ids), scope.societies.capacity, strict=True)
        ),
        "unavailable_expert_ids": scope.unavailable_expert_ids,
        "excluded_conflicts": [
            {
                "demand_id": scope.demands[i].id,
                "expert_id": scope.experts.records[j].id,
                "reason": why,
            }
            for (i, j), why in sorted(scope.forbidden.items())
        ][:500],
        "excluded_conflict_count": len(scope.forbidden),
    }

    started = time.perf_counter()
    try:
        if scope.rule_problems:
            raise InfeasiblePlan(InfeasibleDetail(problems=list(scope.rule_problems)))
        results: dict[CandidateKind, PlanResult] = {
            kind: solve(problem) for kind, problem in _problems(scope, scored, options).items()
        }
    except InfeasiblePlan as err:
        params["seconds"] = round(time.perf_counter() - started, 4)
        params["problems"] = err.problems
        ml = _store(session, event_id, version, input_hash, "infeasible", str(err), params)
        ml = _finish(session, ml, commit, event_id, input_hash)
        err.match_list_id, err.version = ml.id, ml.version
        raise
    params["seconds"] = round(time.perf_counter() - started, 4)
    params["objective"] = {kind: r.objective for kind, r in results.items()}

    items: list[MatchItem] = []
    per_demand: dict[int, list[MatchItem]] = {}
    must_sets = {kind: set(scope.must[kind]) for kind in scope.must}
    interested = set(scope.interested)
    for kind, result in results.items():
        pool = scope.experts if kind == "expert" else scope.societies
        raw = scored[kind].raw
        reasons_fn = scored[kind].reasons
        for i, j in result.pairs:
            reasons = [str(r) for r in reasons_fn(i, j) or []]
            if (i, j) in must_sets[kind]:
                reasons.insert(0, "活动规则：指定必须安排")
            bid = kind == "expert" and (i, j) in interested
            if bid:
                reasons.insert(0, f"专家表示有意向（规划加分 {options.interest_bonus:g}）")
            item = MatchItem(
                demand_id=scope.demands[i].id,
                expert_id=pool.records[j].id if kind == "expert" else None,
                society_id=pool.records[j].id if kind == "society" else None,
                score=round(float(raw[i, j]), 4) if np.isfinite(raw[i, j]) else 0.0,
                reasons=reasons,
                interest="interested" if bid else "",
            )
            per_demand.setdefault(i, []).append(item)
    for i in sorted(per_demand):
        ranked = sorted(
            per_demand[i],
            key=lambda it: (
                -it.score,
                it.society_id is not None,
                it.expert_id or it.society_id or 0,
            ),
        )
        for rank, item in enumerate(ranked, 1):
            item.rank = rank
            items.append(item)

    expert_result = results["expert"]
    matched = sorted(per_demand)
    unmatched = [scope.demands[i].id for i in range(len(scope.demands)) if i not in per_demand]
    params["unmatched_demand_ids"] = unmatched
    params["declined"] = [
        {"demand_id": scope.demands[i].id, "expert_id": scope.experts.records[j].id}
        for i, j in scope.declined
    ]
    if scope.calendar is not None:
        labels = {f"expert:{e.id}": f"专家 {e.name}" for e in scope.experts.records}
        labels.update({f"society:{s.id}": f"学会 {s.name}" for s in scope.societies.records})
        ents = {d.id: scope.enterprises[d.enterprise_id] for d in scope.demands}
        params["itinerary"] = itinerary.schedule(scope.calendar, items, ents, labels)
    params["expert_load"] = {
        str(scope.experts.records[j].id): int(n) for j, n in enumerate(expert_result.load) if n
    }
    message = (
        f"范围内需求 {len(scope.demands)} 条，候选专家 {len(scope.experts.records)} 位"
        + (f"、学会 {len(scope.societies.records)} 个" if scope.societies.records else "")
        + f"；安排对接 {len(items)} 次，覆盖需求 {len(matched)} 条，"
        f"{int((expert_result.load > 0).sum())} 位专家参与"
    )
    if unmatched:
        message += (
            f"；{len(unmatched)} 条需求没有达到最低匹配分 {options.min_score:g}（校准后）的候选，未安排"
        )
    message += itinerary.summary_text(params.get("itinerary") or {})
    ml = _store(session, event_id, version, input_hash, "planned", message, params, items)
    ml = _finish(session, ml, commit, event_id, input_hash)
    return PlanOutcome(ml, created=True)


def plan_event(
    session: Session,
    event_id: int,
    score_fn: ScoreFn | None = None,
    *,
    options: PlanOptions | None = None,
    commit: bool = True,
) -> MatchList:
    """Plan ``event_id`` and return its newest :class:`MatchList`.

    ``score_fn(session, demand_ids, kind, candidate_ids) -> (scores, reasons)``
    defaults to :meth:`kejie.match_service.MatchService.score_matrix`. Raises
    :class:`InfeasiblePlan` (after recording it as an ``infeasible`` version)
    when the constraints cannot all hold; the message says what to relax.
    """
    return plan_event_outcome(
        session, event_id, score_fn, options=options, commit=commit
    ).match_list


def default_score_fn(session: Session) -> ScoreFn:
    """The production scorer: the match service over the current database (see :mod:`kejie.wiring`)."""
    from kejie.wiring import planning_score_fn

    return planning_score_fn(session)[0]
