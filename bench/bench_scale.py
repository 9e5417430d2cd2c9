"""An expert index at platform scale: today's implementation against the new one, same run.

    python -m bench.bench_scale --candidates ../shared/data/experts.csv \\
        --queries ../shared/data/expert_dev_queries.jsonl --n 250000 --baseline-n 100000

Data. ``N`` synthetic experts (~5 items each, d=384) are recombined from the
real dev profiles: each takes the items of one real expert plus random items
of others (4-6 in all) and that expert's attrs, so tokens, BM25 statistics and
item texts are real ones. Vectors come from ``LsaEncoder``: character n-gram
TF-IDF of the real texts reduced to 384 dimensions (no e5: encoding 1.25M texts
would take days), every passage vector perturbed by seeded noise (cosine ~0.94
to its text's vector) and normalised, so no two items share a vector. Queries
are the dev demands (encoded the same way, no noise). The learned expert model
scores them (its encoder check is waived: its weights were fitted on e5
cosines, which does not change the cost).

Each implementation runs in its own processes: one builds the index
(``upsert`` + snapshot + ``save(build_ann=True)``, timed), a fresh one loads it
and is measured: RSS after loading and one warm-up query (VmRSS), the top-10
ranking of one pre-encoded demand with 1 client and with 4 client threads
(p50/p95 over ``--reps`` passes over the demands), requests/s with 4 threads,
and recall@10 of the ranking against exact full scoring of every candidate
(``exhaustive_limit`` raised above N, same process). "today" is the code of
``--baseline-rev`` (``git archive`` into a temporary directory); "new" is this
checkout. When today's implementation cannot be built at N on this machine,
``--baseline-n`` measures it at a smaller size and the new one is measured at
both sizes. The measuring processes use ``--threads`` BLAS/OpenMP threads per
computation (default 1, what ``kejie serve`` sets), both implementations alike.
``--shared N`` then loads the new index (largest N) in N processes at once, as
``kejie serve --workers N`` does, and reports their summed Rss and Pss (the
memory-mapped files count once in Pss), then runs the 4 clients spread over those
processes at once (p50/p95 and requests/s over all of them).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SEED = 11
NOISE = 0.35  # norm of the noise added to each unit passage vector


def _rss_mb(field: str = "VmRSS") -> float:
    with open("/proc/self/status", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


class LsaEncoder:
    """Character n-gram TF-IDF -> 384-d LSA; passages get seeded noise (see the module doc)."""

    name = "bench-lsa-384"

    def __init__(self, texts: list[str], dim: int = 384, seed: int = SEED) -> None:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.dim = dim
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True)
        docs = list(dict.fromkeys(texts))
        x = self.vectorizer.fit_transform(docs)
        self.svd = TruncatedSVD(dim, random_state=seed).fit(x)
        self._memo: dict[str, np.ndarray] = dict(zip(docs, self._project(docs), strict=True))
        self._rng = np.random.default_rng(seed)

    def _project(self, texts: list[str]) -> np.ndarray:
        v = self.svd.transform(self.vectorizer.transform(texts)).astype(np.float32)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)

    def _base(self, text: str) -> np.ndarray:
        v = self._memo.get(text)
        if v is None:
            parts = [p for p in text.split("；") if p]
            known = [self._memo[p] for p in parts if p in self._memo]
            if known and len(known) == len(parts):
                v = np.mean(known, axis=0)
                v = v / max(float(np.linalg.norm(v)), 1e-9)
            else:
                v = self._project([text])[0]
        return v

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return self._project(list(texts))

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        step = 65536
        for s in range(0, len(texts), step):
            chunk = texts[s: s + step]
            base = np.stack([self._base(t) for t in chunk])
            noise = self._rng.standard_normal(base.shape).astype(np.float32)
            noise *= NOISE / np.sqrt(self.dim)
            v = base + noise
            out[s: s + len(chunk)] = v / np.linalg.norm(v, axis=1, keepdims=True)
        return out


def _dev(candidates: Path) -> list[Any]:
    from kejie.records import read_candidates

    return read_candidates(candidates, "expert").candidates


def synthesise(dev: list[Any], n: int, seed: int = SEED) -> list[Any]:
    from matcher.types import Candidate

    rng = np.random.default_rng(seed)
    pool = [it for c in dev for it in c.items]
    bases = rng.integers(0, len(dev), n)
    sizes = rng.integers(4, 7, n)
    extra = rng.integers(0, len(pool), (n, 6))
    out = []
    for i in range(n):
        b = dev[int(bases[i])]
        items = list(b.items[: int(sizes[i])])
        items += [pool[int(j)] for j in extra[i, : max(0, int(sizes[i]) - len(items))]]
        out.append(Candidate(id=f"S{i:07d}", kind="expert", name=f"专家S{i:07d}", items=items,
                             attrs=dict(b.attrs)))
    return out


def _setup(candidates: Path) -> tuple[list[Any], LsaEncoder, Any]:
    from matcher.segment import make_segmenter

    dev = _dev(candidates)
    texts = [it.text for c in dev for it in c.items]
    encoder = LsaEncoder(texts + ["；".join(i.text for i in c.items) for c in dev])
    inner = make_segmenter(mode="search")
    memo: dict[str, list[str]] = {}

    def segment(text: str) -> list[str]:
        got = memo.get(text)
        if got is None:
            got = memo[text] = inner(text)
        return list(got)

    return dev, encoder, segment


def _model() -> Any:
    import dataclasses

    from kejie.match_models import load_model

    m = load_model("expert")
    return dataclasses.replace(m, encoder="") if m is not None else None


def phase_build(args: argparse.Namespace) -> dict[str, Any]:
    from matcher.index import CandidateIndex

    dev, encoder, segment = _setup(args.candidates)
    cands = synthesise(dev, args.n)
    t0 = time.perf_counter()
    idx = CandidateIndex("expert", encoder.name, encoder.dim)
    idx.upsert(cands, encoder, segment)
    t1 = time.perf_counter()
    # as ``kejie index build`` does: the snapshot's character n-grams are built and
    # saved with the index (where the code has them), so a loaded index maps them
    snap = idx.snapshot()
    if hasattr(snap, "warm"):
        snap.warm()
    idx.save(args.dir, build_ann=True)
    t2 = time.perf_counter()
    return {"build_s": t2 - t0, "upsert_s": t1 - t0, "snapshot_save_s": t2 - t1,
            "build_peak_mb": _rss_mb("VmHWM"), "disk_mb": sum(
                f.stat().st_size for f in args.dir.iterdir()) / 2**20}


def _clients(ranker: Any, eqs: list[Any], n: int, reps: int) -> tuple[list[float], float]:
    """``n`` client threads, each ranking every demand ``reps`` times in its own
    order: every ranking's seconds, and the wall time of the whole run."""
    out: list[float] = []
    lock = threading.Lock()

    def client(c: int) -> None:
        mine = []
        for qi in np.random.default_rng(c).permutation(len(eqs) * reps) % len(eqs):
            t = time.perf_counter()
            ranker.rank_encoded(eqs[int(qi)], 10)
            mine.append(time.perf_counter() - t)
        with lock:
            out.extend(mine)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(n) as pool:
        list(pool.map(client, range(n)))
    return out, time.perf_counter() - t0


