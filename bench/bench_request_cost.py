"""Server CPU per match request: an older revision against this checkout, same run.

    python -m bench.bench_request_cost --baseline-rev 88ea640 --plain-loop-baseline

Starts ``kejie serve`` twice on the bundled sample (e5; ``--index-dir`` shares
one embedding cache): the code of ``--baseline-rev`` (``git archive`` into a
temporary directory) and this checkout, each on its own port with its own
database. One client then asks ``GET /demands/{id}/matches`` of both in turn,
``--requests`` times each (which one goes first alternates), so a machine that
slows down or speeds up meanwhile does so for both. Reported per server: CPU
seconds its process used (user + system, from ``/proc``) per request, and the
latency p50/p95 the client saw. On these shared 2-core machines two separate
runs of the same code differ by up to 40 % in CPU per request; interleaved, the
two servers move together.

``--plain-loop-baseline`` serves the baseline on asyncio's own loop and
uvicorn's h11 parser, as it ran before uvloop and httptools became
dependencies (uvicorn picks them whenever they are installed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_mixed import _free_port
from bench.common import git_rev, machine, percentiles, staff_token_when_up, table

ROOT = Path(__file__).resolve().parent.parent
SERVE = "from kejie.cli import main; main()"
PLAIN_LOOP = (
    "import uvicorn\n"
    "_init = uvicorn.Config.__init__\n"
    "def _plain(self, *a, **k):\n"
    "    k.setdefault('loop', 'asyncio'); k.setdefault('http', 'h11'); _init(self, *a, **k)\n"
    "uvicorn.Config.__init__ = _plain\n"
)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start(tree: Path, work: Path, index_dir: Path | None, plain_loop: bool) -> tuple[subprocess.Popen[bytes], str]:
    work.mkdir(parents=True)
    port = _free_port()
    env = {**os.environ, "KEJIE_VAR_DIR": str(work), "KEJIE_DATABASE_URL": ""}
    if index_dir is not None:
        env["KEJIE_INDEX_DIR"] = str(index_dir.resolve())
    code = (PLAIN_LOOP if plain_loop else "") + SERVE
    proc = subprocess.Popen([sys.executable, "-c", code, "serve", "--port", str(port)], cwd=tree, env=env,
                            stdout=(work / "server.log").open("w"), stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline-rev", required=True, help="git revision to compare this checkout with")
    ap.add_argument("--requests", type=int, default=1500, help="match requests per server")
    ap.add_argument("--index-dir", type=Path, default=None, help="reuse this index dir / embedding cache")
    ap.add_argument("--plain-loop-baseline", action="store_true",
                    help="serve the baseline on asyncio + h11 (before uvloop and httptools)")
    args = ap.parse_args(argv)

    import httpx

    work = Path(tempfile.mkdtemp(prefix="kejie-request-cost-"))
    base_tree = work / "baseline"
    base_tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline_rev],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(base_tree)], input=archive, check=True)
    names = [f"rev {args.baseline_rev}" + (" (asyncio + h11)" if args.plain_loop_baseline else ""),
             f"this checkout ({git_rev()})"]
    servers = [_start(base_tree, work / "a", args.index_dir, args.plain_loop_baseline),
               _start(ROOT, work / "b", args.index_dir, False)]
    try:
        clients, ids = [], []
        for proc, url in servers:
            token = staff_token_when_up(proc, url, str(work))
            client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
            clients.append(client)
            ids = [d["id"] for d in client.get("/demands", params={"limit": 40}).json()["items"]]

        def ask(k: int, i: int) -> float:
            t = time.perf_counter()
            r = clients[k].get(f"/demands/{ids[i % len(ids)]}/matches", params={"kind": "experts", "top_k": 10})
            if r.status_code != 200:
                raise SystemExit(f"{names[k]}: {r.status_code} {r.text[:200]}")
            return time.perf_counter() - t

        for i in range(200):  # warm-up: query encodings cached, snapshots built
            ask(0, i), ask(1, i)
        before = [_cpu_seconds(p.pid) for p, _ in servers]
        lat: list[list[float]] = [[], []]
        for i in range(args.requests):
            for k in ((0, 1) if i % 2 else (1, 0)):
                lat[k].append(ask(k, i))
        after = [_cpu_seconds(p.pid) for p, _ in servers]
    finally:
        for proc, _ in servers:
            proc.terminate()
            proc.wait(30)
    print(f"# bench_request_cost  {machine()}  {args.requests} match requests per server, interleaved")
    rows = []
    for k, name in enumerate(names):
        p = percentiles(lat[k])
        rows.append([name, f"{1000 * (after[k] - before[k]) / args.requests:.2f}", f"{p['p50']:.1f}",
                     f"{p['p95']:.1f}"])
    print(table(["server", "CPU ms per request", "p50 ms", "p95 ms"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
