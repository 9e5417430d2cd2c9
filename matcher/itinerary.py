"""Itinerary: give every planned pair a day, a half-day slot and an order.

Plain data in, plain data out; the pairing itself (:mod:`matcher.planner`) is
taken as given, so its objective is kept exactly. The model (OR-Tools CP-SAT):

Variables
    ``x[v, d, s]`` — visit ``v`` happens on day ``d`` in slot ``s`` (only for
    days the visitor is available); ``y[c, d, city]`` and ``z[c, d, county]`` —
    visitor ``c`` is in that 设区市 / 区县 on day ``d``.
Hard constraints
    Each visit at most once; at most ``visitor_slot_limit`` visits of one
    visitor per slot; at most ``slot_limit[d]`` visits per slot over all
    visitors (cars, staff); a visit only on the visitor's available days.
Objective (minimised, weights in :class:`Weights`)
    unscheduled visits (dominant), then cities visited per visitor-day beyond
    the first (a same-day city change), then overnight city changes between
    consecutive days, then districts per visitor-day beyond the first, then
    days used per visitor (pack visits), then a tiny preference for early slots.

Within a day visits are ordered by slot, then by 区县 and enterprise. Whatever
cannot be placed is returned with the reason, in words staff can act on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from ortools.sat.python import cp_model


@dataclass(frozen=True)
class Visit:
    key: int  # caller's id (e.g. the index of a MatchItem)
    visitor: str  # e.g. "expert:12"
    city: str
    county: str = ""
    host: str = ""  # enterprise, for ordering within a slot
    visitor_label: str = ""


@dataclass(frozen=True)
class Day:
    label: str  # ISO date
    slots: Sequence[str] = ("上午", "下午")
    slot_limit: int | None = None  # visits per slot over all visitors


@dataclass(frozen=True)
class Weights:
    unscheduled: int = 100_000
    city_per_day: int = 1_000  # each extra 设区市 in one visitor-day
    overnight_change: int = 100  # 设区市 differs from the previous day's
    county_per_day: int = 30  # each extra 区县 in one visitor-day
    day_used: int = 10
    slot_position: int = 1


@dataclass
class ItineraryProblem:
    visits: Sequence[Visit]
    days: Sequence[Day]
    # visitor -> indices into ``days`` when available; absent = every day
    availability: dict[str, set[int]] = field(default_factory=dict)
    visitor_slot_limit: int = 1
    weights: Weights = field(default_factory=Weights)
    time_limit: float = 20.0


@dataclass(frozen=True)
class Placement:
    day: int
    slot: int
    order: int  # the visitor's visit number over the whole event, 1-based


@dataclass
class ItineraryResult:
    placed: dict[int, Placement]  # visit key -> placement
    unscheduled: dict[int, str]  # visit key -> reason
    status: str  # OPTIMAL | FEASIBLE | EMPTY
    city_changes: int
    seconds: float


def _slots(day: Day) -> list[str]:
    return list(day.slots) or ["全天"]


def city_changes(visits: Sequence[Visit], placed: dict[int, Placement]) -> dict[str, int]:
    """Per visitor: how often the 设区市 changes from one visit to the next, in visit order."""
    seq: dict[str, list[tuple[int, int, int, str]]] = defaultdict(list)
    for v in visits:
        p = placed.get(v.key)
        if p is not None:
            seq[v.visitor].append((p.day, p.slot, p.order, v.city))
    out: dict[str, int] = {}
    for visitor, items in seq.items():
        items.sort()
        out[visitor] = sum(1 for a, b in zip(items, items[1:], strict=False) if a[3] != b[3])
    return out


def _order(visits: Sequence[Visit], placed: dict[int, tuple[int, int]]) -> dict[int, Placement]:
    by_visitor: dict[str, list[Visit]] = defaultdict(list)
    for v in visits:
        if v.key in placed:
            by_visitor[v.visitor].append(v)
    out: dict[int, Placement] = {}
    for items in by_visitor.values():
        items.sort(key=lambda v: (*placed[v.key], v.city, v.county, v.host, v.key))
        for n, v in enumerate(items, 1):
            d, s = placed[v.key]
            out[v.key] = Placement(d, s, n)
    return out


def naive_schedule(problem: ItineraryProblem) -> dict[int, Placement]:
    """The baseline: each visitor's visits in the given order into the first free slots, date by date."""
    used: dict[tuple[int, int], int] = defaultdict(int)
    mine: dict[tuple[str, int, int], int] = defaultdict(int)
    placed: dict[int, tuple[int, int]] = {}
    for v in problem.visits:
        ok = problem.availability.get(v.visitor)
        for d, day in enumerate(problem.days):
            if ok is not None and d not in ok:
                continue
            done = False
            for s in range(len(_slots(day))):
                if mine[(v.visitor, d, s)] >= problem.visitor_slot_limit:
                    continue
                if day.slot_limit is not None and used[(d, s)] >= day.slot_limit:
                    continue
                mine[(v.visitor, d, s)] += 1
                used[(d, s)] += 1
                placed[v.key] = (d, s)
                done = True
                break
            if done:
                break
    return _order(problem.visits, placed)


