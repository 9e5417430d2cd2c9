"""Infeasible problems: the error names the culprit and what staff can do."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.errors import InfeasiblePlan
from matcher.plan_baselines import solve_milp
from matcher.plan_problem import PlanProblem
from matcher.planner import solve


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


def test_inverted_bounds_are_reported_once() -> None:
    with pytest.raises(InfeasiblePlan) as err:
        solve(PlanProblem(np.full((30, 2), 0.9), [5, 5], demand_min=3, demand_max=2))
    assert len(err.value.problems) == 1
    assert "等 30 项 的最少人数大于最多人数（如最少 3 位、最多 2 位）" in str(err.value)
