"""A ``RecordStore`` from runs of rows of other stores, with array copies only.

``RecordMap.store()`` after a write used to decode every base row into a
``Record`` and encode them all again: 30 s for one changed expert of 250k. Here
the new store is the base's rows in order with the written rows in their place:
a few long runs of consecutive rows, each copied as array slices (keys, hashes,
the name/attr/text blobs, item fields, token ids), with token ids and field
codes mapped to the merged, sorted vocabulary and field list.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matcher.store_columns import Record, RecordStore

Run = tuple[RecordStore, int, int]  # rows a:b of a store


def _segments(runs: Sequence[tuple[np.ndarray, np.ndarray, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate the segments of rows a:b of (values, offsets) pairs: the values
    and the new ``n + 1`` offsets."""
    parts: list[np.ndarray] = []
    offs: list[np.ndarray] = [np.zeros(1, dtype=np.int64)]
    total = 0
    for values, offsets, a, b in runs:
        lo, hi = int(offsets[a]), int(offsets[b])
        parts.append(np.asarray(values[lo:hi]))
        offs.append(np.asarray(offsets[a + 1: b + 1], dtype=np.int64) - lo + total)
        total += hi - lo
    dtype = parts[0].dtype if parts else np.uint8
    values = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
    return values, np.concatenate(offs)


def _remap(old: list[str], new: list[str]) -> np.ndarray | None:
    """Positions in ``new`` of each entry of ``old`` (None when they are the same list)."""
    if old == new:
        return None
    pos = {t: i for i, t in enumerate(new)}
    return np.array([pos[t] for t in old], dtype=np.int64)


def take_runs(runs: Sequence[Run]) -> RecordStore:
    """The rows of ``runs``, in order, as one store."""
    runs = [(s, a, b) for s, a, b in runs if b > a]
    stores = list({id(s): s for s, _, _ in runs}.values())
    fields = sorted({f for s in stores for f in s.fields})
    vocab = stores[0].vocab if len(stores) == 1 else sorted({t for s in stores for t in s.vocab})
    field_map = {id(s): _remap(s.fields, fields) for s in stores}
    vocab_map = {id(s): _remap(s.vocab, vocab) for s in stores}
    ids: list[str] = []
    keys, hashes, fields_col, tok_ids = [], [], [], []
    items: list[tuple[RecordStore, int, int]] = []  # item runs
    for s, a, b in runs:
        ids.extend(s.ids[a:b])
        keys.append(np.asarray(s.keys[a:b], dtype=np.int64))
        hashes.append(np.asarray(s.hashes[a:b], dtype=np.uint8))
        ia, ib = int(s.item_start[a]), int(s.item_start[b])
        items.append((s, ia, ib))
        f = np.asarray(s.item_field[ia:ib], dtype=np.int16)
        fm = field_map[id(s)]
        fields_col.append(f if fm is None else fm[f].astype(np.int16))
        ta, tb = int(s.tok_start[ia]), int(s.tok_start[ib])
        t = np.asarray(s.tok_ids[ta:tb], dtype=np.int32)
        vm = vocab_map[id(s)]
        tok_ids.append(t if vm is None else vm[t].astype(np.int32))
    _, item_start = _segments([(s.keys, s.item_start, a, b) for s, a, b in runs])
    _, tok_start = _segments([(s.tok_ids, s.tok_start, ia, ib) for s, ia, ib in items])
    names, names_off = _segments([(s.names.blob, s.names.offsets, a, b) for s, a, b in runs])
    attrs, attrs_off = _segments([(s.attrs.blob, s.attrs.offsets, a, b) for s, a, b in runs])
    texts, texts_off = _segments([(s.texts.blob, s.texts.offsets, ia, ib) for s, ia, ib in items])

    def cat(parts: list[np.ndarray], dtype: type, shape: tuple[int, ...] = (0,)) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(shape, dtype=dtype)

    arrays = {
        "keys": cat(keys, np.int64), "hashes": cat(hashes, np.uint8, (0, 32)),
        "item_start": item_start, "item_field": cat(fields_col, np.int16),
        "tok_start": tok_start, "tok_ids": cat(tok_ids, np.int32),
        "names_blob": names, "names_off": names_off,
        "attrs_blob": attrs, "attrs_off": attrs_off,
        "texts_blob": texts, "texts_off": texts_off,
    }
    return RecordStore(ids, fields, list(vocab), arrays)


def merged(base: RecordStore, gone: set[str], written: dict[str, Record]) -> RecordStore:
    """The live records of a ``RecordMap``: the base's rows in order without the
    ``gone`` ones, a row in ``written`` replaced in place, then the written ids
    the base does not hold (or held and lost: written again), in ``written``'s
    order. Found from the changed rows alone, not by walking every id."""
    row_of = base.row_of
    in_place = sorted((row_of[c], c) for c in written if c in row_of and c not in gone)
    appended = [c for c in written if c not in row_of or c in gone]
    fresh = [c for _, c in in_place] + appended
    delta = RecordStore.from_records(written[c] for c in fresh)
    runs: list[Run] = []

    def add(src: RecordStore, a: int, b: int) -> None:
        if b <= a:
            return
        if runs and runs[-1][0] is src and runs[-1][2] == a:
            runs[-1] = (src, runs[-1][1], b)  # extends the current run
        else:
            runs.append((src, a, b))

    marks = sorted([(r, True) for r, _ in in_place] + [(row_of[c], False) for c in gone if c in row_of])
    prev = k = 0
    for row, replaced in marks:
        add(base, prev, row)
        if replaced:
            add(delta, k, k + 1)
            k += 1
        prev = row + 1
    add(base, prev, len(base))
    add(delta, k, len(fresh))
    return take_runs(runs) if runs else RecordStore.from_records([])
