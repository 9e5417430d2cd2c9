"""The immutable scoring view of a ``CandidateIndex`` (``CandidateIndex.snapshot()``).

Row-aligned arrays and lexical models that the ranker reads; nothing in it
changes once built, so readers use it without a lock while the index's writer
builds the next one. Its lazily built parts (character n-grams, item BM25, the
attribute table) are built once, by the first reader or by the writer's
``warm`` before the snapshot is handed out.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from matcher.filters import AttrTable
from matcher.gathered import warm_half_conversion
from matcher.lexical import BM25, CharNgrams, ItemBM25
from matcher.store import AttrsView, RecordView
from matcher.store_columns import RecordStore


@dataclass
class Snapshot:
    """Row-aligned arrays for scoring. Row r is candidate ``ids[r]``.

    ``profile`` and ``items`` are read-only views of the vector stores' rows, not
    copies: where the stores' row order differs from the snapshot's (after
    removals, which leave holes, or an expert gaining items, which are appended),
    ``profile_pos`` / ``item_pos`` give the stored row of each snapshot row / item.
    Read them through ``profile_of`` / ``items_of`` / ``item_rows``."""

    ids: list[str]
    store: RecordStore
    profile: np.ndarray  # (stored rows, d): row r's vector is profile_of(r)
    items: np.ndarray  # (stored items, d): item j's vector is items_of(j)
    item_owner: np.ndarray  # (n_items,) row of the owning candidate
    item_index: np.ndarray  # (n_items,) position of the item within its candidate
    item_start: np.ndarray  # (n + 1,) items of row r are item_start[r]:item_start[r+1]
    bm25: BM25
    bm25_params: tuple[float, float] = (1.2, 0.75)
    profile_pos: np.ndarray | None = None  # stored row of each snapshot row (None: the same)
    item_pos: np.ndarray | None = None  # stored row of each item (None: the same)
    row_of: dict[str, int] = field(default_factory=dict)
    id_of_key: dict[int, str] = field(default_factory=dict)
    _item_bm25: ItemBM25 | None = None
    _char_ngrams: CharNgrams | None = None
    # the n-grams of an earlier row set (the last snapshot's, or the saved ones):
    # unchanged rows are copied from it instead of fitting every row again
    _char_base: CharNgrams | None = None
    _attr_table: AttrTable | None = None
    _spread_sample: tuple[int, np.ndarray] | None = None
    # derived arrays that scoring reuses across queries (e.g. the stats rows' items);
    # a snapshot never changes, so neither do they
    memo: dict[str, Any] = field(default_factory=dict)
    # the lazily built parts are built once: concurrent first readers wait for that
    # one build instead of each fitting its own (20 s of CPU each at 250k rows)
    _lazy_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    def profile_of(self, rows: np.ndarray | slice) -> np.ndarray:
        """Whole-profile vectors of snapshot rows ``rows`` (any index shape)."""
        return self.profile[rows] if self.profile_pos is None else self.profile[self.profile_pos[rows]]

    def item_rows(self, sel: np.ndarray | slice) -> np.ndarray | slice:
        """Stored rows (of ``items``) of the snapshot's items ``sel``."""
        return sel if self.item_pos is None else self.item_pos[sel]

    def items_of(self, sel: np.ndarray | slice) -> np.ndarray:
        return self.items[self.item_rows(sel)]

    def profile_matrix(self) -> np.ndarray:
        """Every row's profile vector in row order (a view when aligned, else a copy
        kept for the snapshot's life: what exhaustive scoring of small collections reads)."""
        if self.profile_pos is None:
            return self.profile
        if "profile_matrix" not in self.memo:
            self.memo["profile_matrix"] = self.profile[self.profile_pos]
        return self.memo["profile_matrix"]

    def item_matrix(self) -> np.ndarray:
        """Every item's vector in item order (like ``profile_matrix``)."""
        if self.item_pos is None:
            return self.items
        if "item_matrix" not in self.memo:
            self.memo["item_matrix"] = self.items[self.item_pos]
        return self.memo["item_matrix"]

    @property
    def records(self) -> RecordView:
        """Row r's ``Record``, decoded on access."""
        return RecordView(self.store)

    def tokens(self, row: int) -> list[str]:
        """The segmented tokens of row ``row``'s whole profile."""
        st = self.store
        a, b = int(st.tok_start[st.item_start[row]]), int(st.tok_start[st.item_start[row + 1]])
        return [st.vocab[t] for t in st.tok_ids[a:b].tolist()]

    def warm(self, like: Snapshot | None = None) -> Snapshot:
        """Build the lazily built parts now: those ``like`` (the snapshot this one
        replaces) had built, or, without ``like``, the character n-grams and the
        attribute table every ranking reads. The writer calls it before the new
        snapshot is handed to readers, so no reader pays for the build."""
        if like is None or like._attr_table is not None:
            _ = self.attr_table
        if like is None or like._char_ngrams is not None:
            _ = self.char_ngrams
        if like is not None and like._item_bm25 is not None:
            _ = self.item_bm25
        if like is None and self.items.dtype == np.float16:
            warm_half_conversion()  # its library's import (~1.3 s) is not the first query's
        return self

    @property
    def attr_table(self) -> AttrTable:
        """Column view of the records' attrs for filters and groupings (built on first use)."""
        if self._attr_table is None:
            with self._lazy_lock:
                if self._attr_table is None:
                    self._attr_table = AttrTable(self.ids, AttrsView(self.store), self.row_of)
        return self._attr_table

    def rows_of_keys(self, keys: np.ndarray) -> np.ndarray:
        """Rows of the candidates with these keys (keys not in the snapshot are skipped)."""
        cached = self.memo.get("key_order")
        if cached is None:
            all_keys = np.asarray(self.store.keys, dtype=np.int64)
            order = np.argsort(all_keys, kind="stable")
            cached = self.memo["key_order"] = (order, all_keys[order])
        order, sorted_keys = cached
        if len(sorted_keys) == 0 or len(keys) == 0:
            return np.zeros(0, dtype=np.int64)
        pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
        return np.asarray(order[pos[sorted_keys[pos] == keys]], dtype=np.int64)

    def item_sample(self, step: int) -> np.ndarray:
        """``items[::step]`` as a contiguous array, kept for the last ``step`` asked."""
        cached = self._spread_sample
        if cached is None or cached[0] != step:
            cached = (step, np.ascontiguousarray(self.items_of(slice(None, None, step))))
            self._spread_sample = cached
        return cached[1]

    def row_ids(self) -> np.ndarray:
        """(n, 2) int64: each row's key and the first 8 bytes of its content hash."""
        return self.store.row_ids()

    @property
    def char_ngrams(self) -> CharNgrams:
        """Character n-gram TF-IDF over the profile texts, built on first use: from
        ``_char_base`` where most rows are unchanged (``CharNgrams.updated``), else fitted."""
        if self._char_ngrams is None:
            with self._lazy_lock:
                if self._char_ngrams is None:
                    st = self.store
                    ids = self.row_ids()

                    def docs(rows: Iterable[int]) -> list[str]:
                        return [st.profile_text(int(r)) or st.names[int(r)] for r in rows]

                    got = self._char_base.updated(ids, docs) if self._char_base is not None else None
                    if got is None:
                        got = CharNgrams().fit(docs(range(len(st))))
                        got.row_ids = ids
                    self._char_ngrams = got
        return self._char_ngrams

    @property
    def item_bm25(self) -> ItemBM25:
        """Item-level BM25, built on first use (only some configurations need it)."""
        if self._item_bm25 is None:
            with self._lazy_lock:
                if self._item_bm25 is None:
                    self._item_bm25 = ItemBM25(*self.bm25_params).fit_counts(
                        self.store.item_counts(), self.store.vocab, self.item_owner, len(self.store))
        return self._item_bm25
