"""Vector index benchmark: flat vs HNSW vs IVF.

For each size: build time, memory (RSS growth and serialised index bytes),
single-query latency p50/p95/p99 (one query per call, as the API does),
batched throughput, and recall@10 of the approximate indexes against exact
search; then a sweep of the search-time knobs (HNSW efSearch, IVF nprobe).
Index parameters mirror ``matcher.index_faiss.FaissVectorIndex`` defaults.
Last, ``matcher.index_policy.choose_index_type`` is checked against the
measured latencies.

Vectors are random-but-clustered (fast to make, a hard case for ANN: high
intrinsic dimension) or, with ``--vectors static``, static-encoder vectors of
generated demand/expert texts (realistic; needs a distilled model).

    python bench/bench_index.py                       # 10k, 100k (a few minutes)
    python bench/bench_index.py --sizes 10k,100k,250k # the full table (~10 min)
    python bench/bench_index.py --vectors static --model var/encoders/static
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import faiss  # noqa: E402

from bench.common import (  # noqa: E402
    clustered_vectors,
    machine,
    parse_sizes,
    percentiles,
    ratio,
    rss_mb,
    table,
)
from matcher.index_faiss import FaissVectorIndex  # noqa: E402
from matcher.index_policy import choose_index_type  # noqa: E402

K = 10


def static_vectors(n: int, model: Path, seed: int) -> np.ndarray:
    from bench.generate import generate_demands, generate_experts
    from matcher.encoders.static import StaticEncoder

    enc = StaticEncoder(model)
    half = n // 2
    texts = [r["研究方向"] + "；" + r["主要成果"] for r in generate_experts(n - half, seed)]
    texts += [r["技术需求名称"] + "：" + r["具体的技术需求说明"] for r in generate_demands(half, seed)]
    t0 = time.perf_counter()
    vecs = enc.encode_passages(texts)
    print(f"  static-encoded {n} texts in {time.perf_counter() - t0:.1f}s", flush=True)
    return vecs


def build(kind: str, x: np.ndarray, defaults: FaissVectorIndex) -> faiss.Index:
    n, d = x.shape
    if kind == "flat":
        index: faiss.Index = faiss.IndexFlatIP(d)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(d, defaults.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = defaults.hnsw_ef_search
    elif kind == "ivf":
        # same nlist rule as FaissVectorIndex
        nlist = max(1, min(4096, int(np.sqrt(max(n, 1)) * 4)))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(x)
        index.nprobe = min(defaults.ivf_nprobe, nlist)
    else:
        raise ValueError(kind)
    index.add(x)
    return index


def single_query_latency(index: faiss.Index, q: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
    times = []
    found = np.empty((len(q), K), dtype=np.int64)
    for i in range(len(q)):
        t0 = time.perf_counter()
        _, ids = index.search(q[i : i + 1], K)
        times.append(time.perf_counter() - t0)
        found[i] = ids[0]
    return percentiles(times), found


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10k,100k")
    ap.add_argument("--types", default="flat,hnsw,ivf")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--threads", type=int, default=1, help="FAISS OpenMP threads (1 = one request's view)")
    ap.add_argument("--vectors", choices=("clustered", "static"), default="clustered")
    ap.add_argument("--model", type=Path, default=Path("var/encoders/static"))
    ap.add_argument("--no-sweep", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    faiss.omp_set_num_threads(args.threads)
    sizes = parse_sizes(args.sizes)
    types = [t.strip() for t in args.types.split(",") if t.strip()]
    defaults = FaissVectorIndex(args.dim)
    print(f"# bench_index — {machine()}")
    print(f"vectors={args.vectors} dim={args.dim} queries={args.queries} faiss threads={args.threads} "
          f"hnsw M={defaults.hnsw_m} efSearch={defaults.hnsw_ef_search} ivf nprobe={defaults.ivf_nprobe}\n")

    rows: list[list[object]] = []
    sweep_rows: list[list[object]] = []
    flat_p95: dict[int, float] = {}
    best_p95: dict[int, tuple[str, float]] = {}
    for n in sizes:
        print(f"== n={n:,}", flush=True)
        if args.vectors == "static":
            allv = static_vectors(n + args.queries, args.model, args.seed)
        else:
            allv = clustered_vectors(n + args.queries, args.dim, seed=args.seed)
        x, q = np.ascontiguousarray(allv[:n]), np.ascontiguousarray(allv[n:])
        del allv
        exact = faiss.IndexFlatIP(x.shape[1])
        exact.add(x)
        _, truth = exact.search(q, K)
        del exact
        base_build = base_lat = None
        for kind in types:
            gc.collect()
            r0 = rss_mb()
            t0 = time.perf_counter()
            index = build(kind, x, defaults)
            build_s = time.perf_counter() - t0
            grown = rss_mb() - r0
            nbytes = faiss.serialize_index(index).nbytes
            lat, found = single_query_latency(index, q)
            t0 = time.perf_counter()
            index.search(q, K)
            qps = len(q) / (time.perf_counter() - t0)
            rec = recall_at_k(found, truth)
            if kind == "flat":
                base_build, base_lat = build_s, lat["p95"]
                flat_p95[n] = lat["p95"]
            if kind != "flat" and rec >= 0.95 and (n not in best_p95 or lat["p95"] < best_p95[n][1]):
                best_p95[n] = (kind, lat["p95"])
            rows.append([f"{n:,}", kind, build_s, ratio(build_s, base_build or float("nan")),
                         nbytes / 2**20, grown, lat["p50"], lat["p95"], lat["p99"],
                         ratio(base_lat or float("nan"), lat["p95"]), qps, rec])
            print(f"  {kind:<5} build {build_s:7.2f}s  p95 {lat['p95']:7.3f} ms  recall@10 {rec:.3f}",
                  flush=True)
            if not args.no_sweep and kind in ("hnsw", "ivf"):
                knob = "efSearch" if kind == "hnsw" else "nprobe"
                values = (16, 32, 64, 128, 256) if kind == "hnsw" else (4, 8, 16, 32, 64)
                for v in values:
                    if kind == "hnsw":
                        index.hnsw.efSearch = v
                    else:
                        index.nprobe = v
                    sl, sf = single_query_latency(index, q)
                    sweep_rows.append([f"{n:,}", kind, f"{knob}={v}", sl["p50"], sl["p95"],
                                       recall_at_k(sf, truth)])
            del index
        gc.collect()

    print("\n## Build, memory, latency, recall (single query per call)\n")
    print(table(["n", "type", "build s", "build vs flat", "index MB", "RSS +MB", "p50 ms", "p95 ms",
                 "p99 ms", "p95 speed-up vs flat", "batch qps", "recall@10"], rows))
    if sweep_rows:
        print("\n## Search-time knob sweep\n")
        print(table(["n", "type", "setting", "p50 ms", "p95 ms", "recall@10"], sweep_rows))

    print("\n## Policy check (matcher.index_policy.choose_index_type)\n")
    for n in sizes:
        choice = choose_index_type(n)
        fp = flat_p95.get(n)
        alt = best_p95.get(n)
        note = ""
        if fp is not None and alt is not None:
            note = (f"flat p95 {fp:.2f} ms vs best approximate ({alt[0]}, recall>=0.95) {alt[1]:.2f} ms "
                    f"= {fp / alt[1]:.1f}x")
        print(f"n={n:,}: policy -> {choice}. {note}")
    if flat_p95:
        per_100k = [fp / n * 100_000 for n, fp in flat_p95.items() if n >= 10_000]
        if per_100k:
            print(f"flat search costs ~{np.median(per_100k):.1f} ms per 100k vectors per query "
                  f"(single thread, d={args.dim}); it grows linearly with n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
