"""Nightly all-pairs job: top-10 experts for every demand, N demands x N experts,
from cached embeddings, with FAISS batch search.

Per size: read time of N vectors from the embedding cache (SQLite), then
exact (flat, blocked inner products), HNSW and IVF batch search; recall@10 of
the approximate ones against exact on a sample. Sizes that would take too long
are not run: their time is extrapolated from the measured ones (exact ~ N^2,
HNSW build ~ N log N and search ~ N log N, IVF ~ N^1.5) and marked as such.
Target: 250k x 250k in < 30 min on 2 cores.

    python bench/bench_nightly.py                          # 10k (about a minute)
    python bench/bench_nightly.py --sizes 10k,50k --extrapolate 250k
    python bench/bench_nightly.py --sizes 250k --types hnsw  # the full HNSW run (~15 min)
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import faiss  # noqa: E402

from bench.common import clustered_vectors, machine, parse_sizes, table  # noqa: E402
from matcher.index_faiss import FaissVectorIndex  # noqa: E402

K = 10
TARGET_S = 30 * 60
BLOCK = 4096


def cache_read_rate(n: int, dim: int) -> float:
    """Vectors/s read back from the embedding cache (what the nightly job starts with)."""
    from matcher.cache import EmbeddingCache, text_hash

    vecs = clustered_vectors(n, dim, seed=7)
    with tempfile.TemporaryDirectory(prefix="kejie-bench-nightly-") as tmp:
        cache = EmbeddingCache(Path(tmp) / "embeddings.sqlite")
        hashes = [text_hash(f"text {i}") for i in range(n)]
        cache.put_many("bench", "passage", zip(hashes, vecs, strict=True))
        t0 = time.perf_counter()
        got = cache.get_many("bench", "passage", hashes)
        dt = time.perf_counter() - t0
        cache.close()
    assert len(got) == n
    return n / dt


def run_exact(x: np.ndarray, q: np.ndarray) -> tuple[float, np.ndarray]:
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(x)
    t0 = time.perf_counter()
    out = np.empty((len(q), K), dtype=np.int64)
    for s in range(0, len(q), BLOCK):
        _, out[s : s + BLOCK] = index.search(q[s : s + BLOCK], K)
    return time.perf_counter() - t0, out


def run_hnsw(x: np.ndarray, q: np.ndarray, m: int, ef: int) -> tuple[float, float, np.ndarray]:
    index = faiss.IndexHNSWFlat(x.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 40
    t0 = time.perf_counter()
    index.add(x)
    build = time.perf_counter() - t0
    index.hnsw.efSearch = ef
    t0 = time.perf_counter()
    out = np.empty((len(q), K), dtype=np.int64)
    for s in range(0, len(q), BLOCK):
        _, out[s : s + BLOCK] = index.search(q[s : s + BLOCK], K)
    return build, time.perf_counter() - t0, out


def run_ivf(x: np.ndarray, q: np.ndarray, nprobe: int) -> tuple[float, float, np.ndarray]:
    n, d = x.shape
    nlist = max(1, min(4096, int(np.sqrt(n) * 4)))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
    t0 = time.perf_counter()
    index.train(x[np.random.default_rng(0).choice(n, min(n, nlist * 64), replace=False)])
    index.add(x)
    build = time.perf_counter() - t0
    index.nprobe = nprobe
    t0 = time.perf_counter()
    out = np.empty((len(q), K), dtype=np.int64)
    for s in range(0, len(q), BLOCK):
        _, out[s : s + BLOCK] = index.search(q[s : s + BLOCK], K)
    return build, time.perf_counter() - t0, out


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return sum(len(set(a.tolist()) & set(b.tolist())) for a, b in zip(found, truth, strict=True)) / truth.size


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10k")
    ap.add_argument("--extrapolate", default="250k", help="sizes to extrapolate to (not run)")
    ap.add_argument("--types", default="flat,hnsw,ivf")
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--recall-sample", type=int, default=2000, help="demands checked against exact")
    args = ap.parse_args(argv)
    faiss.omp_set_num_threads(args.threads)
    defaults = FaissVectorIndex(args.dim)
    types = [t.strip() for t in args.types.split(",") if t.strip()]
    print(f"# bench_nightly — {machine()}")
    print(f"dim={args.dim}, faiss threads={args.threads}, top-{K}; HNSW M={defaults.hnsw_m} "
          f"efSearch={defaults.hnsw_ef_search}; IVF nprobe={defaults.ivf_nprobe}\n")
    read_rate = cache_read_rate(20_000, args.dim)
    print(f"embedding cache read: {read_rate:,.0f} vectors/s "
          f"(250k demands + 250k experts: {500_000 / read_rate:.0f}s)\n")

    rows: list[list[object]] = []
    measured: dict[str, list[tuple[int, float]]] = {t: [] for t in types}
    for n in parse_sizes(args.sizes):
        allv = clustered_vectors(2 * n, args.dim, seed=1)
        experts, demands = allv[:n], allv[n:]
        sample = demands[: min(args.recall_sample, n)]
        truth: np.ndarray | None = None
        if "flat" in types:
            secs, out = run_exact(experts, demands)
            truth = out[: len(sample)]
            measured["flat"].append((n, secs))
            rows.append([f"{n:,} x {n:,}", "flat (exact)", 0.0, secs, secs, n / secs, 1.0, "measured"])
            print(f"  {n:,}: flat {secs:.1f}s", flush=True)
        if truth is None:
            _, truth = run_exact(experts, sample)
        if "hnsw" in types:
            build, search, out = run_hnsw(experts, demands, defaults.hnsw_m, defaults.hnsw_ef_search)
            measured["hnsw"].append((n, build + search))
            rows.append([f"{n:,} x {n:,}", "hnsw", build, search, build + search, n / search,
                         recall(out[: len(sample)], truth), "measured"])
            print(f"  {n:,}: hnsw build {build:.1f}s search {search:.1f}s", flush=True)
        if "ivf" in types:
            build, search, out = run_ivf(experts, demands, defaults.ivf_nprobe)
            measured["ivf"].append((n, build + search))
            rows.append([f"{n:,} x {n:,}", "ivf", build, search, build + search, n / search,
                         recall(out[: len(sample)], truth), "measured"])
            print(f"  {n:,}: ivf build {build:.1f}s search {search:.1f}s", flush=True)
        del allv, experts, demands

    growth = {"flat": lambda n: n * n, "hnsw": lambda n: n * math.log(n), "ivf": lambda n: n ** 1.5}
    for big in parse_sizes(args.extrapolate):
        for kind, points in measured.items():
            if not points or any(n == big for n, _ in points):
                continue
            n0, s0 = max(points)  # extrapolate from the largest measured size
            est = s0 * growth[kind](big) / growth[kind](n0)
            rows.append([f"{big:,} x {big:,}", kind, float("nan"), float("nan"), est, float("nan"),
                         float("nan"), f"extrapolated from {n0:,}"])

    print("\n" + table(["pairs", "method", "build s", "search s", "total s", "demands/s", "recall@10",
                        "how"], rows))
    print()
    for r in rows:
        if str(r[0]).startswith("250,000") and isinstance(r[4], float):
            verdict = "within" if r[4] < TARGET_S else f"MISSES by {(r[4] - TARGET_S) / 60:.0f} min"
            print(f"250k x 250k {r[1]}: {r[4] / 60:.1f} min ({r[7]}) — {verdict} the 30 min target")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
