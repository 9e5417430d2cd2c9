"""Optimal assignment of demands to experts (or societies) for an event.

Pure optimisation: numbers in, pairs out; the database side lives in
:mod:`kejie.events`.

The problem
-----------
``S[i, j]`` is the match score of demand ``i`` with candidate ``j``. A pair is
*eligible* when ``S[i, j] >= min_score``, it is not a never-pair and not a
conflict of interest. Candidate ``j`` can take at most ``capacity[j]`` meetings;
demand ``i`` gets between ``demand_min[i]`` and ``demand_max[i]`` candidates.
Must-pairs are always in the plan (even below ``min_score``: staff chose them)
and count against capacity and the demand's maximum.

The objective (maximised), in integer points so that every method sees the
very same numbers::

    w[i, j]  = round(S[i, j] * SCALE)
    p        = round(load_penalty * SCALE)
    value(A) = sum_{(i, j) in A} w[i, j]  -  sum_j p * L_j * (L_j - 1) / 2

where ``L_j`` is the number of meetings candidate ``j`` gets in plan ``A``.
Equivalently the k-th meeting of a candidate is worth its score minus
``p * (k - 1)``: utility is concave in load. A strong expert keeps a pairing
over a weaker alternative only while the score gap beats the growing penalty,
so meetings spread over the pool instead of piling onto a few people, and an
idle expert with a nearly-as-good score wins the third meeting of a busy one.
With ``p > 0`` a meeting whose marginal value would be negative is not made
unless a demand minimum needs it. The threshold keeps junk pairs out
altogether.

Methods
-------
``solve(problem)`` is a min-cost flow (OR-Tools ``SimpleMinCostFlow``):
source -> demand (a "required" arc of ``demand_min`` units at cost ``-M`` and an
optional arc up to ``demand_max``), demand -> candidate (1 unit, cost
``-w[i, j]``), candidate -> sink (one parallel unit arc per meeting slot with
cost ``p * (k - 1)``: convex cost, so slots fill in order), plus a zero-cost
source -> sink bypass so that the amount of flow is free. ``M`` exceeds any
possible gain elsewhere, so the optimum first satisfies as many minimum units
as possible (all of them when feasible) and then maximises ``value``. Network
flow LPs have integral optima, so this is the exact integer optimum.

``solve_milp(problem)`` is an independent formulation of the same objective as
a mixed-integer program (SciPy/HiGHS, lower bounds as constraints, must-pairs
as fixed variables); the tests and the benchmark use it to certify optimality.

``greedy_baseline(problem)`` takes pairs best-score-first; it is only a yard
stick for the benchmark.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from matcher.errors import InfeasibleDetail, InfeasiblePlan

SCALE = 10_000
DEFAULT_MIN_SCORE = 0.35
DEFAULT_LOAD_PENALTY = 0.05
_MAX_LISTED = 8

Pair = tuple[int, int]


@dataclass
class PlanProblem:
    scores: np.ndarray  # (n_demands, n_candidates)
    capacity: Sequence[int] | np.ndarray
    demand_min: int | Sequence[int] | np.ndarray = 0
    demand_max: int | Sequence[int] | np.ndarray = 2
    must_pairs: Iterable[Pair] = ()
    never_pairs: Iterable[Pair] = ()
    # conflicts of interest: pair -> reason (a plain iterable of pairs works too)
    forbidden: Mapping[Pair, str] | Iterable[Pair] = ()
    min_score: float = DEFAULT_MIN_SCORE
    load_penalty: float = DEFAULT_LOAD_PENALTY
    demand_labels: Sequence[str] | None = None
    candidate_labels: Sequence[str] | None = None


@dataclass
class PlanResult:
    pairs: list[Pair]  # sorted (demand, candidate)
    objective: int  # value(A) in points (see module docstring)
    total_score: float  # plain sum of S over the pairs
    load: np.ndarray  # meetings per candidate
    demand_count: np.ndarray  # candidates per demand
    method: str
    seconds: float
    unmet_minimum: list[int] = field(default_factory=list)  # only the greedy baseline leaves any

    @property
    def objective_value(self) -> float:
        return self.objective / SCALE


@dataclass
class _Prepared:
    scores: np.ndarray
    points: np.ndarray  # int64 w[i, j]
    capacity: np.ndarray
    dmin: np.ndarray
    dmax: np.ndarray
    must: list[Pair]
    never: set[Pair]
    forbidden: dict[Pair, str]
    eligible: np.ndarray  # bool, threshold & not never & not forbidden (musts not included)
    penalty: int
    min_score: float
    dlabels: list[str]
    clabels: list[str]

    @property
    def shape(self) -> tuple[int, int]:
        return self.scores.shape  # type: ignore[return-value]


def _per_demand(value: int | Sequence[int] | np.ndarray, n: int, name: str) -> np.ndarray:
    arr = (
        np.full(n, value, dtype=np.int64)
        if np.isscalar(value)
        else np.asarray(value, dtype=np.int64)
    )
    if arr.shape != (n,):
        raise ValueError(
            f"{name} must be a scalar or have one entry per demand ({n}), got shape {arr.shape}"
        )
    if (arr < 0).any():
        raise ValueError(f"{name} must not be negative")
    return arr


def _check_pairs(pairs: Iterable[Pair], shape: tuple[int, int], name: str) -> list[Pair]:
    out: list[Pair] = []
    for i, j in pairs:
        if not (0 <= i < shape[0] and 0 <= j < shape[1]):
            raise ValueError(
                f"{name} pair ({i}, {j}) is outside the {shape[0]}x{shape[1]} score matrix"
            )
        out.append((int(i), int(j)))
    return out


def _prepare(problem: PlanProblem) -> _Prepared:
    scores = np.asarray(problem.scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"scores must be a 2-d matrix, got shape {scores.shape}")
    n_d, n_c = scores.shape
    capacity = np.asarray(problem.capacity, dtype=np.int64).reshape(-1)
    if capacity.shape != (n_c,):
        raise ValueError(f"capacity needs one entry per candidate ({n_c}), got {capacity.shape[0]}")
    if (capacity < 0).any():
        raise ValueError("capacity must not be negative")
    if problem.load_penalty < 0:
        raise ValueError("load_penalty must not be negative")
    dmin = _per_demand(problem.demand_min, n_d, "demand_min")
    dmax = _per_demand(problem.demand_max, n_d, "demand_max")
    must = sorted(set(_check_pairs(problem.must_pairs, (n_d, n_c), "must")))
    never = set(_check_pairs(problem.never_pairs, (n_d, n_c), "never"))
    if isinstance(problem.forbidden, Mapping):
        raw = {(int(i), int(j)): str(r) for (i, j), r in problem.forbidden.items()}
    else:
        raw = {(int(i), int(j)): "" for i, j in problem.forbidden}
    _check_pairs(raw, (n_d, n_c), "forbidden")
    finite = np.isfinite(scores)
    points = np.zeros((n_d, n_c), dtype=np.int64)
    points[finite] = np.rint(scores[finite] * SCALE).astype(np.int64)
    eligible = finite & (scores >= problem.min_score)
    for i, j in never | raw.keys():
        eligible[i, j] = False
    for i, j in must:
        eligible[i, j] = False  # musts are placed outside the optimisation
        if not finite[i, j]:
            points[i, j] = 0
    dl = (
        list(problem.demand_labels)
        if problem.demand_labels is not None
        else [f"需求[{i}]" for i in range(n_d)]
    )
    cl = (
        list(problem.candidate_labels)
        if problem.candidate_labels is not None
        else [f"候选[{j}]" for j in range(n_c)]
    )
    if len(dl) != n_d or len(cl) != n_c:
        raise ValueError("demand_labels / candidate_labels must match the score matrix")
    return _Prepared(
        scores=scores,
        points=points,
        capacity=capacity,
        dmin=dmin,
        dmax=dmax,
        must=must,
        never=never,
        forbidden=raw,
        eligible=eligible,
        penalty=int(round(problem.load_penalty * SCALE)),
        min_score=problem.min_score,
        dlabels=dl,
        clabels=cl,
    )


def _listing(labels: Sequence[str]) -> str:
    shown = "、".join(labels[:_MAX_LISTED])
    return shown + (f" 等 {len(labels)} 项" if len(labels) > _MAX_LISTED else "")


def _counts(p: _Prepared) -> tuple[np.ndarray, np.ndarray]:
    n_d, n_c = p.shape
    must_d = np.zeros(n_d, dtype=np.int64)
    must_c = np.zeros(n_c, dtype=np.int64)
    for i, j in p.must:
        must_d[i] += 1
        must_c[j] += 1
    return must_d, must_c


def _diagnose(p: _Prepared) -> InfeasibleDetail:
    """Constraint violations that can be seen without solving."""
    d = InfeasibleDetail()
    must_d, must_c = _counts(p)
    for i, j in p.must:
        pair = f"{p.dlabels[i]} 与 {p.clabels[j]}"
        if (i, j) in p.forbidden:
            why = p.forbidden[(i, j)]
            d.conflicting_must_pairs.append(pair)
            d.problems.append(
                f"必配规则 {pair} 存在利益冲突{f'（{why}）' if why else ''}：删除该必配规则，或核实后撤销冲突记录"
            )
        if (i, j) in p.never:
            d.conflicting_must_pairs.append(pair)
            d.problems.append(f"{pair} 同时被设为必配和禁配：删除其中一条规则")
    for j in np.flatnonzero(must_c > p.capacity):
        d.problems.append(
            f"{p.clabels[j]} 有 {must_c[j]} 条必配，但容量只有 {p.capacity[j]}："
            f"将其容量提高到至少 {must_c[j]}，或删去 {must_c[j] - p.capacity[j]} 条必配"
        )
    inverted = np.flatnonzero(p.dmin > p.dmax)
    if inverted.size:
        i = int(inverted[0])
        d.problems.append(
            f"{_listing([p.dlabels[k] for k in inverted])} 的最少人数大于最多人数"
            f"（如最少 {p.dmin[i]} 位、最多 {p.dmax[i]} 位）：调整每条需求的人数上下限"
        )
    for i in range(p.shape[0]):
        if p.dmin[i] <= p.dmax[i] and must_d[i] > p.dmax[i]:
            d.problems.append(
                f"{p.dlabels[i]} 有 {must_d[i]} 条必配，超过每条需求最多 {p.dmax[i]} 位：提高上限或删去必配"
            )
    if d.problems:
        return d
    remaining = p.capacity - must_c
    need = np.maximum(p.dmin - must_d, 0)
    usable = p.eligible & (remaining > 0)[None, :]
    options = usable.sum(axis=1)
    lacking = [int(i) for i in np.flatnonzero(options < need)]
    if lacking:
        d.demands_without_candidates = [p.dlabels[i] for i in lacking]
        parts = [
            f"{p.dlabels[i]}（至少需 {need[i]} 位，合格候选 {options[i]} 位）" for i in lacking
        ]
        d.problems.append(
            f"{len(lacking)} 条需求没有足够的合格候选（得分≥{p.min_score:g}、无利益冲突、未禁配、尚有容量）："
            f"{_listing(parts)}。请降低最低匹配分、邀请更多相关专家，或把这些需求的最少人数降为 0"
        )
    total_need = int(need.sum())
    total_cap = int(remaining.sum())
    d.capacity_needed, d.capacity_available = total_need, total_cap
    if total_need > total_cap:
        d.problems.append(
            f"容量缺口 {total_need - total_cap} 人次：各需求最少共需 {total_need} 人次，候选剩余总容量只有 {total_cap}。"
            f"请增加 {total_need - total_cap} 个名额（邀请更多专家或提高容量），或降低每条需求的最少人数"
        )
    return d


def _hall_diagnosis(p: _Prepared, need: np.ndarray, remaining: np.ndarray) -> InfeasibleDetail:
    """Find the group of demands whose minimums cannot be met together.

    A max flow over the minimum units only; the demands and candidates reachable
    from the source in its residual graph form the bottleneck (a min cut).
    """
    from ortools.graph.python import max_flow

    n_d, n_c = p.shape
    mf = max_flow.SimpleMaxFlow()
    src, snk = 0, 1
    pairs = [
        (int(i), int(j))
        for i, j in zip(*np.nonzero(p.eligible & (remaining > 0)[None, :]), strict=True)
    ]
    for i in range(n_d):
        if need[i]:
            mf.add_arc_with_capacity(src, 2 + i, int(need[i]))
    pair_arcs = [mf.add_arc_with_capacity(2 + i, 2 + n_d + j, 1) for i, j in pairs]
    for j in range(n_c):
        if remaining[j] > 0:
            mf.add_arc_with_capacity(2 + n_d + j, snk, int(remaining[j]))
    mf.solve(src, snk)
    reachable = set(mf.get_source_side_min_cut())
    group = [i for i in range(n_d) if 2 + i in reachable and need[i] > 0]
    achieved = sum(mf.flow(a) for a, (i, _) in zip(pair_arcs, pairs, strict=True) if i in group)
    wanted = int(sum(need[i] for i in group))
    cands = sorted({j for i, j in pairs if i in group})
    d = InfeasibleDetail(capacity_needed=wanted, capacity_available=int(achieved))
    d.demands_without_candidates = [p.dlabels[i] for i in group]
    d.problems.append(
        f"{_listing([p.dlabels[i] for i in group])} 合计至少需要 {wanted} 人次，"
        f"但它们的全部合格候选（{_listing([p.clabels[j] for j in cands]) or '无'}）"
        f"最多只能提供 {achieved} 人次，缺 {wanted - achieved} 人次：为这些需求邀请更多合格专家、"
        "提高上述候选的容量，或降低这些需求的最少人数"
    )
    return d


def evaluate(problem: PlanProblem, pairs: Iterable[Pair]) -> int:
    """``value(A)`` of any set of pairs, in points (no feasibility check)."""
    p = _prepare(problem)
    return _value(p, list(pairs))


def _value(p: _Prepared, pairs: list[Pair]) -> int:
    load = np.zeros(p.shape[1], dtype=np.int64)
    total = 0
    for i, j in pairs:
        total += int(p.points[i, j])
        load[j] += 1
    return total - int(p.penalty * (load * (load - 1) // 2).sum())


def _result(
    p: _Prepared, pairs: list[Pair], objective: int, method: str, started: float
) -> PlanResult:
    pairs = sorted(pairs)
    load = np.zeros(p.shape[1], dtype=np.int64)
    count = np.zeros(p.shape[0], dtype=np.int64)
    for i, j in pairs:
        load[j] += 1
        count[i] += 1
    total = float(sum(p.scores[i, j] for i, j in pairs if np.isfinite(p.scores[i, j])))
    return PlanResult(
        pairs=pairs,
        objective=objective,
        total_score=total,
        load=load,
        demand_count=count,
        method=method,
        seconds=time.perf_counter() - started,
    )


def solve(problem: PlanProblem) -> PlanResult:
    """The optimal plan by min-cost flow; raises :class:`InfeasiblePlan`."""
    from ortools.graph.python import min_cost_flow

    started = time.perf_counter()
    p = _prepare(problem)
    detail = _diagnose(p)
    if detail.problems:
        raise InfeasiblePlan(detail)
    n_d, n_c = p.shape
    must_d, must_c = _counts(p)
    remaining = p.capacity - must_c
    need = np.maximum(p.dmin - must_d, 0)
    optional = p.dmax - must_d - need
    free = p.eligible & (remaining > 0)[None, :]
    pi, pj = np.nonzero(free)

    src, snk = 0, 1
    dnode = 2 + np.arange(n_d)
    cnode = 2 + n_d + np.arange(n_c)
    slot_j = np.repeat(np.arange(n_c), remaining)
    slot_k = np.concatenate(
        [np.arange(must_c[j], p.capacity[j]) for j in range(n_c)] or [np.zeros(0, np.int64)]
    )
    slot_cost = p.penalty * slot_k.astype(np.int64)  # the (k+1)-th meeting costs p * k
    flow_units = int(need.sum() + optional.sum())
    max_w = int(np.abs(p.points[free]).max()) if pi.size else 0
    big_m = flow_units * max_w + int(slot_cost.sum()) + 1

    tails: list[np.ndarray] = []
    heads: list[np.ndarray] = []
    caps: list[np.ndarray] = []
    costs: list[np.ndarray] = []

    def arcs(t: np.ndarray, h: np.ndarray, c: np.ndarray, w: np.ndarray) -> tuple[int, int]:
        start = sum(len(x) for x in tails)
        tails.append(np.asarray(t, np.int32))
        heads.append(np.asarray(h, np.int32))
        caps.append(np.asarray(c, np.int64))
        costs.append(np.asarray(w, np.int64))
        return start, start + len(t)

    req = need > 0
    req_range = arcs(np.full(req.sum(), src), dnode[req], need[req], np.full(req.sum(), -big_m))
    opt = optional > 0
    arcs(np.full(opt.sum(), src), dnode[opt], optional[opt], np.zeros(opt.sum()))
    pair_range = arcs(dnode[pi], cnode[pj], np.ones(pi.size), -p.points[pi, pj])
    arcs(cnode[slot_j], np.full(slot_j.size, snk), np.ones(slot_j.size), slot_cost)
    arcs(np.array([src]), np.array([snk]), np.array([flow_units]), np.array([0]))

    mcf = min_cost_flow.SimpleMinCostFlow()
    mcf.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(tails), np.concatenate(heads), np.concatenate(caps), np.concatenate(costs)
    )
    mcf.set_node_supply(src, flow_units)
    mcf.set_node_supply(snk, -flow_units)
    status = mcf.solve()
    if status != mcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow solver returned status {status}")
    flows = mcf.flows(np.arange(mcf.num_arcs()))
    met = int(flows[req_range[0] : req_range[1]].sum())
    if met < int(need.sum()):
        raise InfeasiblePlan(_hall_diagnosis(p, need, remaining))
    chosen = flows[pair_range[0] : pair_range[1]] > 0
    pairs = list(p.must) + [(int(i), int(j)) for i, j in zip(pi[chosen], pj[chosen], strict=True)]
    # cost = -M * met - value(flow part) + penalties; fold the must-pairs back in
    objective = _value(p, pairs)
    flow_value = -(int(mcf.optimal_cost()) + big_m * met)
    must_load = must_c * (must_c - 1) // 2
    expected = (
        flow_value + int(sum(p.points[i, j] for i, j in p.must)) - int(p.penalty * must_load.sum())
    )
    if objective != expected:
        raise RuntimeError(
            f"min-cost flow objective {expected} does not match its plan ({objective})"
        )
    return _result(p, pairs, objective, "min_cost_flow", started)


def solve_milp(problem: PlanProblem, time_limit: float = 120.0) -> PlanResult:
    """The same optimum as :func:`solve`, by an independent integer program."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    started = time.perf_counter()
    p = _prepare(problem)
    detail = _diagnose(p)
    if detail.problems:
        raise InfeasiblePlan(detail)
    n_d, n_c = p.shape
    musts = set(p.must)
    var_pairs = sorted(
        {(int(i), int(j)) for i, j in zip(*np.nonzero(p.eligible), strict=True)} | musts
    )
    n_x = len(var_pairs)
    slots = [(j, k) for j in range(n_c) for k in range(int(p.capacity[j]))]
    n_y = len(slots)
    c = np.concatenate(
        [
            -np.array([p.points[i, j] for i, j in var_pairs], dtype=np.float64),
            np.array([p.penalty * k for _, k in slots], dtype=np.float64),
        ]
    )
    lower = np.array([1.0 if pair in musts else 0.0 for pair in var_pairs] + [0.0] * n_y)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for v, (i, j) in enumerate(var_pairs):
        rows += [i, n_d + j]
        cols += [v, v]
        vals += [1.0, 1.0]
    for v, (j, _) in enumerate(slots):
        rows.append(n_d + j)
        cols.append(n_x + v)
        vals.append(-1.0)
    a = coo_matrix((vals, (rows, cols)), shape=(n_d + n_c, n_x + n_y)).tocsr()
    lb = np.concatenate([p.dmin, np.zeros(n_c)]).astype(np.float64)
    ub = np.concatenate([p.dmax, np.zeros(n_c)]).astype(np.float64)
    res = milp(
        c,
        constraints=LinearConstraint(a, lb, ub),
        integrality=np.ones(n_x + n_y),
        bounds=Bounds(lower, np.ones(n_x + n_y)),
        options={"time_limit": time_limit},
    )
    if res.status == 2:
        must_d, must_c = _counts(p)
        raise InfeasiblePlan(
            _hall_diagnosis(p, np.maximum(p.dmin - must_d, 0), p.capacity - must_c)
        )
    if res.status != 0 or res.x is None:
        raise RuntimeError(f"MILP solver failed: {res.message}")
    pairs = [var_pairs[v] for v in np.flatnonzero(res.x[:n_x] > 0.5)]
    objective = _value(p, pairs)
    if objective != int(round(-res.fun)):
        raise RuntimeError(f"MILP objective {-res.fun} does not match its plan ({objective})")
    return _result(p, pairs, objective, "milp", started)


