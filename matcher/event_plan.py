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

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matcher.errors import (
    EventNotFound,
    InfeasibleDetail,
    InfeasiblePlan,
    PlanningError,
    ScorerError,
)
from matcher.planner import (
    DEFAULT_LOAD_PENALTY,
    DEFAULT_MIN_SCORE,
    SCALE,
    Pair,
    PlanProblem,
    PlanResult,
    solve,
)
from matcher.rules import affiliation_conflict as affiliation_conflict
from matcher.rules import affiliation_parts, contains_either
from matcher.rules import city_key as _city_key
from matcher.rules import normalise_org as normalise_org
from models import (
    Conflict,
    Demand,
    Enterprise,
    Event,
    EventInvitee,
    EventPairRule,
    Expert,
    MatchItem,
    MatchList,
    Society,
)

CandidateKind = Literal["expert", "society"]
ReasonsFn = Callable[[int, int], list[str]]
ScoreFn = Callable[[Session, list[int], CandidateKind, list[int]], tuple[np.ndarray, ReasonsFn]]

PLAN_FORMAT = 1  # bump when the planning logic changes in a way that must re-plan
_KIND_LABEL = {"expert": "专家", "society": "学会"}


@dataclass(frozen=True)
class PlanOptions:
    """Planner settings. ``min_score`` and ``load_penalty`` are on the
    calibrated quality scale (see :class:`Calibration`) when the database holds
    enough candidates to calibrate, else on the scorer's own scale."""

    min_score: float = DEFAULT_MIN_SCORE
    load_penalty: float = DEFAULT_LOAD_PENALTY
    society_max_per_demand: int = 1
    calibrate: bool = True


@dataclass
class PlanOutcome:
    match_list: MatchList
    created: bool  # False when an identical earlier version was returned


# ----------------------------------------------------------------------------
# conflicts of interest by affiliation

# one rule for the page, the recommendations and the plan: matcher.rules


# ----------------------------------------------------------------------------
# scope


@dataclass
class _Pool:
    kind: CandidateKind
    records: list[Any]
    capacity: list[int]
    index: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {r.id: n for n, r in enumerate(self.records)}

    @property
    def ids(self) -> list[int]:
        return [r.id for r in self.records]

    def label(self, n: int) -> str:
        r = self.records[n]
        return f"{_KIND_LABEL[self.kind]}#{r.id} {r.name}"


@dataclass
class _Scope:
    event: Event
    demands: list[Demand]
    enterprises: dict[int, Enterprise]
    experts: _Pool
    societies: _Pool
    unavailable_expert_ids: list[int]
    forbidden: dict[Pair, str]  # (demand idx, expert idx) -> reason
    must: dict[CandidateKind, list[Pair]]
    never: dict[CandidateKind, list[Pair]]
    rule_problems: list[str]
    rules: list[tuple[str, int, str, int]]

    def demand_label(self, i: int) -> str:
        d = self.demands[i]
        title = d.title if len(d.title) <= 18 else d.title[:17] + "…"
        return f"需求#{d.id}「{title}」（{self.enterprises[d.enterprise_id].name}）"


def _capacity(invite: EventInvitee | None, event: Event, own: int) -> int:
    if invite is not None and invite.capacity is not None:
        return int(invite.capacity)
    if event.default_capacity is not None:
        return int(event.default_capacity)
    return int(own)


