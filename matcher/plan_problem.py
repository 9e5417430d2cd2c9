"""The event plan's problem: its inputs, its result and its objective.

Shared by the solver (:mod:`matcher.planner`), the infeasibility diagnosis
(:mod:`matcher.plan_diagnosis`) and the independent checks
(:mod:`matcher.plan_baselines`); it imports none of them.

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
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

SCALE = 10_000
DEFAULT_MIN_SCORE = 0.35
DEFAULT_LOAD_PENALTY = 0.05

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
class Prepared:
    """A problem checked and laid out as arrays: what every method works on."""

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


def prepare(problem: PlanProblem) -> Prepared:
    """Check ``problem`` (``ValueError`` for a malformed one) and lay it out."""
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
    return Prepared(
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


def must_counts(p: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """How many must-pairs each demand and each candidate has."""
    n_d, n_c = p.shape
    must_d = np.zeros(n_d, dtype=np.int64)
    must_c = np.zeros(n_c, dtype=np.int64)
    for i, j in p.must:
        must_d[i] += 1
        must_c[j] += 1
    return must_d, must_c


def evaluate(problem: PlanProblem, pairs: Iterable[Pair]) -> int:
    """``value(A)`` of any set of pairs, in points (no feasibility check)."""
    p = prepare(problem)
    return objective_of(p, list(pairs))


def objective_of(p: Prepared, pairs: list[Pair]) -> int:
    """``value(A)`` in points of ``pairs`` in a prepared problem."""
    load = np.zeros(p.shape[1], dtype=np.int64)
    total = 0
    for i, j in pairs:
        total += int(p.points[i, j])
        load[j] += 1
    return total - int(p.penalty * (load * (load - 1) // 2).sum())


def make_result(
    p: Prepared, pairs: list[Pair], objective: int, method: str, started: float
) -> PlanResult:
    """The plan of ``pairs``, found by ``method`` since ``started`` (``perf_counter``)."""
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


