"""Benchmark of the event planner on an 院士八闽行-sized event.

200 demands, 158 academicians with capacity 3, 1-2 experts per demand. The
score matrix is synthetic but shaped like real ones: demands and experts have
latent topic mixtures (low rank), some academicians are broad and score well
everywhere (the ones a greedy plan overloads), plus noise. Scores are on the
planner's calibrated quality scale (0 = an unrelated pair, 1 = a top pair).

Prints the min-cost-flow optimum, an independent MILP optimum (they must be
equal), the greedy baseline and its ratio, the runtimes, and the load
distribution of each plan. Run from the repository root::

    python -m bench.bench_planner [--seed 7] [--demands 200] [--experts 158]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

try:
    from matcher.plan_baselines import greedy_baseline, solve_milp
    from matcher.plan_problem import SCALE, PlanProblem, PlanResult
    from matcher.planner import solve
except ModuleNotFoundError:  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from matcher.plan_baselines import greedy_baseline, solve_milp
    from matcher.plan_problem import SCALE, PlanProblem, PlanResult
    from matcher.planner import solve


def synthetic_scores(n_demands: int, n_experts: int, seed: int, topics: int = 16) -> np.ndarray:
    """Calibrated-scale scores: median ~0 (unrelated), ~18% of pairs above 0.35,
    the top 0.5% around 1."""
    rng = np.random.default_rng(seed)
    # a demand is about one or two topics; an expert covers a few
    demand_mix = rng.dirichlet(np.full(topics, 0.10), n_demands)
    expert_mix = rng.dirichlet(np.full(topics, 0.15), n_experts)
    demand_mix /= np.linalg.norm(demand_mix, axis=1, keepdims=True)
    expert_mix /= np.linalg.norm(expert_mix, axis=1, keepdims=True)
    cosine = demand_mix @ expert_mix.T
    breadth = rng.gamma(2.0, 0.04, n_experts)  # broad, famous academicians score well everywhere
    noise = rng.normal(0.0, 0.07, (n_demands, n_experts))
    return 1.2 * (cosine - 0.15) + breadth[None, :] + noise


def load_stats(plan: PlanResult, scores: np.ndarray, capacity: np.ndarray) -> str:
    load = plan.load
    weakest: dict[int, float] = {}
    for i, j in plan.pairs:
        weakest[j] = min(weakest.get(j, np.inf), float(scores[i, j]))
    weak = np.array(list(weakest.values())) if weakest else np.zeros(1)
    used = load > 0
    return (
        f"meetings/expert min {load.min()} mean {load.mean():.2f} max {load.max()} "
        f"(histogram {' '.join(f'{k}:{n}' for k, n in enumerate(np.bincount(load)))}); "
        f"experts used {int(used.sum())}/{load.size}, at capacity {int((load >= capacity).sum())}; "
        f"weakest pairing per expert: mean {weak.mean():.3f}, min {weak.min():.3f}; "
        f"demands covered {int((plan.demand_count > 0).sum())}/{plan.demand_count.size}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--demands", type=int, default=200)
    ap.add_argument("--experts", type=int, default=158)
    ap.add_argument("--capacity", type=int, default=3)
    ap.add_argument("--min-per-demand", type=int, default=1)
    ap.add_argument("--max-per-demand", type=int, default=2)
    ap.add_argument("--min-score", type=float, default=0.35)
    ap.add_argument("--load-penalty", type=float, default=0.05)
    args = ap.parse_args(argv)

    scores = synthetic_scores(args.demands, args.experts, args.seed)
    capacity = np.full(args.experts, args.capacity)
    problem = PlanProblem(
        scores=scores,
        capacity=capacity,
        demand_min=args.min_per_demand,
        demand_max=args.max_per_demand,
        min_score=args.min_score,
        load_penalty=args.load_penalty,
    )
    eligible = int((scores >= args.min_score).sum())
    print(
        f"event: {args.demands} demands x {args.experts} academicians (capacity {args.capacity}), "
        f"{args.min_per_demand}-{args.max_per_demand} experts per demand, min score {args.min_score}, "
        f"load penalty {args.load_penalty}/extra meeting; eligible pairs {eligible} "
        f"({eligible / scores.size:.1%}); seed {args.seed}"
    )

    t = time.perf_counter()
    flow = solve(problem)
    t_flow = time.perf_counter() - t
    t = time.perf_counter()
    milp = solve_milp(problem)
    t_milp = time.perf_counter() - t
    t = time.perf_counter()
    greedy = greedy_baseline(problem)
    t_greedy = time.perf_counter() - t
    plain = solve(PlanProblem(**{**problem.__dict__, "load_penalty": 0.0}))

    def line(name: str, plan: PlanResult, seconds: float) -> None:
        print(
            f"{name:<22} objective {plan.objective / SCALE:9.4f}  total score {plan.total_score:8.4f}  "
            f"pairs {len(plan.pairs):3d}  {seconds * 1000:8.1f} ms"
        )

    print()
    line("min-cost flow (plan)", flow, t_flow)
    line("MILP (HiGHS) check", milp, t_milp)
    line("greedy baseline", greedy, t_greedy)
    print()
    same = flow.objective == milp.objective
    print(
        f"optimum check: min-cost flow objective {flow.objective} == MILP objective {milp.objective} "
        f"(integer points of 1/{SCALE}): {'EQUAL' if same else 'DIFFERENT'}"
    )
    print(
        f"greedy / optimum: objective {greedy.objective / flow.objective:.4f}, "
        f"total score {greedy.total_score / flow.total_score:.4f}; "
        f"greedy leaves {len(greedy.unmet_minimum)} demands below their minimum"
    )
    print()
    print("load distribution")
    print(f"  plan (concave utility): {load_stats(flow, scores, capacity)}")
    print(f"  greedy baseline:        {load_stats(greedy, scores, capacity)}")
    print(f"  no load penalty:        {load_stats(plain, scores, capacity)}")
    print(
        f"  fairness costs {plain.total_score - flow.total_score:.4f} of total score "
        f"({(plain.total_score - flow.total_score) / plain.total_score:.2%}) against the pure score maximum"
    )
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