def _collect(session: Session, event: Event) -> _Scope:
    rows = session.execute(
        select(Demand, Enterprise)
        .join(Enterprise, Demand.enterprise_id == Enterprise.id)
        .order_by(Demand.id)
    ).all()
    regions = {_city_key(r) for r in event.regions or [] if r}
    industries = {s for s in event.demand_industries or [] if s}
    statuses = {str(s) for s in event.demand_statuses or [] if s}
    demands: list[Demand] = []
    enterprises: dict[int, Enterprise] = {}
    for demand, ent in rows:
        if regions and _city_key(ent.city) not in regions:
            continue
        if industries and (demand.industry or ent.industry) not in industries:
            continue
        if statuses and str(demand.status) not in statuses:
            continue
        demands.append(demand)
        enterprises[ent.id] = ent

    invitees = session.scalars(select(EventInvitee).where(EventInvitee.event_id == event.id)).all()
    expert_inv = {i.expert_id: i for i in invitees if i.expert_id is not None}
    society_inv = {i.society_id: i for i in invitees if i.society_id is not None}
    if event.invite_all:
        experts = list(session.scalars(select(Expert).order_by(Expert.id)))
    else:
        ids = sorted(expert_inv)
        experts = (
            list(session.scalars(select(Expert).where(Expert.id.in_(ids)).order_by(Expert.id)))
            if ids
            else []
        )
    unavailable = [e.id for e in experts if not e.available]
    experts = [e for e in experts if e.available]
    expert_pool = _Pool(
        "expert", experts, [_capacity(expert_inv.get(e.id), event, e.capacity) for e in experts]
    )

    societies: list[Society] = []
    if event.include_societies:
        if event.invite_all:
            societies = list(session.scalars(select(Society).order_by(Society.id)))
        elif society_inv:
            ids = sorted(society_inv)
            societies = list(
                session.scalars(select(Society).where(Society.id.in_(ids)).order_by(Society.id))
            )
    society_pool = _Pool(
        "society",
        societies,
        [_capacity(society_inv.get(s.id), event, s.capacity) for s in societies],
    )

    d_index = {d.id: n for n, d in enumerate(demands)}
    forbidden: dict[Pair, str] = {}
    if demands and experts:
        ent_ids = sorted(enterprises)
        conflicts = session.scalars(
            select(Conflict).where(
                Conflict.expert_id.in_(expert_pool.ids), Conflict.enterprise_id.in_(ent_ids)
            )
        ).all()
        by_ent: dict[int, list[int]] = {}
        for n, d in enumerate(demands):
            by_ent.setdefault(d.enterprise_id, []).append(n)
        for c in conflicts:
            j = expert_pool.index[c.expert_id]
            for i in by_ent.get(c.enterprise_id, []):
                forbidden[(i, j)] = f"登记的利益冲突：{c.reason}" if c.reason else "登记的利益冲突"
        expert_parts = [affiliation_parts(e.affiliation) for e in experts]
        for ent_id, demand_idx in by_ent.items():
            ent_name = enterprises[ent_id].name
            ent_norm = normalise_org(ent_name)
            for j, e in enumerate(experts):
                if expert_parts[j] and contains_either(expert_parts[j], ent_norm):
                    for i in demand_idx:
                        forbidden.setdefault(
                            (i, j), f"专家单位“{e.affiliation}”与企业“{ent_name}”存在隶属关系"
                        )

    must: dict[CandidateKind, list[Pair]] = {"expert": [], "society": []}
    never: dict[CandidateKind, list[Pair]] = {"expert": [], "society": []}
    problems: list[str] = []
    rules: list[tuple[str, int, str, int]] = []
    pools = {"expert": expert_pool, "society": society_pool}
    for rule in session.scalars(
        select(EventPairRule).where(EventPairRule.event_id == event.id).order_by(EventPairRule.id)
    ):
        kind: CandidateKind = "expert" if rule.expert_id is not None else "society"
        cand_id = rule.expert_id if rule.expert_id is not None else rule.society_id
        if rule.rule not in ("must", "never") or cand_id is None:
            problems.append(
                f"配对规则 #{rule.id} 无效（类型“{rule.rule}”，须为 must 或 never，且须指定专家或学会）：修正或删除该规则"
            )
            continue
        rules.append((rule.rule, rule.demand_id, kind, cand_id))
        i = d_index.get(rule.demand_id)
        j = pools[kind].index.get(cand_id)
        if i is not None and j is not None:
            (must if rule.rule == "must" else never)[kind].append((i, j))
            continue
        if rule.rule == "never":
            continue  # nothing to exclude
        who = f"{_KIND_LABEL[kind]}#{cand_id}"
        if i is None:
            problems.append(
                f"必配规则 #{rule.id}：需求#{rule.demand_id} 不在本活动范围内（地区/行业/状态筛选）：删除该规则或调整活动范围"
            )
        if j is None:
            hint = "设为可用" if rule.expert_id in unavailable else "邀请其参加本活动"
            problems.append(
                f"必配规则 #{rule.id}：{who} 不在本活动候选名单中：{hint}，或删除该规则"
            )
    return _Scope(
        event=event,
        demands=demands,
        enterprises=enterprises,
        experts=expert_pool,
        societies=society_pool,
        unavailable_expert_ids=unavailable,
        forbidden=forbidden,
        must=must,
        never=never,
        rule_problems=problems,
        rules=sorted(rules),
    )


