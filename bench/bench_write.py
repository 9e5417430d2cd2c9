"""What one write costs a saved 250k expert index: upsert, snapshot, save, memory.

    python -m bench.bench_scale --phase build --dir /tmp/k250 --n 250000   # once
    python -m bench.bench_write --dir /tmp/k250 [--copy-to /tmp/k250w]

Loads the index saved by ``bench_scale`` (its encoder and segmenter), warms a
snapshot as a server does, then changes the first item of three experts in
turn (early, middle and late rows) and for each reports the upsert, the next
snapshot (built and warmed), the save (seconds and bytes written, from
``/proc/self/io``) and the process's RSS afterwards. ``--copy-to`` works on a
copy (the saves change the folder). Run it with ``PYTHONPATH`` set to another
revision's tree (``git archive``) for a same-day comparison.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import time
from pathlib import Path

from bench.bench_scale import _rss_mb, _setup


def _written() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    return 0


def main(argv: list[str] | None = None) -> int:
    from matcher.index import CandidateIndex

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--copy-to", type=Path, default=None)
    ap.add_argument("--candidates", type=Path, default=Path("../shared/data/experts.csv"))
    args = ap.parse_args(argv)
    directory = args.dir
    if args.copy_to is not None:
        shutil.rmtree(args.copy_to, ignore_errors=True)
        shutil.copytree(args.dir, args.copy_to)
        directory = args.copy_to
    _, encoder, segment = _setup(args.candidates)
    index = CandidateIndex.load(directory, encoder.name)
    index.snapshot().warm()
    n = len(index)
    for k, row in enumerate((n // 250, n // 2, n - n // 250)):
        old = index.get(index.ids()[row])
        first = dataclasses.replace(old.items[0], text=f"{old.items[0].text}（修订{k}）")
        changed = dataclasses.replace(old, items=[first, *old.items[1:]])
        t0 = time.perf_counter()
        index.upsert([changed], encoder, segment)
        t1 = time.perf_counter()
        index.snapshot().warm()
        t2 = time.perf_counter()
        w = _written()
        index.save(directory)
        t3 = time.perf_counter()
        print(f"row {row:,}: upsert {t1 - t0:.2f} s, snapshot {t2 - t1:.2f} s, save {t3 - t2:.2f} s "
              f"({(_written() - w) / 2**20:,.0f} MB written), RSS {_rss_mb():,.0f} MB", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
