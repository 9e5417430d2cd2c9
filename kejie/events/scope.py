"""The scope of an event plan, read from the database.

Demands
    Those whose enterprise is in one of ``Event.regions`` (all regions when
    empty; compared by :func:`kejie.rules.city_key`), whose industry (the
    demand's, else the enterprise's) is in ``Event.demand_industries`` (any when
    empty) and whose status is in ``Event.demand_statuses`` (any when empty).
Candidates
    Invited experts, or every expert when ``invite_all``; unavailable experts
    are left out. Societies too when ``include_societies`` (invited ones, or
    all when ``invite_all``). Capacity: the invitation's override, else the
    event's default, else the record's own.
Exclusions
    ``Conflict`` rows; an expert whose affiliation and the enterprise name
    contain one another after normalisation (subsidiaries, branches, group
    parents: the one rule of :mod:`matcher.rules`); never-rules; a demand the
    expert declined (``ExpertFeedback.choice == "declined"``) is a never-pair.
    Must-rules are forced.
Pools
    ``Event.academicians_only`` keeps academicians only; ``candidate_regions``
    keeps experts and societies from those 设区市 (any when empty). Invited
    candidates are always kept: staff chose them by name.
Interest
    A demand the expert marked ``interested`` gets ``PlanOptions.interest_bonus``
    added to the pair's quality in the objective (see :func:`interest_bonus`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from kejie.events.itinerary import EventCalendar, calendar
from matcher.planner import (
    DEFAULT_LOAD_PENALTY,
    DEFAULT_MIN_SCORE,
    Pair,
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
    ExpertFeedback,
    Society,
)

CandidateKind = Literal["expert", "society"]
ReasonsFn = Callable[[int, int], list[str]]
ScoreFn = Callable[[Session, list[int], CandidateKind, list[int]], tuple[np.ndarray, ReasonsFn]]

PLAN_FORMAT = 2  # bump when the planning logic changes in a way that must re-plan
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
    # added to an "interested" pair's quality; at most MAX_INTEREST_BONUS
    interest_bonus: float = 0.1

    def __post_init__(self) -> None:
        if not 0 <= self.interest_bonus <= MAX_INTEREST_BONUS:
            raise ValueError(f"interest_bonus must be within [0, {MAX_INTEREST_BONUS}]")


MAX_INTEREST_BONUS = 0.2


def interest_bonus(quality: np.ndarray, interested: list[Pair], options: PlanOptions) -> np.ndarray:
    """The quality the planner optimises, with an interested expert's bid added.

    The bonus (``options.interest_bonus``, 0.1 by default and never above
    ``MAX_INTEREST_BONUS``, on the calibrated scale where 1 is a top-0.5% match)
    goes only to pairs that already pass ``min_score``: interest decides between
    fitting experts, it never brings in one who does not fit.
    """
    out = np.array(quality, dtype=np.float64, copy=True)
    for i, j in interested:
        if np.isfinite(out[i, j]) and out[i, j] >= options.min_score:
            out[i, j] += options.interest_bonus
    return out





@dataclass
class Pool:
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
class Scope:
    event: Event
    demands: list[Demand]
    enterprises: dict[int, Enterprise]
    experts: Pool
    societies: Pool
    unavailable_expert_ids: list[int]
    forbidden: dict[Pair, str]  # (demand idx, expert idx) -> reason
    must: dict[CandidateKind, list[Pair]]
    never: dict[CandidateKind, list[Pair]]
    rule_problems: list[str]
    rules: list[tuple[str, int, str, int]]
    calendar: EventCalendar | None = None
    interested: list[Pair] = field(default_factory=list)
    declined: list[Pair] = field(default_factory=list)

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


def collect(session: Session, event: Event) -> Scope:
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
    pool_regions = {_city_key(r) for r in event.candidate_regions or [] if r}
    if event.academicians_only:
        experts = [e for e in experts if e.is_academician or e.id in expert_inv and not event.invite_all]
    if pool_regions:
        experts = [
            e for e in experts if _city_key(e.city) in pool_regions or e.id in expert_inv and not event.invite_all
        ]
    expert_pool = Pool(
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
        if pool_regions and event.invite_all:
            societies = [s for s in societies if _city_key(s.city) in pool_regions]
    society_pool = Pool(
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
    interested: list[Pair] = []
    declined: list[Pair] = []
    if demands and experts:
        for fb in session.scalars(
            select(ExpertFeedback).where(
                ExpertFeedback.expert_id.in_(expert_pool.ids),
                ExpertFeedback.demand_id.in_([d.id for d in demands]),
            )
        ):
            pair = (d_index[fb.demand_id], expert_pool.index[fb.expert_id])
            if fb.choice == "interested":
                interested.append(pair)
            elif fb.choice == "declined":
                declined.append(pair)
                never["expert"].append(pair)
    return Scope(
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
        calendar=calendar(session, event),
        interested=sorted(interested),
        declined=sorted(declined),
    )

