"""Independent yard sticks for the planner (:mod:`matcher.planner`).

``solve_milp(problem)`` is an independent formulation of the same objective as
a mixed-integer program (SciPy/HiGHS, lower bounds as constraints, must-pairs
as fixed variables); the tests and the benchmark use it to certify optimality.

``greedy_baseline(problem)`` takes pairs best-score-first; it is only a yard
stick for the benchmark.
"""

from __future__ import annotations

import time

import numpy as np

from matcher.errors import InfeasiblePlan
from matcher.plan_diagnosis import diagnose, hall_diagnosis
from matcher.plan_problem import (
    Pair,
    PlanProblem,
    PlanResult,
    make_result,
    must_counts,
    objective_of,
    prepare,
)
from matcher.planner import solve


def solve_milp(problem: PlanProblem, time_limit: float = 120.0) -> PlanResult:
    """The same optimum as :func:`solve`, by an independent integer program."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    started = time.perf_counter()
    p = prepare(problem)
    detail = diagnose(p)
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
        must_d, must_c = must_counts(p)
        raise InfeasiblePlan(
            hall_diagnosis(p, np.maximum(p.dmin - must_d, 0), p.capacity - must_c)
        )
    if res.status != 0 or res.x is None:
        raise RuntimeError(f"MILP solver failed: {res.message}")
    pairs = [var_pairs[v] for v in np.flatnonzero(res.x[:n_x] > 0.5)]
    objective = objective_of(p, pairs)
    if objective != int(round(-res.fun)):
        raise RuntimeError(f"MILP objective {-res.fun} does not match its plan ({objective})")
    return make_result(p, pairs, objective, "milp", started)


def greedy_baseline(problem: PlanProblem) -> PlanResult:
    """Best score first, never over capacity or a demand's maximum.

    Must-pairs go in first; a pair is taken when its marginal value (score
    minus the load penalty it would add) is positive. Demand minimums are not
    guaranteed: demands left short are reported in ``unmet_minimum``.
    """
    started = time.perf_counter()
    p = prepare(problem)
    detail = diagnose(p)
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
    result = make_result(p, pairs, objective_of(p, pairs), "greedy", started)
    result.unmet_minimum = [int(i) for i in np.flatnonzero(count < p.dmin)]
    return result


def optimum(problem: PlanProblem) -> int:
    """The optimal objective value in points (what the benchmark prints)."""
    return solve(problem).objective