# ----------------------------------------------------------------------------
# scoring and hashing


REFERENCE_MIN = 20  # fewer candidates of a kind in the database: no calibration
REFERENCE_MAX = 2000  # reference columns sampled evenly by id beyond this
REFERENCE_TOP = 0.995


@dataclass(frozen=True)
class Calibration:
    """Maps raw scores to the planner's quality scale.

    ``quality = (raw - background) / (top - background)``: 0 is the typical
    score of an unrelated pair (the median over the event's demands against the
    whole pool of that kind in the database), 1 the 99.5th percentile. Dense
    encoders give every pair a high cosine (e5: ~0.87-0.94), so an absolute
    threshold or penalty would mean nothing; on this scale ``min_score`` and
    ``load_penalty`` do.
    """

    background: float
    top: float
    reference_size: int

    def quality(self, raw: np.ndarray) -> np.ndarray:
        return (raw - self.background) / (self.top - self.background)


@dataclass
class _Scored:
    raw: np.ndarray  # what the scorer said, for the event's candidates
    quality: np.ndarray  # what the planner optimises
    reasons: ReasonsFn
    calibration: Calibration | None


def _reference_ids(session: Session, kind: CandidateKind) -> list[int]:
    model = Expert if kind == "expert" else Society
    ids = list(session.scalars(select(model.id).order_by(model.id)))
    if len(ids) > REFERENCE_MAX:
        step = len(ids) / REFERENCE_MAX
        ids = [ids[int(k * step)] for k in range(REFERENCE_MAX)]
    return ids


def _score(
    session: Session,
    score_fn: ScoreFn,
    demand_ids: list[int],
    kind: CandidateKind,
    cand_ids: list[int],
    calibrate: bool,
) -> _Scored:
    if not demand_ids or not cand_ids:
        empty = np.zeros((len(demand_ids), len(cand_ids)))
        return _Scored(empty, empty, lambda i, j: [], None)
    ref_ids = _reference_ids(session, kind) if calibrate else []
    if len(ref_ids) < REFERENCE_MIN:
        ref_ids = []
    cols = sorted(set(cand_ids) | set(ref_ids)) if ref_ids else list(cand_ids)
    scores, reasons = score_fn(session, demand_ids, kind, cols)
    arr = np.asarray(scores, dtype=np.float64)
    if arr.shape != (len(demand_ids), len(cols)):
        raise ScorerError(
            f"评分函数返回的矩阵形状为 {arr.shape}，应为 ({len(demand_ids)}, {len(cols)})（{kind}）"
        )
    pos = {c: n for n, c in enumerate(cols)}
    take = np.array([pos[c] for c in cand_ids], dtype=np.int64)
    raw = arr[:, take]
    calibration = None
    if ref_ids:
        ref = arr[:, [pos[c] for c in ref_ids]]
        finite = ref[np.isfinite(ref)]
        if finite.size:
            # rounded so that scorer noise in the last digits does not re-plan
            background = round(float(np.median(finite)), 3)
            top = round(float(np.quantile(finite, REFERENCE_TOP)), 3)
            if top - background >= 1e-3:
                calibration = Calibration(background, top, len(ref_ids))
    quality = calibration.quality(raw) if calibration is not None else raw

    def mapped_reasons(i: int, j: int) -> list[str]:
        return reasons(i, int(take[j]))

    return _Scored(raw, quality, mapped_reasons, calibration)


def _rounded(scores: np.ndarray) -> list[list[int | None]]:
    return [[int(round(v * SCALE)) if np.isfinite(v) else None for v in row] for row in scores]


