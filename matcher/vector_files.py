"""A vector store's files: a base that is rewritten only now and then, plus a delta.

``{name}.vecs.npy`` / ``{name}.ids.npy`` are the base: every vector and id as of
the last full write ("compaction"). Saves after it write only a delta segment,
``{name}.delta-{tok}.{ids,rows,removed,vecs}.npy``, with everything that changed
since the base (cumulative: a load reads the base and one delta), and name it in
the header ``{name}.json``, which is written last (temporary name + rename): a
crash mid-save leaves the previous header, base and delta. Delta files get a new
name every save and are removed only after the new header is in place (the
previous save's are kept one more save, for a reader that read the old header).

The store's rows are the base's rows in order without the removed ones, with
replaced vectors in place, then the appended rows (``FaissVectorIndex`` keeps
that order: it replaces in place, appends at the end and removes keeping the
order). So a load needs no full copy of the base: the base ``.vecs.npy`` has
spare rows after its vectors (a sparse hole on disk) and is mapped copy-on-write;
the delta's rows are written into the mapping, which makes private copies of
just the pages they touch, the rest staying shared with every process that maps
the file. A removed base row moves the rows after it one up, which makes those
pages private: a delta whose removals would move more than ``MAX_MOVED`` of the
base is not written, nor one larger than ``DELTA_SHARE`` of the base or one that
does not fit the spare rows: the save compacts (writes a fresh base) instead.

The base's last rows hold a random tag that the header repeats: a base renamed
into place by a save that crashed before its header is detected (``ValueError``,
which the store's ``load`` turns into ``IndexOutOfDate``), never combined with
the previous header's delta.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DELTA_SHARE = 0.1  # at most this share of the base's rows changed/added/removed in a delta
MIN_DELTA = 64  # ... or this many, whichever is more (small stores keep deltas too)
MAX_MOVED = 0.2  # at most this share of the base's rows moved up by removals at load (private pages)
TAG_BYTES = 8
WRITE_CHUNK = 65_536  # rows written at a time


def replace_with(path: Path, write: Callable[[Path], object]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def np_save(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as fh:  # a file object: np.save would append .npy to a bare path
        np.save(fh, array)


@dataclass
class Base:
    """The base files a store was loaded from or last saved to, and what changed since."""

    directory: Path
    name: str
    tag: str
    ids: np.ndarray  # the base's ids, in its row order
    capacity: int  # rows of the .vecs.npy (vectors, spare rows, tag rows)
    dtype: np.dtype
    delta: str | None = None  # token of the delta files the header names
    touched: set[int] = field(default_factory=set)  # ids replaced in place since the base
    dropped: set[int] = field(default_factory=set)  # ids removed since the base

    def same(self, directory: Path, name: str) -> bool:
        return self.name == name and self.directory == directory.resolve()


def _tag_rows(row_bytes: int) -> int:
    return -(-TAG_BYTES // row_bytes)


def _tag_block(tag: str, rows: int, dim: int, dtype: np.dtype) -> np.ndarray:
    raw = np.zeros(rows * dim * dtype.itemsize, dtype=np.uint8)
    raw[:TAG_BYTES] = np.frombuffer(bytes.fromhex(tag), dtype=np.uint8)
    return raw.view(dtype).reshape(rows, dim)


def _spare(n: int) -> int:
    return max(MIN_DELTA, int(n * DELTA_SHARE))


def _delta_paths(directory: Path, name: str, tok: str) -> dict[str, Path]:
    return {part: directory / f"{name}.delta-{tok}.{part}.npy" for part in ("ids", "rows", "removed", "vecs")}


def write_base(directory: Path, name: str, ids: np.ndarray, vecs: np.ndarray) -> Base:
    """A fresh full base (each file to a temporary name, then renamed: the vectors
    first, so a crash between the renames leaves a tag the header does not name)."""
    n, dim = vecs.shape
    dtype = vecs.dtype
    row_bytes = dim * dtype.itemsize
    tag_rows = _tag_rows(row_bytes)
    capacity = n + _spare(n) + tag_rows
    tag = secrets.token_hex(TAG_BYTES)

    def write_vecs(tmp: Path) -> None:
        header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
                  "shape": (capacity, dim)}
        with tmp.open("wb") as fh:
            np.lib.format.write_array_header_1_0(fh, header)
            offset = fh.tell()
            for s in range(0, n, WRITE_CHUNK):
                np.ascontiguousarray(vecs[s: s + WRITE_CHUNK]).tofile(fh)
            fh.seek(offset + (capacity - tag_rows) * row_bytes)  # spare rows: a hole
            fh.write(_tag_block(tag, tag_rows, dim, dtype).tobytes())

    replace_with(directory / f"{name}.vecs.npy", write_vecs)
    replace_with(directory / f"{name}.ids.npy", lambda tmp: np_save(tmp, ids))
    return Base(directory.resolve(), name, tag, ids, capacity, dtype)


def write_delta(base: Base, ids: np.ndarray, vecs: np.ndarray) -> dict[str, Any] | None:
    """Write the delta of (``ids``, ``vecs``) over ``base``; None (nothing written)
    when it cannot be expressed as one or is too large: the caller compacts."""
    n_base = len(base.ids)
    if vecs.dtype != base.dtype:
        return None
    dropped = np.fromiter(base.dropped, dtype=np.int64, count=len(base.dropped))
    removed_mask = np.isin(base.ids, dropped) if len(dropped) else np.zeros(n_base, dtype=bool)
    kept = base.ids[~removed_mask]
    n_kept = len(kept)
    if len(ids) < n_kept or not np.array_equal(ids[:n_kept], kept):
        return None
    removed = base.ids[removed_mask]
    moved = n_kept - int(np.argmax(removed_mask)) if len(removed) else 0
    touched = np.fromiter(base.touched, dtype=np.int64, count=len(base.touched))
    changed_rows = np.flatnonzero(np.isin(ids[:n_kept], touched)) if len(touched) else np.zeros(0, np.int64)
    n_tail = len(ids) - n_kept
    limit = max(MIN_DELTA, int(n_base * DELTA_SHARE))
    if (len(changed_rows) + n_tail + len(removed) > limit or moved > max(MIN_DELTA, MAX_MOVED * n_base)
            or len(ids) > base.capacity - _tag_rows(vecs.shape[1] * vecs.dtype.itemsize)):
        return None
    tok = secrets.token_hex(6)
    paths = _delta_paths(base.directory, base.name, tok)
    rows = np.concatenate([changed_rows, np.arange(n_kept, len(ids), dtype=np.int64)])
    # new names every save: nothing is overwritten, a crash leaves only unnamed files
    np_save(paths["ids"], ids[rows])
    np_save(paths["rows"], changed_rows.astype(np.int64))
    np_save(paths["removed"], removed)
    np_save(paths["vecs"], np.ascontiguousarray(vecs[rows]))
    return {"token": tok, "changed": len(changed_rows), "tail": n_tail, "removed": len(removed)}


def header(base: Base, delta: dict[str, Any] | None) -> dict[str, Any]:
    return {"base": {"tag": base.tag, "count": len(base.ids), "capacity": base.capacity}, "delta": delta}


def remove_old_deltas(directory: Path, name: str, keep: set[str | None]) -> None:
    """Delete delta files whose token is not in ``keep`` (after the header is in place)."""
    prefix = f"{name}.delta-"
    for path in directory.glob(f"{prefix}*.npy"):
        if path.name[len(prefix):].split(".", 1)[0] not in keep:
            path.unlink(missing_ok=True)


def saved_tag(directory: Path, name: str) -> str | None:
    """The tag of the base on disk when its header names it (None: no such base,
    or unreadable): a delta is written only over the base this store knows."""
    try:
        meta = json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))
        tag = str(meta["base"]["tag"])
        mapped = np.load(directory / f"{name}.vecs.npy", mmap_mode="r")
        return tag if _tag_of(mapped) == tag else None
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def _tag_of(mapped: np.ndarray) -> str:
    tag_rows = _tag_rows(mapped.shape[1] * mapped.dtype.itemsize)
    return np.asarray(mapped[len(mapped) - tag_rows:]).view(np.uint8).ravel()[:TAG_BYTES].tobytes().hex()


def load(directory: Path, name: str, meta: dict[str, Any], dim: int) -> tuple[np.ndarray, np.ndarray, Base | None]:
    """(ids, vectors, base) of a saved store. The vectors are a read-only view of
    the mapped base file, with the delta's rows written into the mapping."""
    ids_path, vecs_path = directory / f"{name}.ids.npy", directory / f"{name}.vecs.npy"
    info = meta.get("base")
    if info is None:  # written before deltas: the whole file is the vectors
        vecs = np.load(vecs_path, mmap_mode="r").view(np.ndarray)
        return np.load(ids_path), vecs, None
    delta = meta.get("delta")
    base_ids = np.load(ids_path)
    n_base, capacity = int(info["count"]), int(info["capacity"])
    # mapped (copy-on-write when a delta is written into it): processes loading the
    # same files share the page cache but for the pages the delta touches
    mapped = np.load(vecs_path, mmap_mode="c" if delta else "r")
    if base_ids.shape != (n_base,) or mapped.shape != (capacity, dim) or base_ids.dtype != np.int64:
        raise ValueError("base files do not match the header")
    tag_rows = _tag_rows(dim * mapped.dtype.itemsize)
    if n_base > capacity - tag_rows:
        raise ValueError("base files do not match the header")
    if _tag_of(mapped) != info["tag"]:
        raise ValueError("the base files are not the ones the header names")
    base = Base(directory.resolve(), name, str(info["tag"]), base_ids, capacity, mapped.dtype)
    if not delta:
        view = mapped[:n_base].view(np.ndarray)
        return base_ids, view, base
    ids, n = _apply(mapped, base, delta, directory, name, tag_rows)
    if n != int(meta.get("count", n)):
        raise ValueError("base and delta do not add up to the header's count")
    view = mapped[:n].view(np.ndarray)
    view.flags.writeable = False
    return ids, view, base


