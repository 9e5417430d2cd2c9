"""The min-cost flow planner against independent checks: brute force, a MILP,
hand-made traps, fairness."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.errors import InfeasiblePlan
from matcher.plan_baselines import solve_milp
from matcher.plan_problem import SCALE, PlanProblem
from matcher.planner import solve
from tests.matcher.plan_checks import brute_force, random_problem, value, violations

# ----------------------------------------------------------------------------
# constraints, property style


@pytest.mark.parametrize("seed", range(40))
def test_random_instances_respect_every_constraint_and_match_milp(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pr = random_problem(rng, int(rng.integers(2, 16)), int(rng.integers(1, 10)))
    try:
        plan = solve(pr)
    except InfeasiblePlan:
        with pytest.raises(InfeasiblePlan):
            solve_milp(pr)
        return
    assert violations(pr, plan.pairs) == []
    assert plan.objective == value(pr, plan.pairs)
    assert plan.objective == solve_milp(pr).objective
    assert (plan.load <= np.asarray(pr.capacity)).all()


@pytest.mark.parametrize("seed", range(60))
def test_tiny_instances_are_optimal_against_brute_force(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    pr = random_problem(rng, int(rng.integers(1, 4)), int(rng.integers(1, 4)), rules=seed % 2 == 0)
    best = brute_force(pr)
    if best is None:
        with pytest.raises(InfeasiblePlan):
            solve(pr)
        return
    plan = solve(pr)
    assert violations(pr, plan.pairs) == []
    assert plan.objective == best


def test_capacity_is_never_exceeded_even_when_everyone_wants_one_expert() -> None:
    scores = np.full((10, 3), 0.3)
    scores[:, 0] = 0.99  # everyone's favourite
    plan = solve(
        PlanProblem(scores, [2, 5, 5], demand_min=1, demand_max=1, min_score=0.25, load_penalty=0.0)
    )
    assert plan.load.tolist()[0] == 2
    assert plan.load.sum() == 10


def test_demand_max_and_min_are_honoured() -> None:
    scores = np.full((3, 5), 0.9)
    plan = solve(PlanProblem(scores, [5] * 5, demand_min=[2, 0, 1], demand_max=[2, 0, 3]))
    assert plan.demand_count.tolist()[0] == 2
    assert plan.demand_count.tolist()[1] == 0
    assert 1 <= plan.demand_count.tolist()[2] <= 3


def test_minimum_forces_a_pair_whose_marginal_value_is_negative() -> None:
    # the only expert already has two meetings: a third is worth 0.3 - 2*0.5 < 0
    scores = np.array([[0.9], [0.9], [0.3]])
    pr = PlanProblem(
        scores, [3], demand_min=[0, 0, 1], demand_max=1, min_score=0.2, load_penalty=0.5
    )
    plan = solve(pr)
    assert (2, 0) in plan.pairs
    assert plan.objective == brute_force(pr)


def test_must_pairs_present_even_below_threshold_and_counted_in_capacity() -> None:
    scores = np.array([[0.05, 0.9], [0.9, 0.9]])
    pr = PlanProblem(scores, [1, 1], demand_max=1, must_pairs=[(0, 0)], min_score=0.5)
    plan = solve(pr)
    assert (0, 0) in plan.pairs
    assert (1, 0) not in plan.pairs  # expert 0's only slot went to the must-pair
    assert plan.pairs == [(0, 0), (1, 1)]


def test_never_pairs_and_conflicts_are_excluded_even_when_best() -> None:
    scores = np.array([[0.99, 0.4, 0.3], [0.98, 0.97, 0.3]])
    pr = PlanProblem(
        scores,
        [2, 2, 2],
        demand_max=2,
        never_pairs=[(0, 0)],
        forbidden={(1, 0): "任职", (1, 1): "亲属"},
        min_score=0.25,
    )
    plan = solve(pr)
    assert (0, 0) not in plan.pairs and (1, 0) not in plan.pairs and (1, 1) not in plan.pairs
    assert plan.pairs == [(0, 1), (0, 2), (1, 2)]


def test_threshold_excludes_junk_and_keeps_the_boundary() -> None:
    scores = np.array([[0.2999, 0.3], [0.1, np.nan]])
    plan = solve(PlanProblem(scores, [2, 2], demand_max=2, min_score=0.3, load_penalty=0.0))
    assert plan.pairs == [(0, 1)]
    assert plan.demand_count.tolist() == [1, 0]


def test_empty_problem() -> None:
    plan = solve(PlanProblem(np.zeros((0, 0)), []))
    assert plan.pairs == [] and plan.objective == 0


# ----------------------------------------------------------------------------
# fairness


@pytest.mark.parametrize("seed", range(15))
def test_no_single_reassignment_improves_the_plan(seed: int) -> None:
    """Local optimality of the concave objective: moving any meeting from a
    loaded expert to one with spare capacity never pays, i.e. nobody is stuck
    with weak pairings while a busier expert holds a comparable one."""
    rng = np.random.default_rng(200 + seed)
    n_d, n_c = 25, 8
    pr = PlanProblem(
        rng.random((n_d, n_c)), [4] * n_c, demand_max=2, min_score=0.2, load_penalty=0.05
    )
    plan = solve(pr)
    s = np.rint(np.asarray(pr.scores) * SCALE)
    pen = round(pr.load_penalty * SCALE)
    load = plan.load
    chosen = set(plan.pairs)
    for i, a in plan.pairs:
        for b in range(n_c):
            if b == a or (i, b) in chosen or load[b] >= 4 or pr.scores[i, b] < pr.min_score:
                continue
            gain = (s[i, b] - pen * load[b]) - (s[i, a] - pen * (load[a] - 1))
            assert gain <= 0, f"moving demand {i} from {a} to {b} would gain {gain}"


def test_load_penalty_spreads_meetings_off_a_star_expert() -> None:
    scores = np.full((8, 4), 0.78)
    scores[:, 0] = 0.79  # a star, marginally (less than the penalty step) better for every demand
    common = {"capacity": [6, 6, 6, 6], "demand_min": 1, "demand_max": 1}
    greedy_like = solve(PlanProblem(scores, load_penalty=0.0, **common))
    fair = solve(PlanProblem(scores, load_penalty=0.02, **common))
    assert greedy_like.load.tolist()[0] == 6
    assert fair.load.max() - fair.load.min() <= 1
    assert fair.load.tolist() == [2, 2, 2, 2]
    # it costs only the small score gap
    assert greedy_like.total_score - fair.total_score == pytest.approx(4 * 0.01)


def test_penalty_does_not_override_a_clear_quality_gap() -> None:
    scores = np.full((4, 2), 0.3)
    scores[:, 0] = 0.95
    plan = solve(PlanProblem(scores, [4, 4], demand_max=1, load_penalty=0.02, min_score=0.25))
    assert plan.load.tolist() == [4, 0]
