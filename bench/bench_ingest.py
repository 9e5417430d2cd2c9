"""Import throughput and memory for large files.

Generates a demands CSV (bench.generate, UTF-8 with BOM) and an experts CSV,
imports each into a fresh database, then imports the same file again (the
no-op path: every row looked up and found unchanged). Prints rows/s and the
peak resident memory, which should stay flat however long the file is.

    python bench/bench_ingest.py                     # 250k demands + 50k experts, SQLite
    python bench/bench_ingest.py --demands 20000 --experts 0
    python bench/bench_ingest.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.common import machine, rss_mb, table  # noqa: E402
from ingest import import_file  # noqa: E402
from models.db import create_db_engine, make_session_factory, upgrade_database  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--demands", type=int, default=250_000)
    ap.add_argument("--experts", type=int, default=50_000)
    ap.add_argument("--url", default="", help="database URL; default a temporary SQLite file")
    ap.add_argument("--batch", type=int, default=1000)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="kejie-bench-ingest-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        # a child process, so that this process's peak RSS measures the import alone
        subprocess.run(
            [sys.executable, "-m", "bench.generate", "--out", str(work), "--demands", str(args.demands),
             "--experts", str(args.experts), "--seed", "1"],
            check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
        )
        files = [(kind, work / f"{kind}.csv", n) for kind, n in (("demands", args.demands), ("experts", args.experts)) if n]
        print(f"generated in {time.perf_counter() - t0:.1f}s; RSS before importing {rss_mb():.0f} MB")

        schema = ""
        if args.url:
            url = args.url
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_db_engine(url)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            engine = create_db_engine(url, connect_args={"options": f"-csearch_path={schema}"})
        else:
            url = f"sqlite:///{work / 'bench.db'}"
            engine = create_db_engine(url)
        try:
            upgrade_database(url, engine=engine)
            factory = make_session_factory(engine)
            rows = []
            for kind, path, n in files:
                size_mb = path.stat().st_size / 1e6
                for label in ("first import", "re-import"):
                    before = rss_mb()
                    with factory() as session:
                        t = time.perf_counter()
                        report = import_file(session, path, kind, "bench", batch_size=args.batch)
                        dt = time.perf_counter() - t
                    rows.append([
                        kind, f"{n:,}", f"{size_mb:.0f} MB", label, f"{dt:.1f}", f"{n / dt:,.0f}",
                        report.inserted, report.unchanged, report.duplicates, report.rejected,
                        f"{rss_mb() - before:+.0f}", f"{peak_mb():.0f}",
                    ])
        finally:
            engine.dispose()
            if schema:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()

    print(machine())
    print(f"database: {url.split('@')[-1] if args.url else 'SQLite (temporary file)'}; batch {args.batch}")
    print(table(
        ["kind", "rows", "file", "run", "seconds", "rows/s", "inserted", "unchanged", "dups", "rejected",
         "ΔRSS MB", "peak RSS MB"],
        rows,
    ))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