def _why(
    problem: ItineraryProblem, visit: Visit, placed_count: dict[str, int], slot_use: dict[tuple[int, int], int]
) -> str:
    who = visit.visitor_label or visit.visitor
    ok = problem.availability.get(visit.visitor)
    days = range(len(problem.days)) if ok is None else sorted(d for d in ok if d < len(problem.days))
    if not days:
        return f"{who} 在活动日期内没有可参加的日期：补充其可参加日期，或改派他人"
    room = sum(len(_slots(problem.days[d])) for d in days) * problem.visitor_slot_limit
    if placed_count[visit.visitor] >= room:
        return (
            f"{who} 只有 {room} 个可用时段（每时段最多 {problem.visitor_slot_limit} 场），"
            "对接安排超出：增加其可参加日期或每时段场次，或减少其对接数"
        )
    full = [
        f"{problem.days[d].label}{_slots(problem.days[d])[s]}"
        for d in days
        for s in range(len(_slots(problem.days[d])))
        if problem.days[d].slot_limit is not None and slot_use[(d, s)] >= problem.days[d].slot_limit  # type: ignore[operator]
    ]
    if full:
        return f"{who} 可参加的时段（{'、'.join(full[:6])}）名额已满：提高每时段场次上限"
    return f"{who} 的对接在求解时限内未能排入：延长求解时间"


def solve_itinerary(problem: ItineraryProblem) -> ItineraryResult:
    """Place the visits; see the module docstring for the model."""
    visits = list(problem.visits)
    keys = [v.key for v in visits]
    if len(set(keys)) != len(keys):
        raise ValueError("visit keys must be unique")
    if problem.visitor_slot_limit < 1:
        raise ValueError("visitor_slot_limit must be at least 1")
    if not visits or not problem.days:
        why = "活动没有日期：设置活动的开始和结束日期或活动日" if visits else ""
        return ItineraryResult({}, {v.key: why for v in visits}, "EMPTY", 0, 0.0)
    w = problem.weights
    m = cp_model.CpModel()
    slots = [_slots(day) for day in problem.days]
    x: dict[tuple[int, int, int], cp_model.IntVar] = {}
    by_visitor: dict[str, list[int]] = defaultdict(list)
    for n, v in enumerate(visits):
        by_visitor[v.visitor].append(n)
        ok = problem.availability.get(v.visitor)
        for d in range(len(problem.days)):
            if ok is not None and d not in ok:
                continue
            for s in range(len(slots[d])):
                x[(n, d, s)] = m.new_bool_var(f"x{n}_{d}_{s}")
    per_visit: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    per_slot: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    mine: dict[tuple[str, int, int], list[cp_model.IntVar]] = defaultdict(list)
    for (n, d, s), var in x.items():
        per_visit[n].append(var)
        per_slot[(d, s)].append(var)
        mine[(visits[n].visitor, d, s)].append(var)
    scheduled = []
    for n in range(len(visits)):
        if per_visit[n]:
            m.add(sum(per_visit[n]) <= 1)
            scheduled.append(sum(per_visit[n]))
    for group in mine.values():
        m.add(sum(group) <= problem.visitor_slot_limit)
    for (d, _), group in per_slot.items():
        if problem.days[d].slot_limit is not None:
            m.add(sum(group) <= int(problem.days[d].slot_limit))  # type: ignore[arg-type]

    cost: list[cp_model.LinearExprT] = [w.unscheduled * (len(visits) - sum(scheduled))]
    for members in by_visitor.values():
        cities = sorted({visits[n].city for n in members})
        for d in range(len(problem.days)):
            on_day = [(n, s) for n in members for s in range(len(slots[d])) if (n, d, s) in x]
            if not on_day:
                continue
            active = m.new_bool_var("")
            in_city: dict[str, cp_model.IntVar] = {}
            for city in cities:
                vs = [x[(n, d, s)] for n, s in on_day if visits[n].city == city]
                if not vs:
                    continue
                y = m.new_bool_var("")
                for var in vs:
                    m.add_implication(var, y)
                    m.add_implication(var, active)
                m.add(y <= sum(vs))
                in_city[city] = y
            counties: dict[tuple[str, str], list[cp_model.IntVar]] = defaultdict(list)
            for n, s in on_day:
                counties[(visits[n].city, visits[n].county)].append(x[(n, d, s)])
            zs = []
            for vs in counties.values():
                z = m.new_bool_var("")
                for var in vs:
                    m.add_implication(var, z)
                zs.append(z)
            m.add(active <= sum(in_city.values()))
            cost.append(w.city_per_day * (sum(in_city.values()) - active))
            cost.append(w.county_per_day * (sum(zs) - active))
            cost.append(w.day_used * active)
            cost.extend(w.slot_position * s * x[(n, d, s)] for n, s in on_day if s)
            if d + 1 < len(problem.days):
                nxt = [(n, s) for n in members for s in range(len(slots[d + 1])) if (n, d + 1, s) in x]
                for city, y in in_city.items():
                    other = [x[(n, d + 1, s)] for n, s in nxt if visits[n].city != city]
                    if other:
                        # in ``city`` today and somewhere else tomorrow: one overnight change
                        ch = m.new_bool_var("")
                        for var in other:
                            m.add(ch >= y + var - 1)
                        cost.append(w.overnight_change * ch)
    m.minimize(sum(cost))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = problem.time_limit
    solver.parameters.num_workers = 8
    solver.parameters.random_seed = 0
    status = solver.solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise RuntimeError(f"CP-SAT: {solver.status_name(status)}")
    raw: dict[int, tuple[int, int]] = {}
    for (n, d, s), var in x.items():
        if solver.value(var):
            raw[visits[n].key] = (d, s)
    placed = _order(visits, raw)
    count: dict[str, int] = defaultdict(int)
    slot_use: dict[tuple[int, int], int] = defaultdict(int)
    for v in visits:
        if v.key in raw:
            count[v.visitor] += 1
            slot_use[raw[v.key]] += 1
    unscheduled = {v.key: _why(problem, v, count, slot_use) for v in visits if v.key not in raw}
    return ItineraryResult(
        placed,
        unscheduled,
        solver.status_name(status),
        sum(city_changes(visits, placed).values()),
        round(solver.wall_time, 4),
    )