def _input_hash(scope: _Scope, scored: dict[CandidateKind, _Scored], options: PlanOptions) -> str:
    ev = scope.event
    ents = scope.enterprises
    payload = {
        "format": PLAN_FORMAT,
        "options": asdict(options),
        "event": {
            "regions": sorted(_city_key(r) for r in ev.regions or []),
            "industries": sorted(ev.demand_industries or []),
            "statuses": sorted(str(s) for s in ev.demand_statuses or []),
            "invite_all": bool(ev.invite_all),
            "include_societies": bool(ev.include_societies),
            "min": ev.min_experts_per_demand,
            "max": ev.max_experts_per_demand,
            "default_capacity": ev.default_capacity,
        },
        "demands": [
            [
                d.id,
                d.enterprise_id,
                ents[d.enterprise_id].name,
                ents[d.enterprise_id].city,
                ents[d.enterprise_id].industry,
                d.title,
                d.description,
                d.industry,
                list(d.keywords or []),
                str(d.status),
            ]
            for d in scope.demands
        ],
        "experts": [
            [
                e.id,
                cap,
                e.name,
                e.title,
                e.affiliation,
                bool(e.is_academician),
                list(e.disciplines or []),
                list(e.research_areas or []),
                list(e.achievements or []),
                list(e.keywords or []),
                e.city,
            ]
            for e, cap in zip(scope.experts.records, scope.experts.capacity, strict=True)
        ],
        "societies": [
            [
                s.id,
                cap,
                s.name,
                list(s.disciplines or []),
                s.description,
                list(s.keywords or []),
                list(s.representative_works or []),
            ]
            for s, cap in zip(scope.societies.records, scope.societies.capacity, strict=True)
        ],
        "forbidden": sorted(
            [scope.demands[i].id, scope.experts.records[j].id, why]
            for (i, j), why in scope.forbidden.items()
        ),
        "rules": [list(r) for r in scope.rules],
        "rule_problems": scope.rule_problems,
        "scores": {kind: _rounded(sc.raw) for kind, sc in scored.items()},
        "calibration": {
            kind: asdict(sc.calibration) if sc.calibration is not None else None
            for kind, sc in scored.items()
        },
    }
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


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
    scope: _Scope, scored: dict[CandidateKind, _Scored], options: PlanOptions
) -> dict[CandidateKind, PlanProblem]:
    ev = scope.event
    dlabels = [scope.demand_label(i) for i in range(len(scope.demands))]
    out: dict[CandidateKind, PlanProblem] = {
        "expert": PlanProblem(
            scores=scored["expert"].quality,
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
    scope = _collect(session, event)
    if score_fn is None:
        score_fn = default_score_fn(session)
    demand_ids = [d.id for d in scope.demands]
    scored: dict[CandidateKind, _Scored] = {
        kind: _score(session, score_fn, demand_ids, kind, pool.ids, options.calibrate)
        for kind, pool in (("expert", scope.experts), ("society", scope.societies))
    }
    input_hash = _input_hash(scope, scored, options)

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
    for kind, result in results.items():
        pool = scope.experts if kind == "expert" else scope.societies
        raw = scored[kind].raw
        reasons_fn = scored[kind].reasons
        for i, j in result.pairs:
            reasons = [str(r) for r in reasons_fn(i, j) or []]
            if (i, j) in must_sets[kind]:
                reasons.insert(0, "活动规则：指定必须安排")
            item = MatchItem(
                demand_id=scope.demands[i].id,
                expert_id=pool.records[j].id if kind == "expert" else None,
                society_id=pool.records[j].id if kind == "society" else None,
                score=round(float(raw[i, j]), 4) if np.isfinite(raw[i, j]) else 0.0,
                reasons=reasons,
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
    defaults to :meth:`matcher.service.MatchService.score_matrix`. Raises
    :class:`InfeasiblePlan` (after recording it as an ``infeasible`` version)
    when the constraints cannot all hold; the message says what to relax.
    """
    return plan_event_outcome(
        session, event_id, score_fn, options=options, commit=commit
    ).match_list


def default_score_fn(session: Session) -> ScoreFn:
    """The production scorer: the matching service over the current database."""
    from kejie.settings import get_settings
    from matcher.service import MatchService

    service = MatchService(get_settings())
    sync = getattr(service, "sync", None)
    if callable(sync):
        sync(session)
    return service.score_matrix  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------
# nightly


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
