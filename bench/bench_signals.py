"""What each expert-matching signal costs per query, at the dev set's size and
replicated to a platform-sized collection.

    python -m bench.bench_signals --candidates ../shared/data/experts.csv \
        --queries ../shared/data/expert_dev_queries.jsonl --replicate 1,64

"semantic_boost top 10" is the previous default fusion on the same index in
the same run (it scores the same signals but fuses two of them), the baseline
for the learned model's cost. The candidate file is encoded once (embedding cache), then its profiles are
replicated ``k`` times (same vectors and tokens, new ids) so that the scoring
cost at ~100k experts is measured without encoding 100k profiles. Query
encoding is timed separately (it does not depend on the collection size).
Timings are per query, median over the queries, one query at a time.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import git_rev, machine, table


def _time(fn: Callable[[], object], reps: int = 3) -> float:
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps * 1000


def _measure(ranker: Any, two_channel: Any, snap: Any, eq: Any, it: Any, ref: np.ndarray) -> dict[str, float]:
    from matcher.signals import _best_item, rare_tokens

    prof = snap.profile_matrix()
    return {
        "bm25": _time(lambda: (snap.bm25.score(eq.focus_tokens), snap.bm25.score(eq.title_tokens))),
        "char": _time(lambda: snap.char_ngrams.score([t.focus for t in eq.texts])),
        "dense": _time(lambda: (eq.focus_vecs @ prof.T,
                                _best_item(eq.focus_vecs, it, eq.focus_vecs @ prof.T),
                                _best_item(eq.title_vecs, it, eq.title_vecs @ prof.T))),
        "parts": _time(lambda: (_best_item(eq.part_vecs, it, eq.part_vecs @ prof.T),
                                snap.bm25.score(eq.part_tokens)) if len(eq.part_owner) else None),
        "feedback": _time(lambda: (snap.bm25.score(rare_tokens(snap, eq.focus_tokens)),
                                   eq.focus_vecs @ prof[ref].T)),
        "all signals + fusion": _time(lambda: ranker.score(eq, snap)),
        "rank top 10": _time(lambda: ranker.rank_encoded(eq, 10)),
        # the previous default, same index, same run: the baseline for the ratio
        "semantic_boost top 10": _time(lambda: two_channel.rank_encoded(eq, 10)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidates", type=Path, required=True)
    ap.add_argument("--queries", type=Path, required=True)
    ap.add_argument("--replicate", default="1,64", help="comma-separated copies of the collection")
    ap.add_argument("--limit", type=int, default=20, help="queries timed")
    args = ap.parse_args(argv)

    from kejie.cli.matching import _file_ranker, _read_queries
    from matcher.ranker import Ranker
    from matcher.signals import SIGNALS, _row_items, stats_rows
    from matcher.types import Candidate

    cf, encoder, base = _file_ranker(args.candidates, "auto", None)
    queries = [q for _, q in _read_queries(args.queries, args.limit)]
    enc_ms = [_time(lambda q=q: base.encode_queries([q])) for q in queries]  # cached after the first run
    print(f"# bench_signals  rev {git_rev()}  {machine()}")
    print(f"query encoding (focus + title + sub-problems, cache as it stands): median {statistics.median(enc_ms):.1f} ms")
    rows_out = []
    for k in [int(x) for x in args.replicate.split(",")]:
        cands = [Candidate(id=f"{c.id}#{i}", kind=c.kind, name=c.name, items=c.items, attrs=c.attrs)
                 for i in range(k) for c in cf.candidates]
        ranker = Ranker.from_candidates(cands, encoder, base.segment, model=base.model)
        snap = ranker.index.snapshot()
        n = len(snap)
        all_rows = np.arange(n)
        ref = stats_rows(n)
        two_channel = Ranker(ranker.index, encoder, base.segment, "semantic_boost")
        parts: dict[str, list[float]] = {s: [] for s in (
            "bm25", "char", "dense", "parts", "feedback", "all signals + fusion", "rank top 10",
            "semantic_boost top 10")}
        snap.char_ngrams  # noqa: B018 — built once, outside the timings
        it = _row_items(snap, all_rows)
        for q in queries:
            for name, ms in _measure(ranker, two_channel, snap, ranker.encode_queries([q]), it, ref).items():
                parts[name].append(ms)
        rows_out.append([f"{n:,}", *(f"{statistics.median(v):.1f}" for v in parts.values())])
        header = ["experts", *parts]
    print(f"signals: {len(SIGNALS)}; per query, median ms over {len(queries)} demands")
    print(table(header, rows_out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
