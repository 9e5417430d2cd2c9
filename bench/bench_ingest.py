"""Import throughput (``ingest.import_file``) at several sizes, SQLite and PostgreSQL.

For each size and kind (demands, experts) the script generates a CSV
(bench.generate, UTF-8 with BOM as Excel writes it), then measures in the
same run:

* the baseline: reading the file with ``csv.DictReader`` (nothing cleaned);
* ``ingest.read_rows`` (format detection, header mapping; no validation, no DB);
* the first import into a fresh database, and the re-import of the same file
  (the no-op path: every row looked up and found unchanged);

and prints rows/s, ratios against the baseline, the growth of resident memory
and the process peak (which should stay flat however long the file is).

    python bench/bench_ingest.py                       # 1k, 10k on SQLite (~1 min)
    python bench/bench_ingest.py --sizes 1k,10k,100k --pg
    python bench/bench_ingest.py --sizes 250k --kinds demands --url postgresql+psycopg://...
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.common import machine, parse_sizes, ratio, rss_mb, table  # noqa: E402
from bench.generate import generate_files  # noqa: E402
from ingest import import_file, read_rows  # noqa: E402
from models.db import create_db_engine, make_session_factory, upgrade_database  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Database:
    """A fresh SQLite file, or a throw-away schema on a PostgreSQL server."""

    def __init__(self, url: str, work: Path) -> None:
        self.schema = ""
        self.admin = None
        if url:
            self.schema = f"bench_{uuid.uuid4().hex[:8]}"
            self.admin = create_db_engine(url)
            with self.admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            self.engine = create_db_engine(url, connect_args={"options": f"-csearch_path={self.schema}"})
            self.url = url
            self.label = "PostgreSQL " + url.split("@")[-1]
        else:
            self.url = f"sqlite:///{work / f'bench-{uuid.uuid4().hex[:6]}.db'}"
            self.engine = create_db_engine(self.url)
            self.label = "SQLite (file)"
        upgrade_database(self.url, engine=self.engine)
        self.factory = make_session_factory(self.engine)

    def close(self) -> None:
        self.engine.dispose()
        if self.admin is not None:
            with self.admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            self.admin.dispose()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1k,10k", help="rows per file, e.g. 1k,10k,100k")
    ap.add_argument("--kinds", default="demands,experts")
    ap.add_argument("--pg", action="store_true", help=f"also PostgreSQL at {PG_URL}")
    ap.add_argument("--url", default="", help="PostgreSQL URL to use instead of the default (implies --pg)")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--batch", type=int, default=1000)
    args = ap.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    urls = [] if args.no_sqlite else [""]
    if args.pg or args.url:
        urls.append(args.url or PG_URL)

    print(f"# bench_ingest — {machine()}")
    print(f"batch {args.batch}; each size is a fresh database\n")
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="kejie-bench-ingest-") as tmp:
        work = Path(tmp)
        for n in parse_sizes(args.sizes):
            counts = {k: (n if k in kinds else 0) for k in ("demands", "experts")}
            t0 = time.perf_counter()
            files = generate_files(work / f"n{n}", demands=counts["demands"], experts=counts["experts"],
                                   seed=1, sample_dir=None)
            print(f"generated {n:,} rows per kind in {time.perf_counter() - t0:.1f}s", flush=True)
            for kind in kinds:
                path = files[kind]
                t0 = time.perf_counter()
                with path.open(encoding="utf-8-sig", newline="") as fh:
                    baseline_rows = sum(1 for _ in csv.DictReader(fh))
                base_rate = baseline_rows / (time.perf_counter() - t0)
                t0 = time.perf_counter()
                read = sum(1 for _ in read_rows(path, kind))
                read_rate = read / (time.perf_counter() - t0)
                rows.append([kind, f"{n:,}", "-", "csv.DictReader (baseline)", base_rate, "1.0x", "-", "-", "-"])
                rows.append([kind, f"{n:,}", "-", "ingest.read_rows", read_rate, ratio(base_rate, read_rate),
                             "-", "-", "-"])
                for url in urls:
                    db = Database(url, work)
                    try:
                        for label in ("import", "re-import (unchanged)"):
                            before = rss_mb()
                            with db.factory() as session:
                                t = time.perf_counter()
                                report = import_file(session, path, kind, "bench", batch_size=args.batch)
                                dt = time.perf_counter() - t
                            ok = report.inserted if label == "import" else report.unchanged
                            if ok != n or report.rejected:
                                print(f"  !! {kind} {label}: expected {n} rows, got {ok}; "
                                      f"rejected {report.rejected}", flush=True)
                            rate = n / dt
                            rows.append([kind, f"{n:,}", db.label, label, rate, ratio(base_rate, rate),
                                         f"{dt:.1f}", f"{rss_mb() - before:+.0f}", f"{peak_mb():.0f}"])
                            print(f"  {kind} {n:,} {db.label} {label}: {rate:,.0f} rows/s", flush=True)
                    finally:
                        db.close()
    print()
    print(table(["kind", "rows", "database", "step", "rows/s", "time vs csv read", "seconds", "ΔRSS MB",
                 "peak RSS MB"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