def phase_measure(args: argparse.Namespace) -> dict[str, Any]:
    from kejie.cli.matching import _read_queries
    from matcher.index import CandidateIndex
    from matcher.ranker import RankConfig, Ranker

    _, encoder, segment = _setup(args.candidates)
    queries = [q for _, q in _read_queries(args.queries, None)]
    model = _model()
    rss_before = _rss_mb()
    t0 = time.perf_counter()
    idx = CandidateIndex.load(args.dir, encoder.name)
    ranker = Ranker(idx, encoder, segment, model=model)
    eqs = [ranker.encode_queries([q]) for q in queries]
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ranker.rank_encoded(eqs[0], 10)  # snapshot, char n-grams, attr table: built once
    first_s = time.perf_counter() - t0
    for eq in eqs:
        ranker.rank_encoded(eq, 10)
    rss_loaded = _rss_mb()
    one: list[float] = []
    for _ in range(args.reps):
        for eq in eqs:
            t = time.perf_counter()
            ranker.rank_encoded(eq, 10)
            one.append(time.perf_counter() - t)
    four, wall = _clients(ranker, eqs, 4, args.reps)
    rss_served = _rss_mb()
    fast = [[m.id for m in ranker.rank_encoded(eq, 10)[0]] for eq in eqs[: args.recall_queries]]
    exact_ranker = Ranker(idx, encoder, segment, model=model,
                          config=RankConfig(exhaustive_limit=10**9))
    exact = [[m.id for m in exact_ranker.rank_encoded(eq, 10)[0]] for eq in eqs[: args.recall_queries]]
    recall = statistics.mean(len(set(f) & set(e)) / max(len(e), 1) for f, e in zip(fast, exact, strict=True))

    def pct(xs: list[float], p: float) -> float:
        return float(np.percentile(np.asarray(xs) * 1000, p))

    return {"n": len(idx), "rss_start_mb": rss_before, "rss_loaded_mb": rss_loaded,
            "rss_served_mb": rss_served, "load_s": load_s, "first_query_s": first_s,
            "p50_1": pct(one, 50), "p95_1": pct(one, 95), "p50_4": pct(four, 50), "p95_4": pct(four, 95),
            "rps_4": len(four) / wall, "recall10": recall, "recall_queries": len(fast)}


