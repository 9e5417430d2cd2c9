"""Queries in one process while another process writes to the same index.

    python -m bench.bench_scale --phase build --dir /tmp/k250 --n 250000   # once
    python -m bench.bench_reload --dir /tmp/k250 [--baseline-tree /tmp/wt_old]

As under ``kejie serve --workers 2``: a reading process (a ``MatchService`` on
a copy of the saved index, one client thread asking for a demand's top 10
again and again, each through ``MatchService.ranker`` as a request does) and a
writing process (every ``--every`` seconds, an expert renamed, re-indexed and
saved under the folder lock, then its own next snapshot built, as
``MatchService.refresh`` does). Reports the
reader's latency before the writes and while they happen (p50, p95, max), and
for each write how long until a query answered from it: after the write
began, and after its save ended (a reading process that reloads while the
query waits counts from the query's end). ``--baseline-tree`` runs the same reader
from another revision's tree (``git archive REV | tar -x -C DIR``) in the same
run, alternating with this one. ``--edited N``: before the reader starts, the
writer edits N experts in one write, as if N writes had happened since the
character n-grams were last fitted (each reload then had to transform them).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import git_rev, machine, table

ROOT = Path(__file__).resolve().parent.parent
EXPERT_ROW = 1000  # the renamed expert


def _reader(args: argparse.Namespace) -> None:
    """Serve queries, print one JSON line of every query's (start, seconds, seen write)."""
    from bench.bench_scale import _model, _setup
    from kejie.cli.matching import _read_queries
    from kejie.match_service import MatchService
    from kejie.settings import Settings

    logging.basicConfig(level=logging.INFO, format="reader %(asctime)s %(message)s", stream=sys.stderr)
    _, encoder, segment = _setup(args.candidates)
    svc = MatchService(Settings(var_dir=args.var), encoder=encoder, segment=segment)
    svc.model = lambda kind: _model()  # type: ignore[method-assign]  # the shipped model, no encoder check
    queries = [q for _, q in _read_queries(args.queries, None)]
    ranker = svc.ranker("expert")
    eqs = [ranker.encode_queries([q]) for q in queries]
    for eq in eqs:
        ranker.rank_encoded(eq, 10)
    expert = ranker.index.ids()[EXPERT_ROW]
    print("ready", flush=True)
    stop = time.time() + args.seconds
    out: list[tuple[float, float, str]] = []
    i = 0
    while time.time() < stop:
        t = time.time()
        r = svc.ranker("expert")
        snap = r.index.snapshot()
        r.rank_encoded(eqs[i % len(eqs)], 10)
        out.append((t, time.time() - t, snap.store.names[snap.row_of[expert]]))
        i += 1
    print(json.dumps(out, ensure_ascii=False), flush=True)


def _writer(args: argparse.Namespace) -> None:
    """Every ``--every`` s rename one expert, re-index and save; print each write's times."""
    import dataclasses

    from bench.bench_scale import _setup
    from kejie.index_files import folder_lock
    from matcher.index import CandidateIndex

    _, encoder, segment = _setup(args.candidates)
    directory = args.index
    idx = CandidateIndex.load(directory, encoder.name)
    idx.snapshot().warm()
    expert = idx.ids()[EXPERT_ROW]
    if args.edited:  # writes since the last full fit of the character n-grams (saved without them)
        ids = idx.ids()[EXPERT_ROW + 1: EXPERT_ROW + 1 + args.edited]
        idx.upsert([dataclasses.replace(c, name=f"{c.name}（已修改）") for c in map(idx.get, ids)], encoder, segment)
        idx.snapshot()
        idx.save(directory)
    print("ready", flush=True)
    sys.stdin.readline()  # "go"
    go = time.time()
    for k in range(args.writes):
        time.sleep(max(0.0, go + k * args.every - time.time()))  # a write every ``--every`` s
        began = time.time()
        with folder_lock(directory):  # as MatchService.refresh: saved, then its own next snapshot
            old = idx.get(expert)
            idx.upsert([dataclasses.replace(old, name=f"bench-reload-{k}-{began:.0f}")], encoder, segment)
            idx.save(directory)
        saved = time.time()
        idx.snapshot()
        print(json.dumps({"name": idx.get(expert).name, "began": began, "saved": saved},
                         ensure_ascii=False), flush=True)


