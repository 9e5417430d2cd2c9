"""A vector store's files: a base that is rewritten only now and then, plus a delta.

``{name}.vecs.npy`` / ``{name}.ids.npy`` are the base: every vector and id as of
the last full write ("compaction"). Saves after it write only a delta segment,
``{name}.delta-{tok}.{ids,rows,removed,vecs}.npy``, with everything that changed
since the base (cumulative: a load reads the base and one delta), and name it in
the header ``{name}.json``, which is written last (temporary name + rename): a
crash mid-save leaves the previous header, base and delta. Delta files get a new
name every save and are removed only after the new header is in place (the
previous save's are kept one more save, for a reader that read the old header).

The store's rows are the base's rows in order, with replaced vectors in place
and removed rows left as holes (id ``HOLE``: nothing moves), then the appended
rows (``FaissVectorIndex`` keeps that order: it replaces in place, appends at
the end and removes by punching a hole). So a load needs no full copy of the
base: the base ``.vecs.npy`` has spare rows after its vectors (a sparse hole on
disk) and is mapped copy-on-write; the delta's rows are written into the
mapping, which makes private copies of just the pages they touch, the rest
staying shared with every process that maps the file. A delta larger than
``DELTA_SHARE`` of the base (holes count) or one that does not fit the spare
rows is not written: the save compacts instead, writing a fresh base of the
live rows only. (Deltas written before holes removed rows by moving the rows
after them up; such a delta still loads, and the next save compacts.)

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
HOLE = -1  # the id of a removed row (real ids are >= 0)
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
    """A fresh full base of the live rows (holes left out; each file to a temporary
    name, then renamed: the vectors first, so a crash between the renames leaves a
    tag the header does not name)."""
    live = np.flatnonzero(ids != HOLE) if (ids == HOLE).any() else None
    out_ids = ids if live is None else ids[live]
    n, dim = len(out_ids), vecs.shape[1]
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
            for s in range(0, n, WRITE_CHUNK):  # a chunk at a time: no copy of the whole store
                part = vecs[s: s + WRITE_CHUNK] if live is None else vecs[live[s: s + WRITE_CHUNK]]
                np.ascontiguousarray(part).tofile(fh)
            fh.seek(offset + (capacity - tag_rows) * row_bytes)  # spare rows: a hole
            fh.write(_tag_block(tag, tag_rows, dim, dtype).tobytes())

    replace_with(directory / f"{name}.vecs.npy", write_vecs)
    replace_with(directory / f"{name}.ids.npy", lambda tmp: np_save(tmp, out_ids))
    return Base(directory.resolve(), name, tag, out_ids, capacity, dtype)


def mapped_base(base: Base) -> np.ndarray:
    """The base's vectors as a read-only view of its file (what a save that wrote
    a fresh base keeps instead of its private copy: the page cache's pages)."""
    mapped = np.load(base.directory / f"{base.name}.vecs.npy", mmap_mode="r")
    view = mapped[: len(base.ids)].view(np.ndarray)
    view.flags.writeable = False
    return view


def _changed_rows(base: Base, ids: np.ndarray) -> np.ndarray | None:
    """Rows of the base that differ from it in the store with ``ids`` (replaced or
    holes), in order; None when ``ids`` do not start with the base's rows."""
    n_base = len(base.ids)
    if len(ids) < n_base:
        return None
    head = ids[:n_base]
    holes = head == HOLE
    if not np.array_equal(head[~holes], base.ids[~holes]):
        return None
    touched = np.fromiter(base.touched, dtype=np.int64, count=len(base.touched))
    if len(touched):
        holes |= np.isin(head, touched)
    return np.flatnonzero(holes)


