"""Independent checks of a plan (deliberately not using the planner's own code):
its constraint violations, its objective, the brute-force optimum, and random
problems to try the planner on."""

from __future__ import annotations

import numpy as np

from matcher.plan_problem import SCALE, PlanProblem

Pair = tuple[int, int]


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