def _run(tree: Path, source: Path, args: argparse.Namespace) -> dict[str, Any]:
    from kejie.match_service import _slug

    with tempfile.TemporaryDirectory(prefix="bench_reload_") as tmp:
        var = Path(tmp) / "var"
        index = var / "index" / _slug(_encoder_name(args)) / "expert"
        shutil.copytree(source, index)
        common = ["--candidates", str(args.candidates.resolve()), "--queries", str(args.queries.resolve())]
        threads = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
        seconds = args.idle + args.writes * args.every + args.tail
        writer = subprocess.Popen(
            [sys.executable, "-m", "bench.bench_reload", "--phase", "writer", "--index", str(index),
             "--writes", str(args.writes), "--every", str(args.every), "--edited", str(args.edited), *common],
            cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT), **threads),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert writer.stdout is not None and writer.stdin is not None
        if writer.stdout.readline().strip() != "ready":  # the reader reads the writer's first save
            raise SystemExit("the writer failed to start")
        reader = subprocess.Popen(
            # by its path: another revision's tree may have no bench_reload, its modules come first
            [sys.executable, str(Path(__file__).resolve()), "--phase", "reader", "--var", str(var),
             "--seconds", str(seconds), *common],
            cwd=tree, env=dict(os.environ, PYTHONPATH=str(tree), **threads),
            stdout=subprocess.PIPE, text=True)
        assert reader.stdout is not None
        if reader.stdout.readline().strip() != "ready":
            raise SystemExit("the reader failed to start")
        start = time.time()
        threading.Timer(args.idle, lambda: (writer.stdin.write("go\n"), writer.stdin.flush())).start()
        writes = [json.loads(writer.stdout.readline()) for _ in range(args.writes)]
        queries = json.loads(reader.stdout.readline())
        writer.stdin.close()
        writer.wait(60)
        reader.wait(60)
    first_write = min(w["began"] for w in writes)
    idle = [s for t, s, _ in queries if start <= t < first_write]
    busy = [s for t, s, _ in queries if t >= first_write]
    seen: list[float] = []
    after_save: list[float] = []
    for w in writes:
        when = [t + s for t, s, name in queries if name == w["name"]]  # answered with it
        if when:
            seen.append(min(when) - w["began"])
            after_save.append(min(when) - w["saved"])
        print(f"    write began {w['began'] - start:6.2f} s, saved {w['saved'] - start:6.2f} s, first answered from "
              + (f"{min(when) - start:6.2f} s" if when else "never (a later write's reload came first)"),
              flush=True)

    def ms(xs: list[float], p: float | str) -> float:
        a = np.asarray(xs) * 1000
        return float(a.max()) if p == "max" else float(np.percentile(a, p))

    return {"idle_n": len(idle), "idle_p50": ms(idle, 50), "idle_p95": ms(idle, 95), "idle_max": ms(idle, "max"),
            "busy_n": len(busy), "busy_p50": ms(busy, 50), "busy_p95": ms(busy, 95), "busy_max": ms(busy, "max"),
            "write_s": float(np.mean([w["saved"] - w["began"] for w in writes])),
            "seen_after_write_s": float(np.median(seen)) if seen else float("nan"),
            "seen_after_save_s": float(np.median(after_save)) if after_save else float("nan"),
            "writes_seen": f"{len(seen)}/{len(writes)}"}


def _encoder_name(args: argparse.Namespace) -> str:
    meta = json.loads((args.dir / "meta.json").read_text(encoding="utf-8"))
    return str(meta["encoder"])


ROWS = [("queries before the writes", "idle_n"), ("p50 before, ms", "idle_p50"), ("p95 before, ms", "idle_p95"),
        ("max before, ms", "idle_max"), ("queries during the writes", "busy_n"), ("p50 during, ms", "busy_p50"),
        ("p95 during, ms", "busy_p95"), ("max during, ms", "busy_max"),
        ("a write (upsert, save), s", "write_s"),
        ("seen by the reader after the write began, s (median)", "seen_after_write_s"),
        ("... after its save ended, s (median)", "seen_after_save_s"), ("writes seen", "writes_seen")]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, help="an index saved by bench_scale --phase build")
    ap.add_argument("--baseline-tree", type=Path, default=None)
    ap.add_argument("--candidates", type=Path, default=Path("../shared/data/experts.csv"))
    ap.add_argument("--queries", type=Path, default=Path("../shared/data/expert_dev_queries.jsonl"))
    ap.add_argument("--writes", type=int, default=8)
    ap.add_argument("--every", type=float, default=4.0, help="seconds between writes")
    ap.add_argument("--idle", type=float, default=15.0, help="seconds of queries before the first write")
    ap.add_argument("--tail", type=float, default=6.0, help="seconds of queries after the last write")
    ap.add_argument("--rounds", type=int, default=1, help="alternations of baseline and this tree")
    ap.add_argument("--edited", type=int, default=0,
                    help="experts the writer edits (one write) before the reader starts")
    ap.add_argument("--phase", choices=["reader", "writer"], help=argparse.SUPPRESS)
    ap.add_argument("--var", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--index", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.phase == "reader":
        _reader(args)
        return 0
    if args.phase == "writer":
        _writer(args)
        return 0
    if args.dir is None:
        ap.error("--dir is required")
    print(f"# bench_reload  rev {git_rev()}  {machine()}", flush=True)
    results: dict[str, dict[str, Any]] = {}
    for r in range(args.rounds):
        trees = ([("baseline", args.baseline_tree)] if args.baseline_tree else []) + [("this tree", ROOT)]
        for label, tree in trees:
            key = f"{label} #{r + 1}" if args.rounds > 1 else label
            results[key] = _run(tree, args.dir, args)
            print(f"  {key}: {json.dumps(results[key])}", flush=True)
    cols = list(results)
    print(table(["", *cols], [[label, *(results[c][k] for c in cols)] for label, k in ROWS]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