def _apply(mapped: np.ndarray, base: Base, delta: dict[str, Any], directory: Path, name: str,
           tag_rows: int) -> tuple[np.ndarray, int]:
    tok = str(delta["token"])
    paths = _delta_paths(directory, name, tok)
    d_ids, rows, removed, d_vecs = (np.load(paths[p]) for p in ("ids", "rows", "removed", "vecs"))
    n_changed, n_tail, n_removed = int(delta["changed"]), int(delta["tail"]), int(delta["removed"])
    dim = mapped.shape[1]
    if (d_ids.shape != (n_changed + n_tail,) or rows.shape != (n_changed,) or removed.shape != (n_removed,)
            or d_vecs.shape != (n_changed + n_tail, dim) or d_vecs.dtype != mapped.dtype
            or d_ids.dtype != np.int64 or removed.dtype != np.int64 or rows.dtype != np.int64):
        raise ValueError("delta files do not match the header")
    removed_mask = np.isin(base.ids, removed)
    if int(removed_mask.sum()) != n_removed:
        raise ValueError("delta removes ids that are not in the base")
    kept = base.ids[~removed_mask]
    n_kept = len(kept)
    n = n_kept + n_tail
    if n > len(mapped) - tag_rows or (n_changed and (rows.min() < 0 or rows.max() >= n_kept)):
        raise ValueError("delta does not fit the base")
    if n_removed:  # move each run of kept rows up over the removed ones, a chunk at a time
        gone = np.flatnonzero(removed_mask)
        dst = int(gone[0])
        for a, b in zip(gone + 1, np.append(gone[1:], len(base.ids)), strict=True):
            for s in range(int(a), int(b), WRITE_CHUNK):
                e = min(int(b), s + WRITE_CHUNK)
                mapped[dst: dst + e - s] = mapped[s:e]
                dst += e - s
    ids = np.concatenate([kept, d_ids[n_changed:]])
    if n_changed and not np.array_equal(ids[rows], d_ids[:n_changed]):
        raise ValueError("delta rows do not hold the ids it names")
    mapped[n_kept:n] = d_vecs[n_changed:]
    mapped[rows] = d_vecs[:n_changed]
    base.delta = tok
    base.touched = set(d_ids[:n_changed].tolist())
    base.dropped = set(removed.tolist())
    return ids, n