def write_delta(base: Base, ids: np.ndarray, vecs: np.ndarray) -> dict[str, Any] | None:
    """Write the delta of (``ids``, ``vecs``) over ``base``; None (nothing written)
    when it cannot be expressed as one or is too large: the caller compacts."""
    n_base = len(base.ids)
    if vecs.dtype != base.dtype:
        return None
    changed_rows = _changed_rows(base, ids)
    if changed_rows is None:
        return None
    n_tail = len(ids) - n_base
    limit = max(MIN_DELTA, int(n_base * DELTA_SHARE))
    if (len(changed_rows) + n_tail > limit
            or len(ids) > base.capacity - _tag_rows(vecs.shape[1] * vecs.dtype.itemsize)):
        return None
    tok = secrets.token_hex(6)
    paths = _delta_paths(base.directory, base.name, tok)
    rows = np.concatenate([changed_rows, np.arange(n_base, len(ids), dtype=np.int64)])
    # new names every save: nothing is overwritten, a crash leaves only unnamed files
    np_save(paths["ids"], ids[rows])
    np_save(paths["rows"], changed_rows.astype(np.int64))
    np_save(paths["removed"], np.zeros(0, dtype=np.int64))  # holes are rows with id HOLE
    np_save(paths["vecs"], np.ascontiguousarray(vecs[rows]))
    return {"token": tok, "changed": len(changed_rows), "tail": n_tail, "removed": 0}


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
    if n_base > capacity - tag_rows or (base_ids == HOLE).any():
        raise ValueError("base files do not match the header")
    if _tag_of(mapped) != info["tag"]:
        raise ValueError("the base files are not the ones the header names")
    base = Base(directory.resolve(), name, str(info["tag"]), base_ids, capacity, mapped.dtype)
    if not delta:
        view = mapped[:n_base].view(np.ndarray)
        return base_ids, view, base
    ids, n, moved = _apply(mapped, base, delta, directory, name, tag_rows)
    if n != int(meta.get("count", n)):
        raise ValueError("base and delta do not add up to the header's count")
    view = mapped[:n].view(np.ndarray)
    view.flags.writeable = False
    return ids, view, None if moved else base


def _apply(mapped: np.ndarray, base: Base, delta: dict[str, Any], directory: Path, name: str,
           tag_rows: int) -> tuple[np.ndarray, int, bool]:
    """Write the delta into the mapped base: (ids, rows, whether rows moved up)."""
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
    if n_removed:  # a delta written before holes: move each run of kept rows up over the removed ones
        gone = np.flatnonzero(removed_mask)
        dst = int(gone[0])
        for a, b in zip(gone + 1, np.append(gone[1:], len(base.ids)), strict=True):
            for s in range(int(a), int(b), WRITE_CHUNK):
                e = min(int(b), s + WRITE_CHUNK)
                mapped[dst: dst + e - s] = mapped[s:e]
                dst += e - s
    ids = np.concatenate([kept, d_ids[n_changed:]])
    named = d_ids[:n_changed]
    if n_changed and not np.all((ids[rows] == named) | (named == HOLE)):
        raise ValueError("delta rows do not hold the ids it names")
    ids[rows] = named
    mapped[n_kept:n] = d_vecs[n_changed:]
    live = named != HOLE  # a hole's vector is never read: its page stays shared
    mapped[rows[live]] = d_vecs[:n_changed][live]
    base.delta = tok
    base.touched = set(named[live].tolist())
    return ids, n, bool(n_removed)


def private_state(base: Base | None, ids: np.ndarray,
                  rows_of: Callable[[np.ndarray], np.ndarray]) -> np.ndarray | None:
    """A writable array of the store whose ids are ``ids`` (row ``p`` holding
    ``rows_of(p)``), made as a fresh copy-on-write mapping of the base file with
    only the rows that differ from it written: replaced and appended rows (a hole
    needs none). What a write does before changing rows that a snapshot may still
    be reading: the pages it writes become private, the rest stays shared with the
    page cache, where copying the array would hold ~1 GB of private memory at 250k
    experts. None (the caller copies) when ``ids`` are not the base's rows then
    appended ones, or do not fit its spare rows, or the file is no longer that base."""
    if base is None:
        return None
    changed = _changed_rows(base, ids)
    if changed is None:
        return None
    n, n_base = len(ids), len(base.ids)
    try:
        mapped = np.load(base.directory / f"{base.name}.vecs.npy", mmap_mode="c")
        if (mapped.shape != (base.capacity, mapped.shape[1]) or mapped.dtype != base.dtype
                or n > base.capacity - _tag_rows(mapped.shape[1] * mapped.dtype.itemsize)
                or _tag_of(mapped) != base.tag):
            return None
    except (OSError, ValueError):
        return None
    write = np.concatenate([changed[ids[changed] != HOLE], np.arange(n_base, n, dtype=np.int64)])
    for s in range(0, len(write), WRITE_CHUNK):
        part = write[s: s + WRITE_CHUNK]
        mapped[part] = rows_of(part)
    return mapped[:n].view(np.ndarray)
