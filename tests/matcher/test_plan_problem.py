"""The problem statement: malformed input is a programming error, and the
objective is the module docstring's formula."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.plan_problem import PlanProblem, evaluate
from matcher.planner import solve
from tests.matcher.plan_checks import random_problem, value


def test_bad_shapes_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="capacity"):
        solve(PlanProblem(np.zeros((2, 3)), [1, 1]))
    with pytest.raises(ValueError, match="outside"):
        solve(PlanProblem(np.zeros((2, 3)), [1, 1, 1], must_pairs=[(5, 0)]))


@pytest.mark.parametrize("seed", range(10))
def test_evaluate_is_the_objective_formula(seed: int) -> None:
    rng = np.random.default_rng(300 + seed)
    pr = random_problem(rng, 6, 4)
    s = np.asarray(pr.scores)
    some = [(i, j) for i in range(s.shape[0]) for j in range(s.shape[1]) if rng.random() < 0.4]
    assert evaluate(pr, some) == value(pr, some)