def private_state(base: Base | None, ids: np.ndarray,
                  rows_of: Callable[[np.ndarray], np.ndarray]) -> np.ndarray | None:
    """A writable array of the store whose ids are ``ids`` (row ``p`` holding
    ``rows_of(p)``), made as a fresh copy-on-write mapping of the base file with
    only the rows that differ from it written: replaced, appended and moved-up rows.
    What a write does before changing rows that a snapshot may still be reading:
    the pages it writes become private, the rest stays shared with the page cache,
    where copying the array would hold ~1 GB of private memory at 250k experts.
    None (the caller copies) when ``ids`` are not the base's kept rows then appended
    ones, or do not fit its spare rows, or the file is no longer that base."""
    if base is None:
        return None
    n_base = len(base.ids)
    dropped = np.fromiter(base.dropped, dtype=np.int64, count=len(base.dropped))
    removed_mask = np.isin(base.ids, dropped) if len(dropped) else np.zeros(n_base, dtype=bool)
    kept = base.ids[~removed_mask]
    n_kept, n = len(kept), len(ids)
    if n < n_kept or not np.array_equal(ids[:n_kept], kept):
        return None
    first_moved = int(np.argmax(removed_mask)) if len(dropped) and removed_mask.any() else n_kept
    touched = np.fromiter(base.touched, dtype=np.int64, count=len(base.touched))
    changed = (np.flatnonzero(np.isin(ids[:first_moved], touched)) if len(touched)
               else np.zeros(0, dtype=np.int64))
    if len(changed) + n - first_moved > max(MIN_DELTA, (DELTA_SHARE + MAX_MOVED) * n_base):
        return None
    try:
        mapped = np.load(base.directory / f"{base.name}.vecs.npy", mmap_mode="c")
        if (mapped.shape != (base.capacity, mapped.shape[1]) or mapped.dtype != base.dtype
                or n > base.capacity - _tag_rows(mapped.shape[1] * mapped.dtype.itemsize)
                or _tag_of(mapped) != base.tag):
            return None
    except (OSError, ValueError):
        return None
    write = np.concatenate([changed, np.arange(first_moved, n, dtype=np.int64)])
    for s in range(0, len(write), WRITE_CHUNK):
        part = write[s: s + WRITE_CHUNK]
        mapped[part] = rows_of(part)
    return mapped[:n].view(np.ndarray)
