"""The index's records: ``RecordMap``, its id -> ``Record`` mapping, and views
that decode rows of a :class:`~matcher.store_columns.RecordStore` on access.

``RecordMap`` is a store as the base plus the records written since (a delta);
a snapshot of an unchanged base reads the store directly, a changed one is
merged into a new store from runs of rows (``matcher.store_merge``). The
columns themselves (``Record``, ``RecordStore``) live in
``matcher.store_columns``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping, Sequence
from typing import Any

from matcher.store_columns import Record, RecordStore
from matcher.store_merge import merged

__all__ = ["AttrsView", "RecordMap", "RecordView"]


class RecordView(Sequence[Record]):
    """``snapshot.records``: rows of a store decoded on access."""

    def __init__(self, store: RecordStore) -> None:
        self.store = store

    def __len__(self) -> int:
        return len(self.store)

    def __getitem__(self, i: int) -> Record:  # type: ignore[override]
        if isinstance(i, slice):
            return [self.store.record(r) for r in range(*i.indices(len(self)))]  # type: ignore[return-value]
        return self.store.record(int(i))


class AttrsView(Sequence[dict[str, Any]]):
    """The attrs column decoded on access (``AttrTable`` reads each column once)."""

    def __init__(self, store: RecordStore) -> None:
        self.strings = store.attrs

    def __len__(self) -> int:
        return len(self.strings)

    def __getitem__(self, i: int) -> dict[str, Any]:  # type: ignore[override]
        return json.loads(self.strings[int(i)])  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        s = self.strings
        blob, off = s.blob, s.offsets.tolist()
        for a, b in zip(off[:-1], off[1:], strict=True):
            yield json.loads(blob[a:b].tobytes())


class RecordMap(MutableMapping[str, Record]):
    """id -> Record over a base store plus the records written since.

    Iteration order is the base order (a replaced record keeps its position),
    then records added since, like a dict that was filled in that order."""

    def __init__(self, base: RecordStore | None = None) -> None:
        self.base = base if base is not None else RecordStore.from_records([])
        self.over: dict[str, Record] = {}
        self.gone: set[str] = set()  # base ids deleted since
        self._n = len(self.base)

    @property
    def clean(self) -> bool:
        """Nothing written since the base was loaded."""
        return not self.over and not self.gone

    def _in_base(self, cid: str) -> bool:
        return cid in self.base.row_of and cid not in self.gone

    def __contains__(self, cid: object) -> bool:
        return isinstance(cid, str) and (cid in self.over or self._in_base(cid))

    def __getitem__(self, cid: str) -> Record:
        rec = self.over.get(cid)
        if rec is not None:
            return rec
        if not self._in_base(cid):
            raise KeyError(cid)
        return self.base.record(self.base.row_of[cid])

    def hash_of(self, cid: str) -> str | None:
        rec = self.over.get(cid)
        if rec is not None:
            return rec.hash
        return self.base.hash_at(self.base.row_of[cid]) if self._in_base(cid) else None

    def __setitem__(self, cid: str, rec: Record) -> None:
        if cid not in self:
            self._n += 1
        self.over[cid] = rec

    def __delitem__(self, cid: str) -> None:
        if cid not in self:
            raise KeyError(cid)
        self.over.pop(cid, None)
        if cid in self.base.row_of:
            self.gone.add(cid)
        self._n -= 1

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[str]:
        gone, base_rows = self.gone, self.base.row_of
        for cid in self.base.ids:
            if cid not in gone:
                yield cid
        for cid in self.over:
            if cid not in base_rows or cid in gone:
                yield cid

    def store(self) -> RecordStore:
        """The live records as one store (the base itself when nothing changed)."""
        if self.clean:
            return self.base
        # the base's rows are copied as array runs, not decoded and encoded again
        return merged(self.base, self.gone, self.over)
