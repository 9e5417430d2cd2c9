"""Match latency under mixed load: readers querying matches while other clients
post and edit demands, against the same readers on an idle server (same run).

    python -m bench.bench_mixed --duration 30

Starts ``kejie serve`` on the bundled sample (e5 by default; ``--index-dir``
reuses an embedding cache), then:

1. idle: one client asks ``GET /demands/{id}/matches`` for ``--duration`` s;
2. busy: ``--readers`` clients do the same (what concurrency alone costs);
3. mixed: those readers while one client posts new demands and one edits
   existing ones (each write re-indexes the demand), for the same time.

Prints p50/p95 of the match requests in both phases and the ratio (issue 11's
target: mixed p95 at most 3x idle), plus the write throughput.

``--import-rows 5000`` runs an import phase instead of 2 and 3: the same one
reader while a staff user uploads a generated ``--import-rows``-row demands
XLSX (one row's description 100,000 characters long) through the 导入 page
(``POST /web/imports``, which queues the import as a background job). Prints the
upload's response time (target <= 2 s), the match p50/p95 during the phase
against idle (target <= 2x) and how far the import job got. ``--job-worker
process`` runs the job in a separate ``kejie jobs worker`` (embedded thread by
default).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import git_rev, machine, percentiles, staff_token_when_up, table

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clients(base: str, token: str, duration: float, readers: int, writers: bool,
             demand_ids: list[int]) -> tuple[list[float], int, int]:
    import httpx

    stop = time.perf_counter() + duration
    lat: list[float] = []
    writes = [0]
    errors = [0]
    lock = threading.Lock()
    auth = {"Authorization": f"Bearer {token}"}

    def reader(k: int) -> None:
        with httpx.Client(base_url=base, headers=auth, timeout=120) as c:
            i = k
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                r = c.get(f"/demands/{demand_ids[i % len(demand_ids)]}/matches",
                          params={"kind": "experts", "top_k": 10})
                with lock:
                    (lat.append(time.perf_counter() - t0) if r.status_code == 200 else errors.__setitem__(0, errors[0] + 1))
                i += readers

    def poster() -> None:
        with httpx.Client(base_url=base, headers=auth, timeout=120) as c:
            n = 0
            while time.perf_counter() < stop:
                n += 1
                r = c.post("/demands", json={
                    "enterprise_name": f"压测企业{n}", "city": "福州市", "title": f"压测需求{n}：锂电池正极材料改性",
                    "description": f"第{n}次压测：需要高镍正极材料表面包覆与掺杂改性技术，提升循环寿命。"})
                with lock:
                    writes[0] += r.status_code < 300
                    errors[0] += r.status_code >= 300

    def editor() -> None:
        with httpx.Client(base_url=base, headers=auth, timeout=120) as c:
            n = 0
            while time.perf_counter() < stop:
                n += 1
                did = demand_ids[n % len(demand_ids)]
                r = c.patch(f"/demands/{did}", json={"description": f"修订{n}：需要表面处理与检测方案。"})
                with lock:
                    writes[0] += r.status_code < 300
                    errors[0] += r.status_code >= 300

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(readers)]
    if writers:
        threads += [threading.Thread(target=poster), threading.Thread(target=editor)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, writes[0], errors[0]


def _import_sheet(path: Path, rows: int) -> Path:
    """A ``rows``-row demands XLSX from the generator; one description is 100,000 characters."""
    from openpyxl import Workbook

    from bench.generate import generate_demands

    records = generate_demands(rows, seed=11)
    header = [k for k in records[0] if not k.startswith("_")]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("技术需求")
    ws.append(header)
    for i, rec in enumerate(records):
        values = [rec.get(k, "") for k in header]
        if i == rows // 2:
            col = header.index("具体的技术需求说明") if "具体的技术需求说明" in header else -1
            values[col] = ("需要高镍正极材料表面包覆与掺杂改性技术，提升循环寿命与热稳定性。" * 4000)[:100_000]
        ws.append(values)
    wb.save(path)
    return path


def _import_phase(base: str, token: str, duration: float, ids: list[int], sheet: Path) -> dict[str, object]:
    """One reader for ``duration`` s; one second in, the sheet is uploaded through the page."""
    import re

    import httpx

    out: dict[str, object] = {}

    def upload() -> None:
        time.sleep(1)
        with httpx.Client(base_url=base, timeout=120, headers={"Origin": base}) as web:
            web.post("/login", data={"username": "staff", "password": "staff123"})
            m = re.search(r'name="csrf" value="([^"]+)"', web.get("/web/imports").text)
            t0 = time.perf_counter()
            with sheet.open("rb") as fh:
                r = web.post("/web/imports", data={"csrf": m.group(1) if m else "", "kind": "demands"},
                             files={"file": (sheet.name, fh, "application/octet-stream")}, follow_redirects=False)
            out["upload_s"] = time.perf_counter() - t0
            out["upload_status"] = r.status_code
            out["job"] = r.headers.get("location", "").rsplit("/", 1)[-1]

    up = threading.Thread(target=upload)
    up.start()
    lat, _, errors = _clients(base, token, duration, 1, False, ids)
    up.join()
    out.update(lat=lat, errors=errors)
    if out.get("job"):
        out["state"] = httpx.get(f"{base}/jobs/{out['job']}", headers={"Authorization": f"Bearer {token}"},
                                 timeout=30).json()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=30.0, help="seconds per phase")
    ap.add_argument("--readers", type=int, default=5, help="match-querying clients in the mixed phase")
    ap.add_argument("--index-dir", type=Path, default=None, help="reuse this index dir / embedding cache")
    ap.add_argument("--import-rows", type=int, default=0, help="run the import phase with this many demand rows")
    ap.add_argument("--job-worker", choices=("embedded", "process"), default="embedded",
                    help="where the import job runs: a thread of the web process, or a kejie jobs worker")
    ap.add_argument("--workers", type=int, default=1, help="kejie serve --workers N (server processes)")
    args = ap.parse_args(argv)

    import httpx

    work = Path(tempfile.mkdtemp(prefix="kejie-mixed-"))
    port = _free_port()
    env = {**os.environ, "KEJIE_VAR_DIR": str(work), "KEJIE_DATABASE_URL": ""}
    if args.index_dir:
        env["KEJIE_INDEX_DIR"] = str(args.index_dir.resolve())
    sheet = _import_sheet(work / f"需求{args.import_rows}行.xlsx", args.import_rows) if args.import_rows else None
    if args.job_worker == "process":
        env["KEJIE_JOB_EMBEDDED_WORKER"] = "false"
    log = (work / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-c", "from kejie.cli import main; main()", "serve",
                             "--port", str(port), "--workers", str(args.workers)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    worker = None
    if args.job_worker == "process":
        worker = subprocess.Popen([sys.executable, "-c", "from kejie.cli import main; main()", "jobs", "worker"],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        token = staff_token_when_up(proc, base, log.name)
        ids = [d["id"] for d in httpx.get(base + "/demands", params={"limit": 40},
                                          headers={"Authorization": f"Bearer {token}"}).json()["items"]]
        _clients(base, token, 5, 1, False, ids)  # warm-up: query encodings land in the cache
        idle, _, idle_err = _clients(base, token, args.duration, 1, False, ids)
        if sheet is not None:
            phase = _import_phase(base, token, args.duration, ids, sheet)
        else:
            # the same readers without writers: what concurrency alone costs on this machine
            busy, _, busy_err = _clients(base, token, args.duration, args.readers, False, ids)
            mixed, writes, mixed_err = _clients(base, token, args.duration, args.readers, True, ids)
    finally:
        for p in (worker, proc):
            if p is not None:
                p.terminate()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:  # a job thread still importing: the run is over anyway
                    p.kill()
                    p.wait(30)
        log.close()
    if sheet is not None:
        return _print_import(args, idle, idle_err, phase)
    pi, pb, pm = percentiles(idle), percentiles(busy), percentiles(mixed)
    print(f"# bench_mixed  rev {git_rev()}  server processes: {args.workers}  {machine()}")
    print(table(["phase", "match requests", "p50 ms", "p95 ms", "writes", "errors"], [
        ["idle (1 reader)", len(idle), f"{pi['p50']:.1f}", f"{pi['p95']:.1f}", 0, idle_err],
        [f"{args.readers} readers, no writes", len(busy), f"{pb['p50']:.1f}", f"{pb['p95']:.1f}", 0, busy_err],
        [f"mixed ({args.readers} readers + poster + editor)", len(mixed), f"{pm['p50']:.1f}",
         f"{pm['p95']:.1f}", writes, mixed_err],
    ]))
    print(f"mixed p95 / idle p95 = {pm['p95'] / max(pi['p95'], 1e-9):.2f} (target <= 3); "
          f"mixed p95 / same readers without writes = {pm['p95'] / max(pb['p95'], 1e-9):.2f}")
    return 0


def _print_import(args: argparse.Namespace, idle: list[float], idle_err: int, phase: dict[str, object]) -> int:
    lat = phase["lat"]
    assert isinstance(lat, list)
    pi, pm = percentiles(idle), percentiles(lat)
    state = phase.get("state") or {}
    assert isinstance(state, dict)
    print(f"# bench_mixed --import-rows {args.import_rows}  job worker: {args.job_worker}  rev {git_rev()}  {machine()}")
    print(table(["phase", "match requests", "p50 ms", "p95 ms", "errors"], [
        ["idle (1 reader)", len(idle), f"{pi['p50']:.1f}", f"{pi['p95']:.1f}", idle_err],
        [f"1 reader during a {args.import_rows}-row web import", len(lat), f"{pm['p50']:.1f}", f"{pm['p95']:.1f}",
         phase["errors"]],
    ]))
    print(f"upload response: HTTP {phase.get('upload_status')} in {phase.get('upload_s', float('nan')):.2f} s "
          f"(target <= 2 s); import p95 / idle p95 = {pm['p95'] / max(pi['p95'], 1e-9):.2f} (target <= 2)")
    stages = "; ".join(f"{s['stage']} {s['done']}/{s['total']} {s['seconds']:.1f}s" for s in state.get("stages", []))
    print(f"import job after {args.duration:.0f} s: {state.get('status')} · {state.get('stage')} "
          f"{state.get('done')}/{state.get('total')} (eta {state.get('eta')} s); finished stages: {stages}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
