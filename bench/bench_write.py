"""What one write costs a saved 250k expert index: upsert, snapshot, save, memory.

    python -m bench.bench_scale --phase build --dir /tmp/k250 --n 250000   # once
    python -m bench.bench_write --dir /tmp/k250 [--copy-to /tmp/k250w]

Loads the index saved by ``bench_scale`` (its encoder and segmenter), warms a
snapshot as a server does, then makes the writes staff make, one after the
other: an expert's first item edited (early, middle and late rows), an item
added, an item dropped, an expert removed and a new expert added (each early
in the rows, where a write that moved rows would move the most). For each it
reports the upsert, the next snapshot (built and warmed), the save (seconds and
bytes written, from ``/proc/self/io``) and the process's RSS afterwards. ``--copy-to`` works on a
copy (the saves change the folder). Run it with ``PYTHONPATH`` set to another
revision's tree (``git archive``) for a same-day comparison.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from bench.bench_scale import _rss_mb, _setup


def _written() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    return 0


def main(argv: list[str] | None = None) -> int:
    from matcher.index import CandidateIndex
    from matcher.types import Candidate

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

    def edited(row: int, k: int) -> Candidate:
        old = index.get(index.ids()[row])
        first = dataclasses.replace(old.items[0], text=f"{old.items[0].text}（修订{k}）")
        return dataclasses.replace(old, items=[first, *old.items[1:]])

    def grown(row: int) -> Candidate:
        old = index.get(index.ids()[row])
        extra = dataclasses.replace(old.items[0], text=f"{old.items[0].text}及其工程应用")
        return dataclasses.replace(old, items=[*old.items, extra])

    def shrunk(row: int) -> Candidate:
        old = index.get(index.ids()[row])
        return dataclasses.replace(old, items=old.items[1:] or old.items)

    writes: list[tuple[str, Callable[[], object]]] = [
        *((f"edit row {row:,}", lambda row=row, k=k: index.upsert([edited(row, k)], encoder, segment))
          for k, row in enumerate((n // 250, n // 2, n - n // 250))),
        (f"add an item, row {n // 250:,}", lambda: index.upsert([grown(n // 250)], encoder, segment)),
        (f"drop an item, row {2 * n // 250:,}", lambda: index.upsert([shrunk(2 * n // 250)], encoder, segment)),
        (f"remove an expert, row {3 * n // 250:,}", lambda: index.remove([index.ids()[3 * n // 250]])),
        ("add an expert", lambda: index.upsert(
            [dataclasses.replace(edited(4 * n // 250, 9), id="bench-write-new")], encoder, segment)),
    ]
    for label, write in writes:
        t0 = time.perf_counter()
        write()
        t1 = time.perf_counter()
        index.snapshot().warm()
        t2 = time.perf_counter()
        w = _written()
        index.save(directory)
        t3 = time.perf_counter()
        print(f"{label}: upsert {t1 - t0:.2f} s, snapshot {t2 - t1:.2f} s, save {t3 - t2:.2f} s "
              f"({(_written() - w) / 2**20:,.0f} MB written), RSS {_rss_mb():,.0f} MB", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
