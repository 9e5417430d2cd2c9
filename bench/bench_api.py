"""API latency of ``GET /demands/{id}/matches`` at 10k/100k/250k expert candidates.

Per size: generate experts + demands (bench.generate), import them with
``ingest.import_file`` into a SQLite file, build the match index with the
static encoder (``MatchService.sync``), then

1. in-process breakdown (no HTTP): query encoding (static, and e5 on a few
   texts), ranking from a precomputed query vector, and the whole
   ``MatchService.match_demand`` with the query vector cached;
2. start uvicorn on 127.0.0.1 (free port) and measure over HTTP:
   * cold: each demand once, one at a time (includes encoding its query),
   * warm, sequential, and warm under ``--concurrency`` client threads
     (query vectors cached: latency excluding query encoding),
   bounded by ``--requests`` and ``--duration``.

The work directory (DB, embedding cache, index) is kept under
``--workdir`` and reused by later runs with the same size/seed/model
(``--fresh`` rebuilds). Target: warm p95 < 50 ms at 100k candidates.

    python bench/bench_api.py --model var/encoders/static                 # 10k
    python bench/bench_api.py --model var/encoders/static --sizes 100k,250k
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine, parse_sizes, percentiles, ratio, rss_mb, table  # noqa: E402

TARGET_P95_MS = 50.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings_for(workdir: Path, model: Path):  # type: ignore[no-untyped-def]
    from kejie.settings import Settings

    return Settings(var_dir=workdir, database_url="", encoder="static", encoder_model=str(model.resolve()),
                    index_dir=None)


def setup(workdir: Path, n: int, demands: int, seed: int, model: Path) -> dict[str, float]:
    """DB + index for ``n`` experts; returns timings. Skipped if already built."""
    from bench.generate import generate_files
    from ingest import import_file
    from kejie.wiring import match_service
    from models.db import create_db_engine, make_session_factory, upgrade_database

    done = workdir / "setup.done"
    if done.exists():
        return {}
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    files = generate_files(workdir / "data", demands=demands, experts=n, societies=30, seed=seed)
    timings["generate s"] = time.perf_counter() - t0
    settings = settings_for(workdir, model)
    url = settings.resolved_database_url
    engine = create_db_engine(url)
    upgrade_database(url, engine=engine)
    factory = make_session_factory(engine)
    t0 = time.perf_counter()
    with factory() as session:
        for kind in ("societies", "demands", "experts"):
            report = import_file(session, files[kind], kind, "bench")
            if report.rejected:
                raise SystemExit(f"{kind}: {report.rejected} rows rejected: {report.rejects[:2]}")
    timings["import s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    svc = match_service(settings)
    with factory() as session:
        svc.sync(session)
        timings["index sync s"] = time.perf_counter() - t0
        # build the FAISS structures now (HNSW above the auto threshold) and save them,
        # so the server does not build them inside its first request
        t0 = time.perf_counter()
        demand_ids = [int(i) for i in svc.index("demand").ids()[:1]]
        if demand_ids:
            svc.match_demand(session, demand_ids[0], "expert", top_k=10)
        for kind in ("expert", "society", "demand"):
            svc.index(kind).save(svc.index_dir(kind))
        timings["faiss build s"] = time.perf_counter() - t0
    engine.dispose()
    done.write_text("ok", encoding="utf-8")
    return timings


def breakdown(workdir: Path, model: Path, demand_ids: list[int], e5_texts: int) -> dict[str, dict[str, float]]:
    """In-process timings (ms percentiles) of the parts of one match request."""
    from kejie.wiring import match_service
    from matcher import profiles
    from matcher.encoders.static import StaticEncoder
    from models import Demand
    from models.db import create_db_engine, make_session_factory

    settings = settings_for(workdir, model)
    engine = create_db_engine(settings.resolved_database_url)
    factory = make_session_factory(engine)
    svc = match_service(settings)
    out: dict[str, dict[str, float]] = {}
    with factory() as session:
        svc.sync(session)  # loads from disk; nothing to encode
        texts = []
        for did in demand_ids:
            d = session.get(Demand, did)
            assert d is not None
            ent = d.enterprise
            texts.append(profiles.demand_query_text(d.title, d.description, ent.main_business if ent else "",
                                                    d.keywords or []))
        static = StaticEncoder(model)
        static.encode_queries(texts[:2])
        times = []
        for t in texts:
            t0 = time.perf_counter()
            static.encode_queries([t])
            times.append(time.perf_counter() - t0)
        out["query encoding, static"] = percentiles(times)
        if e5_texts:
            from matcher.encoders.e5 import E5Encoder

            e5 = E5Encoder()
            e5.encode_queries(texts[:1])
            times = []
            for t in texts[:e5_texts]:
                t0 = time.perf_counter()
                e5.encode_queries([t])
                times.append(time.perf_counter() - t0)
            out["query encoding, e5"] = percentiles(times)
        ranker = svc.ranker("expert")
        vecs = static.encode_queries(texts)
        tokens = [svc.segment(t) for t in texts]
        ranker.rank_encoded(vecs[:1], tokens[:1], 10)
        times = []
        for i in range(len(texts)):
            t0 = time.perf_counter()
            ranker.rank_encoded(vecs[i : i + 1], tokens[i : i + 1], 10)
            times.append(time.perf_counter() - t0)
        out["rank (vector given)"] = percentiles(times)
        idx = svc.index("expert")
        idx.search_shortlist(vecs[:1], ranker.config.shortlist)  # builds FAISS if not loaded
        times = []
        for i in range(len(texts)):
            t0 = time.perf_counter()
            idx.search_shortlist(vecs[i : i + 1], ranker.config.shortlist)
            times.append(time.perf_counter() - t0)
        out["  of which FAISS shortlist"] = percentiles(times)
        snap = idx.snapshot()
        times = []
        for i in range(len(texts)):
            t0 = time.perf_counter()
            ranker.lexical_scores(snap, tokens[i : i + 1])
            times.append(time.perf_counter() - t0)
        out["  of which BM25 over all"] = percentiles(times)
        for did in demand_ids:  # fills the query-vector cache the server shares
            svc.match_demand(session, did, "expert", top_k=10)
        times = []
        for did in demand_ids:
            t0 = time.perf_counter()
            svc.match_demand(session, did, "expert", top_k=10)
            times.append(time.perf_counter() - t0)
        out["MatchService.match_demand (cached query)"] = percentiles(times)
    engine.dispose()
    return out


def demand_ids(workdir: Path, model: Path) -> list[int]:
    from sqlalchemy import select

    from models import Demand
    from models.db import create_db_engine, make_session_factory

    engine = create_db_engine(settings_for(workdir, model).resolved_database_url)
    with make_session_factory(engine)() as session:
        ids = list(session.scalars(select(Demand.id).order_by(Demand.id)))
    engine.dispose()
    return ids


class Server:
    def __init__(self, workdir: Path, model: Path, port: int) -> None:
        env = dict(os.environ)
        env.update({
            "KEJIE_VAR_DIR": str(workdir.resolve()), "KEJIE_DATABASE_URL": "", "KEJIE_ENCODER": "static",
            "KEJIE_ENCODER_MODEL": str(model.resolve()),
        })
        env.pop("KEJIE_INDEX_DIR", None)
        self.log = (workdir / "server.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "warning", "--no-access-log"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.base = f"http://127.0.0.1:{port}"

    def wait(self, timeout: float) -> float:
        import httpx

        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log.name}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return time.perf_counter() - t0
            time.sleep(0.5)
        raise RuntimeError(f"server not up after {timeout:.0f}s; see {self.log.name}")

    def rss_mb(self) -> float:
        try:
            with open(f"/proc/{self.proc.pid}/status", encoding="utf-8") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024.0
        except OSError:
            pass
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def login(base: str) -> str:
    import httpx

    from kejie.settings import Settings

    s = Settings()
    r = httpx.post(base + "/auth/token", data={"username": s.staff_username, "password": s.staff_password},
                   timeout=30)
    r.raise_for_status()
    return str(r.json()["access_token"])


def load(base: str, token: str, ids: list[int], requests: int, concurrency: int,
         duration: float) -> tuple[list[float], int, float]:
    """``concurrency`` threads issue up to ``requests`` GETs (cycling over ``ids``)
    until done or ``duration`` seconds pass. Returns latencies, errors, wall time."""
    import httpx

    lock = threading.Lock()
    counter = iter(range(requests))
    latencies: list[float] = []
    errors = [0]
    deadline = time.perf_counter() + duration

    def worker() -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
            while time.perf_counter() < deadline:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                t0 = time.perf_counter()
                r = client.get(f"/demands/{ids[i % len(ids)]}/matches", params={"kind": "experts", "top_k": 10})
                dt = time.perf_counter() - t0
                with lock:
                    if r.status_code == 200 and r.json().get("items"):
                        latencies.append(dt)
                    else:
                        errors[0] += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0], time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10k", help="expert candidates, e.g. 10k,100k,250k")
    ap.add_argument("--model", type=Path, default=Path("var/encoders/static"))
    ap.add_argument("--demands", type=int, default=200, help="demands in the DB")
    ap.add_argument("--cold", type=int, default=40, help="demands requested cold (query not cached)")
    ap.add_argument("--requests", type=int, default=400, help="max requests in each warm phase")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--duration", type=float, default=60.0, help="max seconds per warm phase")
    ap.add_argument("--e5", type=int, default=5, help="texts for the e5 query-encoding figure (0 = skip)")
    ap.add_argument("--workdir", type=Path, default=Path("var/bench/api"))
    ap.add_argument("--fresh", action="store_true", help="rebuild DB and index even if present")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if not (args.model / "kejie_static.json").exists():
        print(f"no static model at {args.model}: run `kejie encoder distill --out {args.model}` first")
        return 2
    from matcher.encoders.static import _fingerprint

    print(f"# bench_api — {machine()}")
    print(f"model {args.model} ({_fingerprint(args.model)}); {args.demands} demands; warm phases: "
          f"<= {args.requests} requests, <= {args.duration:.0f}s; concurrency {args.concurrency}\n")
    summary: list[list[object]] = []
    for n in parse_sizes(args.sizes):
        workdir = args.workdir / f"experts{n}-seed{args.seed}-{_fingerprint(args.model)}"
        if args.fresh and workdir.exists():
            shutil.rmtree(workdir)
        print(f"== {n:,} expert candidates ({workdir})", flush=True)
        timings = setup(workdir, n, args.demands, args.seed, args.model)
        if timings:
            print("  setup: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()), flush=True)
        else:
            print("  setup: reused", flush=True)
        ids = demand_ids(workdir, args.model)
        cold_ids, warm_ids = ids[: args.cold], ids[args.cold : args.cold + 60]
        parts = breakdown(workdir, args.model, warm_ids, args.e5)
        gc.collect()
        print(table(["in-process part (ms)", "p50", "p95", "p99"],
                    [[k, v["p50"], v["p95"], v["p99"]] for k, v in parts.items()]), flush=True)

        server = Server(workdir, args.model, free_port())
        try:
            startup = server.wait(timeout=1800)
            token = login(server.base)
            cold, cold_err, _ = load(server.base, token, cold_ids, len(cold_ids), 1, 3600)
            seq, seq_err, seq_wall = load(server.base, token, warm_ids, args.requests, 1, args.duration)
            conc, conc_err, conc_wall = load(server.base, token, warm_ids, args.requests, args.concurrency,
                                             args.duration)
            server_rss = server.rss_mb()
        finally:
            server.stop()
        c, s, k = percentiles(cold), percentiles(seq), percentiles(conc)
        rows = [
            ["cold (query encoded in request), 1 client", len(cold), cold_err, c["p50"], c["p95"], c["p99"], "-"],
            ["warm (query cached), 1 client", len(seq), seq_err, s["p50"], s["p95"], s["p99"],
             f"{len(seq) / seq_wall:.1f}"],
            [f"warm, {args.concurrency} clients", len(conc), conc_err, k["p50"], k["p95"], k["p99"],
             f"{len(conc) / conc_wall:.1f}"],
        ]
        print(f"  server start-up {startup:.1f}s (loads the index), RSS {server_rss:.0f} MB; "
              f"bench process RSS {rss_mb():.0f} MB")
        print(table(["HTTP GET /demands/{id}/matches (ms)", "requests", "errors", "p50", "p95", "p99", "req/s"],
                    rows))
        rank_p50 = parts["rank (vector given)"]["p50"]
        print(f"  HTTP warm p50 vs in-process ranking p50: {ratio(s['p50'], rank_p50)}; "
              f"{args.concurrency} clients vs 1 client p95: {ratio(k['p95'], s['p95'])}")
        verdict = "met" if k["p95"] < TARGET_P95_MS else f"MISSED by {k['p95'] - TARGET_P95_MS:.0f} ms " \
                  f"({k['p95'] / TARGET_P95_MS:.1f}x the target)"
        print(f"  target p95 < {TARGET_P95_MS:.0f} ms excluding query encoding, under load: {verdict}\n",
              flush=True)
        summary.append([f"{n:,}", c["p95"], s["p50"], s["p95"], k["p50"], k["p95"], k["p99"],
                        parts["query encoding, static"]["p50"],
                        parts.get("query encoding, e5", {}).get("p50", float("nan")), server_rss])
    print("## Summary (ms)\n")
    print(table(["experts", "cold p95", "warm p50", "warm p95", f"{args.concurrency}-client p50",
                 f"{args.concurrency}-client p95", f"{args.concurrency}-client p99", "encode static p50",
                 "encode e5 p50", "server RSS MB"], summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
