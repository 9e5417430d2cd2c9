"""The planner against independent checks: brute force, a MILP, hand-made traps."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.errors import InfeasiblePlan
from matcher.planner import (
    SCALE,
    PlanProblem,
    evaluate,
    greedy_baseline,
    optimum,
    solve,
    solve_milp,
)

Pair = tuple[int, int]


# ----------------------------------------------------------------------------
# independent helpers (deliberately not using the planner's own code)


def _as_array(v: int | list[int], n: int) -> list[int]:
    return [v] * n if isinstance(v, int) else list(v)


def violations(pr: PlanProblem, pairs: list[Pair]) -> list[str]:
    s = np.asarray(pr.scores)
    n_d, n_c = s.shape
    out: list[str] = []
    if len(set(pairs)) != len(pairs):
        out.append("duplicate pair")
    load = [0] * n_c
    count = [0] * n_d
    for i, j in pairs:
        load[j] += 1
        count[i] += 1
    cap = list(pr.capacity)
    dmin = _as_array(pr.demand_min, n_d)  # type: ignore[arg-type]
    dmax = _as_array(pr.demand_max, n_d)  # type: ignore[arg-type]
    musts = set(pr.must_pairs)
    forbidden = set(pr.forbidden)
    never = set(pr.never_pairs)
    out += [f"capacity {j}: {load[j]}>{cap[j]}" for j in range(n_c) if load[j] > cap[j]]
    out += [f"min {i}: {count[i]}<{dmin[i]}" for i in range(n_d) if count[i] < dmin[i]]
    out += [f"max {i}: {count[i]}>{dmax[i]}" for i in range(n_d) if count[i] > dmax[i]]
    out += [f"must {m} missing" for m in musts if m not in pairs]
    out += [f"never {m} present" for m in never if m in pairs]
    out += [f"conflict {m} present" for m in forbidden if m in pairs]
    out += [
        f"below threshold {(i, j)}"
        for i, j in pairs
        if (i, j) not in musts and not (s[i, j] >= pr.min_score)
    ]
    return out


def value(pr: PlanProblem, pairs: list[Pair]) -> int:
    s = np.asarray(pr.scores)
    pen = round(pr.load_penalty * SCALE)
    load: dict[int, int] = {}
    total = 0
    for i, j in pairs:
        total += round(s[i, j] * SCALE)
        load[j] = load.get(j, 0) + 1
    return total - sum(pen * k * (k - 1) // 2 for k in load.values())


def brute_force(pr: PlanProblem) -> int | None:
    s = np.asarray(pr.scores)
    all_pairs = [(i, j) for i in range(s.shape[0]) for j in range(s.shape[1])]
    best: int | None = None
    for mask in range(1 << len(all_pairs)):
        pairs = [p for b, p in enumerate(all_pairs) if mask >> b & 1]
        if violations(pr, pairs):
            continue
        v = value(pr, pairs)
        best = v if best is None else max(best, v)
    return best


def random_problem(rng: np.random.Generator, n_d: int, n_c: int, rules: bool = True) -> PlanProblem:
    scores = np.round(rng.random((n_d, n_c)), 3)
    cap = rng.integers(0, 4, n_c).tolist()
    dmax = rng.integers(1, 4, n_d).tolist()
    dmin = [int(rng.integers(0, 2)) if m else 0 for m in dmax]
    all_pairs = [(i, j) for i in range(n_d) for j in range(n_c)]
    picks = rng.permutation(len(all_pairs))
    must: list[Pair] = []
    never: list[Pair] = []
    forbidden: dict[Pair, str] = {}
    if rules:
        k = max(1, len(all_pairs) // 8)
        must = [all_pairs[x] for x in picks[:1]]
        never = [all_pairs[x] for x in picks[1 : 1 + k]]
        forbidden = {all_pairs[x]: "同一单位" for x in picks[1 + k : 1 + 2 * k]}
    return PlanProblem(
        scores=scores,
        capacity=cap,
        demand_min=dmin,
        demand_max=dmax,
        must_pairs=must,
        never_pairs=never,
        forbidden=forbidden,
        min_score=float(rng.choice([0.0, 0.2, 0.4])),
        load_penalty=float(rng.choice([0.0, 0.05, 0.3])),
    )


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


# ----------------------------------------------------------------------------
# infeasibility names the culprit


def test_sum_of_minimums_above_capacity_reports_the_shortfall() -> None:
    scores = np.full((5, 2), 0.9)
    with pytest.raises(InfeasiblePlan) as err:
        solve(PlanProblem(scores, [1, 2], demand_min=1, demand_max=1))
    assert "容量缺口 2 人次" in str(err.value)
    assert "最少共需 5 人次" in str(err.value) and "只有 3" in str(err.value)
    assert err.value.detail.capacity_shortfall == 2


def test_demand_without_eligible_expert_is_named() -> None:
    scores = np.array([[0.9, 0.8], [0.1, 0.05], [0.9, 0.9]])
    with pytest.raises(InfeasiblePlan) as err:
        solve(
            PlanProblem(
                scores,
                [3, 3],
                demand_min=1,
                min_score=0.3,
                demand_labels=["需求#11", "需求#12 无人可配", "需求#13"],
            )
        )
    assert "需求#12 无人可配" in str(err.value)
    assert "需求#11" not in str(err.value)
    assert err.value.detail.demands_without_candidates == ["需求#12 无人可配"]
    assert "降低最低匹配分" in str(err.value)


def test_must_pair_with_conflict_is_rejected_with_reason() -> None:
    scores = np.full((2, 2), 0.9)
    with pytest.raises(InfeasiblePlan) as err:
        solve(
            PlanProblem(
                scores,
                [1, 1],
                must_pairs=[(0, 1)],
                forbidden={(0, 1): "专家在该企业兼职"},
                demand_labels=["需求A", "需求B"],
                candidate_labels=["张三", "李四"],
            )
        )
    msg = str(err.value)
    assert "需求A 与 李四" in msg and "专家在该企业兼职" in msg and "删除该必配规则" in msg


def test_must_pairs_beyond_capacity_and_demand_max() -> None:
    scores = np.full((3, 2), 0.9)
    with pytest.raises(InfeasiblePlan) as err:
        solve(
            PlanProblem(
                scores,
                [1, 3],
                demand_max=1,
                must_pairs=[(0, 0), (1, 0), (2, 1), (2, 0)],
                candidate_labels=["王五", "赵六"],
            )
        )
    msg = str(err.value)
    assert "王五 有 3 条必配，但容量只有 1" in msg
    assert "需求[2] 有 2 条必配，超过每条需求最多 1 位" in msg


def test_must_and_never_on_same_pair() -> None:
    with pytest.raises(InfeasiblePlan, match="同时被设为必配和禁配"):
        solve(PlanProblem(np.full((1, 1), 0.9), [1], must_pairs=[(0, 0)], never_pairs=[(0, 0)]))


def test_bottleneck_group_is_found_when_simple_counts_pass() -> None:
    # demands 0-2 all need someone but can only use expert 0 (capacity 2);
    # totals look fine because experts 1-2 have plenty of unrelated capacity.
    scores = np.array([[0.9, 0.0, 0.0], [0.9, 0.0, 0.0], [0.9, 0.0, 0.0], [0.9, 0.9, 0.9]])
    labels = ["需求甲", "需求乙", "需求丙", "需求丁"]
    pr = PlanProblem(
        scores,
        [2, 5, 5],
        demand_min=1,
        demand_max=1,
        demand_labels=labels,
        candidate_labels=["钱七", "孙八", "周九"],
    )
    with pytest.raises(InfeasiblePlan) as err:
        solve(pr)
    msg = str(err.value)
    assert "需求甲、需求乙、需求丙 合计至少需要 3 人次" in msg
    assert "钱七" in msg and "最多只能提供 2 人次" in msg
    assert "需求丁" not in msg
    with pytest.raises(InfeasiblePlan):
        solve_milp(pr)


def test_bad_shapes_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="capacity"):
        solve(PlanProblem(np.zeros((2, 3)), [1, 1]))
    with pytest.raises(ValueError, match="outside"):
        solve(PlanProblem(np.zeros((2, 3)), [1, 1, 1], must_pairs=[(5, 0)]))


def test_inverted_bounds_are_reported_once() -> None:
    with pytest.raises(InfeasiblePlan) as err:
        solve(PlanProblem(np.full((30, 2), 0.9), [5, 5], demand_min=3, demand_max=2))
    assert len(err.value.problems) == 1
    assert "等 30 项 的最少人数大于最多人数（如最少 3 位、最多 2 位）" in str(err.value)
