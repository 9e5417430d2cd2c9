"""Encoding shards: one backlog encoded by one and by two ``kejie jobs worker``
processes on the SQLite job queue (same run), each worker with one encoder thread.

    python -m bench.bench_shards --texts 4000

The texts are distinct expert profile items (研究方向、主要成果) of the synthetic
generator. For each worker count: a fresh queue and embedding cache, the workers
started and warmed (each has loaded its encoder), then the backlog is cut into
shards (``--shard`` texts each, :mod:`kejie.shards`) and timed until every shard
is done; afterwards the cache must hold every text. Prints the times, the texts
each worker encoded and the speed-up.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import git_rev, machine, table

ROOT = Path(__file__).resolve().parent.parent


def backlog(n: int) -> list[str]:
    from bench.generate import generate_experts

    out: dict[str, None] = {}
    seed = 0
    while len(out) < n:
        for row in generate_experts(2000, seed=seed):
            for field in ("研究方向", "主要成果"):
                for item in row.get(field, "").replace("；", ";").split(";"):
                    if item.strip():
                        out.setdefault(item.strip(), None)
        seed += 1
    return list(out)[:n]


def run(texts: list[str], workers: int, work: Path, encoder: str, shard: int) -> dict[str, object]:
    from kejie import job_tasks, shards
    from kejie.settings import Settings
    from matcher.cache import CachedEncoder, EmbeddingCache
    from matcher.encoders import load_encoder

    var = work / f"workers-{workers}"
    env = {**os.environ, "KEJIE_VAR_DIR": str(var), "KEJIE_DATABASE_URL": f"sqlite:///{var / 'kejie.db'}",
           "KEJIE_ENCODER": encoder, "KEJIE_ENCODER_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "KEJIE_JOB_QUEUE": ""}
    settings = Settings(var_dir=var, encoder=encoder, encoder_threads=1, job_queue="", job_shard_size=shard)
    h = job_tasks.task_queue(settings)
    var.mkdir(parents=True, exist_ok=True)
    logs = [(var / f"worker-{i}.log").open("w") for i in range(workers)]
    procs = [subprocess.Popen([sys.executable, "-c", "from kejie.cli import main; main()", "jobs", "worker"],
                              cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT) for log in logs]
    try:
        # warm-up: small shards until every worker has encoded one (its encoder is loaded)
        warmed: dict[str, int] = {}
        for attempt in range(20):
            batch, count = shards.cut(h, [f"预热{attempt}-{i}" for i in range(4 * workers)], 1)
            for name, n in shards.wait(h, None, batch, count).items():
                warmed[name.rsplit(":", 1)[0]] = warmed.get(name.rsplit(":", 1)[0], 0) + n
            if len(warmed) >= workers:
                break
        t0 = time.perf_counter()
        batch, count = shards.cut(h, texts, shard)
        by_worker = shards.wait(h, None, batch, count)
        seconds = time.perf_counter() - t0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
        for log in logs:
            log.close()
    cache = EmbeddingCache(Path(settings.resolved_index_dir) / "embeddings.sqlite")
    missing = CachedEncoder(load_encoder(settings), cache).missing(texts, "passage")
    return {"workers": workers, "warmed": len(warmed), "seconds": seconds, "shards": count,
            "split": sorted(by_worker.values(), reverse=True), "missing": missing}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=4000, help="backlog size")
    ap.add_argument("--shard", type=int, default=200, help="texts per shard")
    ap.add_argument("--encoder", default="e5", help="KEJIE_ENCODER of the workers (e5 is bundled)")
    args = ap.parse_args(argv)
    texts = backlog(args.texts)
    chars = sum(map(len, texts)) / len(texts)
    work = Path(tempfile.mkdtemp(prefix="kejie-shards-"))
    rows, results = [], []
    for workers in (1, 2):
        r = run(texts, workers, work, args.encoder, args.shard)
        results.append(r)
        rows.append([r["workers"], len(texts), r["shards"], f"{r['seconds']:.1f}",
                     f"{len(texts) / r['seconds']:.0f}", " + ".join(map(str, r["split"])), r["missing"]])
    print(f"# bench_shards  rev {git_rev()}  {machine()}  encoder {args.encoder}, {chars:.0f} chars/text")
    print(table(["workers", "texts", "shards", "seconds", "texts/s", "texts per worker", "missing after"], rows))
    print(f"speed-up with two workers: {results[0]['seconds'] / results[1]['seconds']:.2f}x")  # type: ignore[operator]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
