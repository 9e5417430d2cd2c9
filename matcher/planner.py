"""Optimal assignment of demands to experts (or societies) for an event.

Pure optimisation: numbers in, pairs out; the database side lives in
:mod:`kejie.events`. The problem and its objective are stated in
:mod:`matcher.plan_problem`; why a problem has no plan is worked out in
:mod:`matcher.plan_diagnosis`.

Method
------
``solve(problem)`` is a min-cost flow (OR-Tools ``SimpleMinCostFlow``):
source -> demand (a "required" arc of ``demand_min`` units at cost ``-M`` and an
optional arc up to ``demand_max``), demand -> candidate (1 unit, cost
``-w[i, j]``), candidate -> sink (one parallel unit arc per meeting slot with
cost ``p * (k - 1)``: convex cost, so slots fill in order), plus a zero-cost
source -> sink bypass so that the amount of flow is free. ``M`` exceeds any
possible gain elsewhere, so the optimum first satisfies as many minimum units
as possible (all of them when feasible) and then maximises ``value``. Network
flow LPs have integral optima, so this is the exact integer optimum.

:mod:`matcher.plan_baselines` holds an independent MILP of the same objective
(to certify optimality) and a greedy yard stick for the benchmark.
"""

from __future__ import annotations

import time

import numpy as np

from matcher.errors import InfeasiblePlan
from matcher.plan_diagnosis import diagnose, hall_diagnosis

# The problem's names are handed on from here as well: kejie.events imports
# them together with solve.
from matcher.plan_problem import DEFAULT_LOAD_PENALTY as DEFAULT_LOAD_PENALTY
from matcher.plan_problem import DEFAULT_MIN_SCORE as DEFAULT_MIN_SCORE
from matcher.plan_problem import SCALE as SCALE
from matcher.plan_problem import Pair as Pair
from matcher.plan_problem import (
    PlanProblem,
    PlanResult,
    make_result,
    must_counts,
    objective_of,
    prepare,
)


def solve(problem: PlanProblem) -> PlanResult:
    """The optimal plan by min-cost flow; raises :class:`InfeasiblePlan`."""
    from ortools.graph.python import min_cost_flow

    started = time.perf_counter()
    p = prepare(problem)
    detail = diagnose(p)
    if detail.problems:
        raise InfeasiblePlan(detail)
    n_d, n_c = p.shape
    must_d, must_c = must_counts(p)
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
        raise InfeasiblePlan(hall_diagnosis(p, need, remaining))
    chosen = flows[pair_range[0] : pair_range[1]] > 0
    pairs = list(p.must) + [(int(i), int(j)) for i, j in zip(pi[chosen], pj[chosen], strict=True)]
    # cost = -M * met - value(flow part) + penalties; fold the must-pairs back in
    objective = objective_of(p, pairs)
    flow_value = -(int(mcf.optimal_cost()) + big_m * met)
    must_load = must_c * (must_c - 1) // 2
    expected = (
        flow_value + int(sum(p.points[i, j] for i, j in p.must)) - int(p.penalty * must_load.sum())
    )
    if objective != expected:
        raise RuntimeError(
            f"min-cost flow objective {expected} does not match its plan ({objective})"
        )
    return make_result(p, pairs, objective, "min_cost_flow", started)
