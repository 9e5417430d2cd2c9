"""The independent MILP and the greedy baseline: the MILP certifies the flow's
optimum, the greedy plan never beats it."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.plan_baselines import greedy_baseline, optimum, solve_milp
from matcher.plan_problem import PlanProblem, evaluate
from matcher.planner import solve
from tests.matcher.plan_checks import brute_force, violations


@pytest.mark.parametrize("seed", range(3))
def test_medium_instances_equal_milp(seed: int) -> None:
    rng = np.random.default_rng(50 + seed)
    n_d, n_c = 60, 30
    base = rng.random((n_d, 4)) @ rng.random((4, n_c)) / 4 + 0.3 * rng.random((n_d, n_c))
    pr = PlanProblem(
        scores=base,
        capacity=rng.integers(1, 5, n_c).tolist(),
        demand_min=1,
        demand_max=2,
        must_pairs=[(0, 0), (1, 1)],
        never_pairs=[(2, j) for j in range(0, n_c, 2)],
        forbidden={(3, j): "兼职" for j in range(0, n_c, 3)},
        min_score=0.2,
        load_penalty=0.02,
    )
    flow, milp = solve(pr), solve_milp(pr)
    assert violations(pr, flow.pairs) == [] and violations(pr, milp.pairs) == []
    assert flow.objective == milp.objective == optimum(pr)
    assert flow.objective == evaluate(pr, flow.pairs)


# ----------------------------------------------------------------------------
# optimisation beats greedy


def test_beats_greedy_where_greedy_is_trapped() -> None:
    # greedy grabs 0.9 for demand 0, leaving demand 1 with nothing eligible
    scores = np.array([[0.9, 0.8], [0.85, 0.1]])
    pr = PlanProblem(scores, [1, 1], demand_max=1, min_score=0.3, load_penalty=0.0)
    greedy, best = greedy_baseline(pr), solve(pr)
    assert greedy.pairs == [(0, 0)]
    assert best.pairs == [(0, 1), (1, 0)]
    assert best.objective == 16500 > greedy.objective == 9000
    assert best.objective == brute_force(pr)


@pytest.mark.parametrize("seed", range(10))
def test_greedy_is_never_better_and_never_breaks_capacity(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pr = PlanProblem(rng.random((30, 12)), rng.integers(1, 4, 12).tolist(), demand_max=2)
    g, best = greedy_baseline(pr), solve(pr)
    assert violations(pr, g.pairs) == []
    assert g.objective <= best.objective