def _smaps(pid: int) -> dict[str, float]:
    """Rss and Pss (MB) of a process from /proc/<pid>/smaps_rollup."""
    out: dict[str, float] = {}
    with open(f"/proc/{pid}/smaps_rollup", encoding="utf-8") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss", "Shared_Clean", "Private_Dirty"):
                out[key] = int(rest.split()[0]) / 1024.0
    return out


def phase_hold(args: argparse.Namespace) -> None:
    """Load the index, rank every demand once, say so, and wait to be measured."""
    from kejie.cli.matching import _read_queries
    from matcher.index import CandidateIndex
    from matcher.ranker import Ranker

    _, encoder, segment = _setup(args.candidates)
    queries = [q for _, q in _read_queries(args.queries, None)]
    ranker = Ranker(CandidateIndex.load(args.dir, encoder.name), encoder, segment, model=_model())
    eqs = [ranker.encode_queries([q]) for q in queries]
    for eq in eqs:
        ranker.rank_encoded(eq, 10)
    print("ready", flush=True)
    line = sys.stdin.readline()  # "go K": K client threads rank every demand --reps times
    if line.startswith("go"):
        lat, wall = _clients(ranker, eqs, int(line.split()[1]), args.reps)
        print(json.dumps({"lat": lat, "wall": wall}), flush=True)
    sys.stdin.read()  # until the parent closes it


