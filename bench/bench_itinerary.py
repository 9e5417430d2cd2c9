"""Benchmark of the itinerary on the bundled sample event (3 days, 泉州市 and 莆田市).

Loads ``data/sample`` into a throw-away SQLite database, plans the sample
event with the production scorer (the bundled e5 encoder), then prints, per expert, the 设区市 changes of the
CP-SAT itinerary against a naive date-order schedule (each expert's visits in
plan order into the first free slots, day by day), the expert-days spread
over more than one city where the pairs would allow one, and the pairing
objective before and after scheduling (the itinerary never changes the pairs,
so it is kept exactly.

The sample plan is sparse (few experts get more than one visit), so a second
part does the same on a synthetic 院士八闽行-sized event: ``--demands`` demands
spread over the districts of 泉州市 and 莆田市, ``--experts`` experts of
capacity 3, the synthetic scores of :mod:`bench.bench_planner`, the min-cost
flow pairing, then naive against CP-SAT. Run from the repository root::

    python -m bench.bench_itinerary [--demands 200] [--experts 158] [--seed 7] [--no-sample]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

try:
    import kejie  # noqa: F401
except ModuleNotFoundError:  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demands", type=int, default=200)
    parser.add_argument("--experts", type=int, default=158)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-sample", action="store_true")
    args = parser.parse_args(argv)
    if not args.no_sample:
        sample()
    synthetic(args.demands, args.experts, args.seed)
    return 0


DISTRICTS = [
    ("泉州市", "晋江市"), ("泉州市", "石狮市"), ("泉州市", "南安市"), ("泉州市", "丰泽区"),
    ("莆田市", "城厢区"), ("莆田市", "涵江区"), ("莆田市", "仙游县"),
]


def synthetic(n_demands: int, n_experts: int, seed: int) -> None:
    import numpy as np

    from bench.bench_planner import synthetic_scores
    from matcher.itinerary import (
        Day,
        ItineraryProblem,
        Visit,
        city_changes,
        naive_schedule,
        solve_itinerary,
    )
    from matcher.plan_problem import PlanProblem
    from matcher.planner import solve

    scores = synthetic_scores(n_demands, n_experts, seed)
    rng = np.random.default_rng(seed + 1)
    where = [DISTRICTS[k] for k in rng.integers(0, len(DISTRICTS), n_demands)]
    plan = solve(PlanProblem(scores=scores, capacity=[3] * n_experts, demand_max=2))
    visits = [
        Visit(n, f"e{j}", where[i][0], where[i][1], f"企业{i}") for n, (i, j) in enumerate(plan.pairs)
    ]
    days = [Day(f"2026-12-0{8 + k}") for k in range(3)]
    # a tenth of the experts can come on two days only
    busy = {f"e{j}": {int(d) for d in rng.choice(3, 2, replace=False)} for j in range(0, n_experts, 10)}
    problem = ItineraryProblem(visits, days, busy)
    started = time.perf_counter()
    result = solve_itinerary(problem)
    seconds = time.perf_counter() - started
    naive_placed = naive_schedule(problem)
    naive = city_changes(visits, naive_placed)
    mine = city_changes(visits, result.placed)

    def mixed(placed: dict) -> tuple[int, int]:  # type: ignore[type-arg]
        c: dict[tuple[str, int], set[str]] = defaultdict(set)
        for n, p in placed.items():
            c[(visits[n].visitor, p.day)].add(visits[n].city)
        return sum(1 for v in c.values() if len(v) > 1), len(c)

    per = sorted({v.visitor for v in visits})
    print(f"\nsynthetic event: {n_demands} demands, {n_experts} experts (capacity 3, "
          f"{len(busy)} available two days only), 3 days x 2 slots, {len(visits)} pairs "
          f"(pairing objective {plan.objective} points, unchanged)")
    print(f"scheduled {len(result.placed)} (naive {len(naive_placed)}), CP-SAT {result.status} in {seconds:.2f}s")
    tn, tm = sum(naive.values()), sum(mine.values())
    print(f"city changes: naive {tn} (mean {tn / len(per):.2f}/expert), CP-SAT {tm} "
          f"(mean {tm / len(per):.2f}/expert) = {tm / max(tn, 1):.2f} of naive")
    hist_n = np.bincount([naive.get(k, 0) for k in per])
    hist_m = np.bincount([mine.get(k, 0) for k in per])
    print(f"experts by city changes: naive {dict(enumerate(hist_n.tolist()))}, CP-SAT {dict(enumerate(hist_m.tolist()))}")
    cities: dict[str, set[str]] = defaultdict(set)
    for v in visits:
        cities[v.visitor].add(v.city)
    print(f"lower bound (an expert with visits in k cities changes k-1 times): "
          f"{sum(len(c) - 1 for c in cities.values())}")
    mn, dn = mixed(naive_placed)
    mm, dm = mixed(result.placed)
    print(f"expert-days in more than one 设区市: naive {mn} of {dn}, CP-SAT {mm} of {dm}")


def sample() -> None:

    from ingest.sample import load_sample
    from kejie.events import latest_match_list, plan_event
    from kejie.events.itinerary import calendar, visitor_key
    from kejie.settings import Settings
    from kejie.wiring import planning_score_fn
    from matcher.itinerary import ItineraryProblem, Visit, city_changes, naive_schedule
    from matcher.plan_problem import SCALE
    from models import (
        Enterprise,
        Event,
        Expert,
        create_db_engine,
        make_session_factory,
        upgrade_database,
    )

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = create_db_engine(url)
        upgrade_database(url, engine=engine)
        Session = make_session_factory(engine)
        with Session() as session:
            load_sample(session)
            event = session.query(Event).order_by(Event.id).first()
            assert event is not None
            settings = Settings(var_dir=Path(tmp), index_dir=Path(tmp) / "index")
            score_fn = planning_score_fn(session, settings)[0]
            started = time.perf_counter()
            ml = plan_event(session, event.id, score_fn)
            seconds = time.perf_counter() - started
            ml = latest_match_list(session, event.id)
            assert ml is not None
            itin = ml.params["itinerary"]
            items = list(ml.items)
            demand_ent = {}
            for it in items:
                from models import Demand

                d = session.get(Demand, it.demand_id)
                demand_ent[it.demand_id] = session.get(Enterprise, d.enterprise_id)  # type: ignore[union-attr]
            cal = calendar(session, event)
            visits = [
                Visit(n, visitor_key(it), demand_ent[it.demand_id].city, demand_ent[it.demand_id].county)
                for n, it in enumerate(items)
            ]
            problem = ItineraryProblem(visits, cal.days, cal.availability, cal.visitor_slot_limit)
            naive = city_changes(visits, naive_schedule(problem))
            day_index = {d: n for n, d in enumerate(cal.dates)}
            from matcher.itinerary import Placement

            placed = {
                n: Placement(day_index[it.visit_date], list(cal.days[day_index[it.visit_date]].slots).index(it.slot), it.visit_order)
                for n, it in enumerate(items)
                if it.visit_date is not None
            }
            mine = city_changes(visits, placed)
            cities: dict[tuple[str, int], set[str]] = defaultdict(set)
            for n, p in placed.items():
                cities[(visits[n].visitor, p.day)].add(visits[n].city)
            visitor_cities: dict[str, set[str]] = defaultdict(set)
            for v in visits:
                visitor_cities[v.visitor].add(v.city)
            print(f"event #{event.id} {event.name}: {len(cal.days)} days x {len(cal.days[0].slots)} slots, "
                  f"{len(items)} pairs, {itin['scheduled']} scheduled, {len(itin['unscheduled'])} not; "
                  f"plan+itinerary {seconds:.2f}s (CP-SAT {itin['seconds']:.2f}s, {itin['status']})")
            print(f"{'expert':<24}{'visits':>7}{'cities':>7}{'naive':>7}{'cp-sat':>7}")
            for key in sorted(visitor_cities, key=lambda k: (-naive.get(k, 0), k)):
                who = key
                if key.startswith("expert:"):
                    e = session.get(Expert, int(key.split(":")[1]))
                    who = f"{e.name} #{e.id}" if e else key
                n_visits = sum(1 for v in visits if v.visitor == key)
                print(f"{who:<24}{n_visits:>7}{len(visitor_cities[key]):>7}{naive.get(key, 0):>7}{mine.get(key, 0):>7}")
            total_naive, total_mine = sum(naive.values()), sum(mine.values())
            mixed = sum(1 for c in cities.values() if len(c) > 1)
            print(f"city changes: naive {total_naive}, CP-SAT {total_mine} "
                  f"({total_mine / total_naive:.2f} of naive)" if total_naive else f"city changes: naive 0, CP-SAT {total_mine}")
            print(f"lower bound (an expert with visits in k cities changes k-1 times): "
                  f"{sum(len(c) - 1 for c in visitor_cities.values())}")
            print(f"expert-days in more than one 设区市: {mixed} of {len(cities)}")
            objective = ml.params["objective"]["expert"]
            kept = sum(round(it.score * SCALE) for it in items if it.visit_date is not None)
            total = sum(round(it.score * SCALE) for it in items)
            print(f"pairing objective (min-cost flow, points): {objective}; unchanged by the itinerary; "
                  f"score of the scheduled pairs {kept / SCALE:.4f} of {total / SCALE:.4f}")


if __name__ == "__main__":
    raise SystemExit(main())