def greedy_baseline(problem: PlanProblem) -> PlanResult:
    """Best score first, never over capacity or a demand's maximum.

    Must-pairs go in first; a pair is taken when its marginal value (score
    minus the load penalty it would add) is positive. Demand minimums are not
    guaranteed: demands left short are reported in ``unmet_minimum``.
    """
    started = time.perf_counter()
    p = _prepare(problem)
    detail = _diagnose(p)
    if detail.conflicting_must_pairs:
        raise InfeasiblePlan(detail)
    n_d, n_c = p.shape
    load = np.zeros(n_c, dtype=np.int64)
    count = np.zeros(n_d, dtype=np.int64)
    pairs: list[Pair] = []
    for i, j in p.must:
        pairs.append((i, j))
        load[j] += 1
        count[i] += 1
    pi, pj = np.nonzero(p.eligible)
    order = np.lexsort((pj, pi, -p.points[pi, pj]))
    for i, j in zip(pi[order], pj[order], strict=True):
        if count[i] >= p.dmax[i] or load[j] >= p.capacity[j]:
            continue
        if p.points[i, j] - p.penalty * load[j] <= 0:
            continue
        pairs.append((int(i), int(j)))
        load[j] += 1
        count[i] += 1
    result = _result(p, pairs, _value(p, pairs), "greedy", started)
    result.unmet_minimum = [int(i) for i in np.flatnonzero(count < p.dmin)]
    return result


def optimum(problem: PlanProblem) -> int:
    """The optimal objective value in points (what the benchmark prints)."""
    return solve(problem).objective