def measure_shared(args: argparse.Namespace, directory: Path, n_proc: int) -> dict[str, Any]:
    """``n_proc`` processes serving one saved index, as ``kejie serve --workers N``
    does: each maps the same files, so the vectors and record columns are in
    memory once (Pss splits a shared page between the processes mapping it)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", "hold", "--dir", str(directory),
           "--candidates", str(args.candidates.resolve()), "--queries", str(args.queries.resolve())]
    env = dict(os.environ, PYTHONPATH=str(ROOT), **_thread_env(args))
    procs = [subprocess.Popen(cmd, env=env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for _ in range(n_proc)]
    try:
        for p in procs:
            assert p.stdout is not None
            if p.stdout.readline().strip() != "ready":
                raise SystemExit("a serving process failed to start")
        mem = [_smaps(p.pid) for p in procs]
        # then 4 clients spread over the processes, all at once
        for p in procs:
            assert p.stdin is not None
            p.stdin.write(f"go {max(1, 4 // n_proc)}\n")
            p.stdin.flush()
        runs = [json.loads(p.stdout.readline()) for p in procs]  # type: ignore[union-attr]
    finally:
        for p in procs:
            if p.stdin is not None:
                p.stdin.close()
            p.wait(timeout=60)
    lat = np.asarray([x for r in runs for x in r["lat"]]) * 1000
    return {"processes": n_proc, "p50_4": float(np.percentile(lat, 50)), "p95_4": float(np.percentile(lat, 95)),
            "rps_4": len(lat) / max(r["wall"] for r in runs), "rss_each_mb": [round(m["Rss"]) for m in mem],
            "pss_each_mb": [round(m["Pss"]) for m in mem],
            "rss_sum_mb": round(sum(m["Rss"] for m in mem)), "pss_sum_mb": round(sum(m["Pss"] for m in mem))}


def _thread_env(args: argparse.Namespace) -> dict[str, str]:
    """BLAS/OpenMP threads per computation in the measured processes (as ``kejie serve``
    sets them, ``serve_threads``); 0 leaves the libraries' default (all cores)."""
    if not args.threads:
        return {}
    return {v: str(args.threads) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def _run(tree: Path, phase: str, args: argparse.Namespace, n: int, directory: Path) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(tree), **(_thread_env(args) if phase == "measure" else {}))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", phase, "--dir", str(directory),
           "--n", str(n), "--candidates", str(args.candidates.resolve()),
           "--queries", str(args.queries.resolve()), "--reps", str(args.reps),
           "--recall-queries", str(args.recall_queries)]
    out = subprocess.run(cmd, env=env, cwd=tree, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{phase} in {tree} failed:\n{out.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"  {tree.name} {phase} n={n:,}: {json.dumps(result)}", flush=True)
    return result


ROWS = [("build (upsert + snapshot + save), s", "build_s"), ("build peak RSS, MB", "build_peak_mb"),
        ("files on disk, MB", "disk_mb"), ("load, s", "load_s"), ("first query, s", "first_query_s"),
        ("RSS loaded + warm, MB", "rss_loaded_mb"), ("RSS after the 4-client run, MB", "rss_served_mb"),
        ("p50 1 client, ms", "p50_1"), ("p95 1 client, ms", "p95_1"), ("p50 4 clients, ms", "p50_4"),
        ("p95 4 clients, ms", "p95_4"), ("requests/s, 4 clients", "rps_4"), ("recall@10 vs exact", "recall10"),
        ("--shared N processes: Rss summed, MB", "shared_rss_sum_mb"),
        ("--shared N processes: Pss summed, MB", "shared_pss_sum_mb"),
        ("--shared N processes, 4 clients over them: p50 ms", "shared_p50_4"),
        ("--shared N processes, 4 clients over them: p95 ms", "shared_p95_4"),
        ("--shared N processes, 4 clients over them: requests/s", "shared_rps_4")]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidates", type=Path, default=Path("../shared/data/experts.csv"))
    ap.add_argument("--queries", type=Path, default=Path("../shared/data/expert_dev_queries.jsonl"))
    ap.add_argument("--n", type=int, default=250_000)
    ap.add_argument("--baseline-n", type=int, default=0, help="size for today's implementation (default: --n)")
    ap.add_argument("--baseline-rev", default="14477da", help="git revision of today's implementation")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--skip-new", action="store_true", help="measure today's implementation only")
    ap.add_argument("--reps", type=int, default=3, help="passes over the demands per client")
    ap.add_argument("--recall-queries", type=int, default=45)
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS/OpenMP threads per computation when measuring, both implementations "
                         "(kejie serve's serve_threads, default 1); 0 = the libraries' default")
    ap.add_argument("--shared", type=int, default=0,
                    help="also load the new index in this many processes at once and report their Rss/Pss")
    ap.add_argument("--keep", type=Path, default=None, help="keep the new index (largest N) in this folder")
    ap.add_argument("--phase", choices=["build", "measure", "hold"], help=argparse.SUPPRESS)
    ap.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.phase == "hold":
        phase_hold(args)
        return 0
    if args.phase:
        fn = phase_build if args.phase == "build" else phase_measure
        print(json.dumps(fn(args)))
        return 0

    from bench.common import machine, table

    print(f"# bench_scale  {machine()}  threads per computation: {args.threads or 'default'}", flush=True)
    base_n = args.baseline_n or args.n
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as tmp:
        work = Path(tmp)
        results: dict[str, dict[str, Any]] = {}
        if not args.skip_baseline:
            base_tree = work / "today"
            base_tree.mkdir()
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline_rev],
                                     capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(base_tree)], input=archive, check=True)
            d = work / "idx_today"
            results[f"today {base_n:,}"] = {**_run(base_tree, "build", args, base_n, d),
                                            **_run(base_tree, "measure", args, base_n, d)}
            subprocess.run(["rm", "-rf", str(d)], check=True)
        sizes = [args.n, base_n] if base_n != args.n and not args.skip_baseline else [args.n]
        if args.skip_new:
            sizes = []
        for n in sizes:
            d = work / f"idx_new_{n}"
            results[f"new {n:,}"] = {**_run(ROOT, "build", args, n, d), **_run(ROOT, "measure", args, n, d)}
            if args.shared and n == args.n:
                shared = measure_shared(args, d, args.shared)
                print(f"  new {n:,} in {args.shared} processes: {json.dumps(shared)}", flush=True)
                results[f"new {n:,}"].update({"shared_rss_sum_mb": shared["rss_sum_mb"],
                                              "shared_pss_sum_mb": shared["pss_sum_mb"],
                                              "shared_p50_4": shared["p50_4"], "shared_p95_4": shared["p95_4"],
                                              "shared_rps_4": shared["rps_4"]})
            if args.keep and n == args.n:
                subprocess.run(["rm", "-rf", str(args.keep)], check=True)
                subprocess.run(["mv", str(d), str(args.keep)], check=True)
            subprocess.run(["rm", "-rf", str(d)], check=True)
    cols = list(results)
    rows = [[label, *(results[c].get(key, float("nan")) for c in cols)] for label, key in ROWS]
    same = f"new {base_n:,}"
    if len(cols) >= 2 and not args.skip_baseline and same in results:
        for r, (_, key) in zip(rows, ROWS, strict=True):
            a, b = results[same].get(key), results[cols[0]].get(key)
            r.append(f"{a / b:.2f}x" if a and b else "-")
        cols.append(f"new/today at {base_n:,}")
    print(table(["", *cols], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
