"""A persistent, incrementally updated index of candidates of one kind.

For every candidate it keeps: metadata (name, items, attrs, content hash),
segmented tokens (for BM25 and shared-term reasons), one whole-profile vector
and one vector per profile item. Vectors live in two ``FaissVectorIndex``
stores with stable int64 ids: a candidate keeps its key for life, and item
``i`` of a candidate with key ``k`` has id ``(k << ITEM_BITS) | i``, so the
item -> candidate map is a shift.

``snapshot()`` gives an immutable, row-aligned view (``matcher.snapshot``:
matrices + BM25 models) that the ranker scores against; it is rebuilt lazily
after changes.

Records live in columns (``matcher.store``): no Python object per candidate on
the query path, a ``Record`` is decoded only for the rows asked for. Saved, an
index is ``meta.json`` (header), the ``rec.*`` columns and the two vector
stores; loading memory-maps the arrays. Above ``HALF_ABOVE`` vectors a store
keeps them as float16, and above the exact-search size the ANN structure is
IVF-PQ (``FaissVectorIndex``), which holds codes, not a second float copy.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from matcher.candidate_content import (
    ITEM_BITS,
    ITEM_MAX_CHARS,
    MAX_ITEMS,
    clean_items,
    content_hash,
    profile_text,
)
from matcher.encoders.base import Encoder
from matcher.errors import IndexOutOfDate
from matcher.index_faiss import FaissVectorIndex
from matcher.lexical import BM25, CharNgrams
from matcher.lexical_files import load_char, save_char
from matcher.snapshot import Snapshot
from matcher.store import RecordMap
from matcher.store_columns import Record, RecordStore
from matcher.types import Candidate, CandidateKind, ProfileItem

__all__ = ["ITEM_BITS", "ITEM_MAX_CHARS", "MAX_ITEMS", "CandidateIndex", "Record", "clean_items", "profile_text"]

FORMAT_VERSION = 2
# more vectors than this: stored as float16 (the ranker scores collections up to
# RankConfig.exhaustive_limit = 20k exactly, on float32 vectors)
HALF_ABOVE = 20_000
LARGE_ANN = "ivfpq"  # ANN structure above the exact-search size (index_type "auto")
ANN_NPROBE = 32
Segmenter = Callable[[str], list[str]]


class CandidateIndex:
    def __init__(self, kind: CandidateKind, encoder_name: str, dim: int,
                 index_type: str = "auto", bm25_k1: float = 1.2, bm25_b: float = 0.75) -> None:
        self.kind = kind
        self.encoder_name = encoder_name
        self.dim = dim
        self.index_type = index_type
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.records = RecordMap()
        self.next_key = 1
        self.profile = FaissVectorIndex(dim, index_type, large_type=LARGE_ANN, half_above=HALF_ABOVE,
                                        ivf_nprobe=ANN_NPROBE)
        self.items = FaissVectorIndex(dim, index_type, large_type=LARGE_ANN, half_above=HALF_ABOVE,
                                      ivf_nprobe=ANN_NPROBE)
        # Readers never wait for writers: ``snapshot()`` hands out the last built,
        # immutable snapshot; a write bumps ``_version``, and the next snapshot is
        # built (by the writer, or by the first reader that finds none) while the
        # others keep answering from the previous one. ``_lock`` serialises writers
        # over records and vector stores (and a snapshot's copy of them); searches
        # do not take it: each store guards its FAISS structure for the FAISS call
        # alone, so a query waits for a FAISS add, never for a write's array copies.
        self._snapshot: Snapshot | None = None
        self._snapshot_version = -1
        self._version = 0
        self._lock = threading.RLock()
        self._build_lock = threading.Lock()
        # the newest character n-grams built (or loaded) and the ones in the files
        self._char_base: CharNgrams | None = None
        self._char_saved: tuple[Path, CharNgrams] | None = None

    def __len__(self) -> int:
        return len(self.records)

    def __contains__(self, cid: str) -> bool:
        return cid in self.records

    def ids(self) -> list[str]:
        return list(self.records)

    def hashes(self) -> dict[str, str]:
        return {cid: self.records.hash_of(cid) or "" for cid in self.records}

    def get(self, cid: str) -> Candidate:
        return self.records[cid].candidate(self.kind)

    # -- updates ------------------------------------------------------------
    @staticmethod
    def passage_texts(candidates: Iterable[Candidate]) -> list[str]:
        """Every passage text that embedding these candidates needs (for progress totals)."""
        out: list[str] = []
        for c in candidates:
            items = clean_items(c.items)
            out.append(profile_text(items) or c.name)
            out.extend(i.text for i in items)
        return out

    def upsert(self, candidates: Iterable[Candidate], encoder: Encoder,
               segment: Segmenter) -> dict[str, int]:
        """Add new candidates, re-embed changed ones, skip unchanged ones."""
        if encoder.name != self.encoder_name:
            raise IndexOutOfDate(
                f"索引由编码器 {self.encoder_name} 生成，当前编码器为 {encoder.name}；请重建索引"
            )
        counts = {"added": 0, "updated": 0, "unchanged": 0}
        todo: list[tuple[Candidate, list[ProfileItem], str, bool]] = []
        for c in candidates:
            items = clean_items(c.items)
            cc = Candidate(id=c.id, kind=c.kind, name=c.name, items=items, attrs=c.attrs)
            h = content_hash(cc)
            old_hash = self.records.hash_of(c.id)
            if old_hash == h:
                counts["unchanged"] += 1
                continue
            todo.append((cc, items, h, old_hash is not None))
        if not todo:
            return counts
        prof_texts = [profile_text(items) or c.name for c, items, _, _ in todo]
        item_texts = [i.text for _, items, _, _ in todo for i in items]
        prof_vecs = encoder.encode_passages(prof_texts)
        item_vecs = encoder.encode_passages(item_texts) if item_texts else np.zeros((0, self.dim), np.float32)
        tokens = [[segment(i.text) for i in items] for _, items, _, _ in todo]  # outside the lock
        with self._lock:
            pos = 0
            keys: list[int] = []
            item_ids: list[int] = []
            stale: list[int] = []  # items of updated candidates that now have fewer
            for (c, items, h, existed), item_tokens in zip(todo, tokens, strict=True):
                old = self.records.get(c.id)
                if old is not None:
                    key = old.key
                    stale.extend((key << ITEM_BITS) | i for i in range(len(items), len(old.items)))
                else:
                    key = self.next_key
                    self.next_key += 1
                self.records[c.id] = Record(
                    id=c.id, key=key, name=c.name, items=items, attrs=dict(c.attrs), hash=h,
                    item_tokens=item_tokens,
                )
                keys.append(key)
                item_ids.extend((key << ITEM_BITS) | i for i in range(len(items)))
                counts["updated" if existed else "added"] += 1
                pos += len(items)
            self.items.remove(stale)  # one call: each copies the store's ids
            self.profile.add(keys, prof_vecs)
            if item_ids:
                self.items.add(item_ids, item_vecs)
            self._version += 1
        return counts

    def remove(self, ids: Iterable[str]) -> int:
        keys: list[int] = []
        item_ids: list[int] = []
        with self._lock:
            for cid in ids:
                rec = self.records.pop(cid, None)
                if rec is None:
                    continue
                keys.append(rec.key)
                item_ids.extend((rec.key << ITEM_BITS) | i for i in range(len(rec.items)))
            if keys:  # one call per store: each copies the store's ids
                self.profile.remove(keys)
                self.items.remove(item_ids)
                self._version += 1
        return len(keys)

    def clear(self) -> None:
        self.remove(list(self.records))

    # -- scoring view -------------------------------------------------------
    @property
    def stale(self) -> bool:
        """Whether writes happened since the current snapshot was built."""
        return self._snapshot is None or self._snapshot_version != self._version

    def snapshot(self) -> Snapshot:
        """The current immutable scoring view. While another thread builds the next
        one, the previous snapshot is returned at once instead of waiting."""
        snap = self._snapshot
        if snap is not None and not self.stale:
            return snap
        if not self._build_lock.acquire(blocking=snap is None):
            return snap  # type: ignore[return-value]  # being rebuilt: answer from the last one
        try:
            while self.stale:
                version, new = self._make_snapshot()
                # what readers of the last snapshot used is built before they get this one
                if self._snapshot is not None:
                    new.warm(self._snapshot)
                if new._char_ngrams is not None:
                    self._char_base = new._char_ngrams
                self._snapshot, self._snapshot_version = new, version
            return self._snapshot  # type: ignore[return-value]
        finally:
            self._build_lock.release()

    def adopt_char_base(self, other: CharNgrams | None) -> None:
        """Build the next snapshot's n-grams on ``other`` (an earlier copy's) where that
        transforms fewer rows than on the files' (the last full fit's: after many
        writes, every row changed since, 0.36 ms each, on every reload)."""
        if other is None or other is self._char_base:
            return
        mine = self._char_base
        ids = self.records.store().row_ids()
        if mine is None or other.reuse_cost(ids) < mine.reuse_cost(ids):
            self._char_base = other

    def warm_like(self, old: CandidateIndex) -> Snapshot:
        """Build and warm the snapshot that replaces ``old``'s (an earlier copy of this
        index): the lazily built parts its queries used, n-grams on its where cheaper."""
        like = old._snapshot
        if like is not None:
            self.adopt_char_base(like._char_ngrams)
        return self.snapshot().warm(like)

    def warm_in_background(self) -> threading.Thread:
        """Build the snapshot and its lazily built parts (character n-grams, attribute
        table: 20 s at 250k rows) in a daemon thread; queries meanwhile wait for that
        one build instead of each doing it."""
        t = threading.Thread(target=lambda: self.snapshot().warm(), daemon=True, name=f"kejie-warm-{self.kind}")
        t.start()
        return t

    def _make_snapshot(self) -> tuple[int, Snapshot]:
        with self._lock:  # a consistent copy of records and vectors; the rest needs no lock
            version = self._version
            store = self.records.store()
            keys = np.asarray(store.keys, dtype=np.int64)
            item_start = np.asarray(store.item_start, dtype=np.int64)
            counts = np.diff(item_start)
            item_owner = np.repeat(np.arange(len(store)), counts).astype(np.int64)
            item_index = (np.arange(int(counts.sum())) - item_start[item_owner]).astype(np.int64)
            item_keys = (keys[item_owner] << ITEM_BITS) | item_index
            profile, profile_pos = self.profile.rows_view(keys)
            items, item_pos = self.items.rows_view(item_keys)
        ids = store.ids
        bm25 = BM25(self.bm25_k1, self.bm25_b).fit_counts(store.profile_counts(), store.vocab)
        last = self._snapshot
        base = last._char_ngrams if last is not None and last._char_ngrams is not None else self._char_base
        return version, Snapshot(ids=ids, store=store, profile=profile, items=items,
                                 item_owner=item_owner, item_index=item_index, item_start=item_start,
                                 bm25=bm25, bm25_params=(self.bm25_k1, self.bm25_b),
                                 profile_pos=profile_pos, item_pos=item_pos,
                                 row_of=store.row_of,
                                 id_of_key=dict(zip(keys.tolist(), ids, strict=True)), _char_base=base)

    def search_rows(self, snap: Snapshot, probes: Sequence[tuple[np.ndarray, int, int]]) -> np.ndarray:
        """Rows of ``snap`` found by FAISS for any probe ``(vectors, k_profile,
        k_items)``: a row whose whole profile is among the ``k_profile`` nearest of
        one of the vectors, or which owns one of its ``k_items`` nearest items (0
        skips that search). The caller scores them exactly."""
        keys: list[np.ndarray] = []
        # no index lock: each store serialises its own FAISS calls with a writer's
        # (short) FAISS changes; keys the snapshot does not know are skipped below
        for vecs, k_prof, k_items in probes:
            if len(vecs) == 0:
                continue
            v = np.ascontiguousarray(vecs, dtype=np.float32)
            if k_prof > 0:
                _, p = self.profile.search(v, k_prof)
                keys.append(p[p >= 0])
            if k_items > 0:
                _, it = self.items.search(v, k_items)
                keys.append(it[it >= 0] >> ITEM_BITS)
        if not keys:
            return np.zeros(0, dtype=np.int64)
        return snap.rows_of_keys(np.unique(np.concatenate(keys)))

    def search_shortlist(self, q_vecs: np.ndarray, k: int) -> list[set[str]]:
        """Candidate ids near each query by whole-profile or best-item vector (FAISS)."""
        _, prof_ids = self.profile.search(q_vecs, k)  # each store guards its own FAISS calls
        _, item_ids = self.items.search(q_vecs, k * 4)
        by_key = self.snapshot().id_of_key
        out: list[set[str]] = []
        for pi, ii in zip(prof_ids, item_ids, strict=True):
            s = {by_key[int(x)] for x in pi if int(x) in by_key}
            s |= {by_key[int(x) >> ITEM_BITS] for x in ii if x >= 0 and int(x) >> ITEM_BITS in by_key}
            out.append(s)
        return out

    # -- persistence ------------------------------------------------------------
    def save(self, directory: Path, build_ann: bool = False) -> None:
        """Records, vectors, then ``meta.json``, each file to a temporary name
        first and renamed into place; afterwards the records are read from the
        files just written (memory-mapped)."""
        with self._lock:
            directory.mkdir(parents=True, exist_ok=True)
            clean = self.records.clean
            snap = self._snapshot
            # the current snapshot's columns when it is up to date (not built twice)
            store = snap.store if snap is not None and not self.stale else self.records.store()
            same_dir = store.directory is not None and store.directory.resolve() == directory.resolve()
            if not (clean and same_dir):
                store.save(directory)
            meta = {
                "format": FORMAT_VERSION,
                "kind": self.kind,
                "encoder": self.encoder_name,
                "dim": self.dim,
                "index_type": self.index_type,
                "next_key": self.next_key,
                "count": len(store),
                "items": int(store.item_start[-1]),
            }
            tmp = directory / "meta.json.tmp"
            tmp.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
            self.profile.save(directory, "profile", build=build_ann)
            self.items.save(directory, "items", build=build_ann)
            char = self.unsaved_ngrams(directory, build_ann)
            tmp.replace(directory / "meta.json")
            if not (clean and same_dir):
                self.records = RecordMap(RecordStore.load(directory))
        if char is not None:  # outside the lock: the n-grams never change and carry their own row ids
            save_char(directory, char)
            self._char_saved = (directory, char)

    def unsaved_ngrams(self, directory: Path, build_ann: bool = False) -> CharNgrams | None:
        """The current snapshot's character n-grams where a save to ``directory``
        writes them: after a fit afresh, or any at an offline save (``build_ann``),
        and not written there yet. A write's few transformed rows are not: they are
        matched against the files' rows at the next load instead."""
        snap = self._snapshot
        char = snap._char_ngrams if snap is not None and not self.stale else None
        if (char is None or not char.fitted or not (build_ann or char.stale_rows == 0)
                or self._char_saved == (directory, char)):
            return None
        return char

    def save_ngrams(self, directory: Path) -> bool:
        """Write the snapshot's n-grams beside a saved index where ``save`` would
        (for a snapshot built after the save); whether it wrote them."""
        char = self.unsaved_ngrams(directory)
        if char is not None:
            save_char(directory, char)
            self._char_saved = (directory, char)
        return char is not None

    @classmethod
    def load(cls, directory: Path, encoder_name: str | None = None,
             index_type: str | None = None) -> CandidateIndex:
        path = directory / "meta.json"
        if not path.exists():
            raise IndexOutOfDate(f"{directory} 下没有索引；请运行 kejie index build")
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
            return cls._from_meta(directory, meta, encoder_name, index_type)
        except IndexOutOfDate:
            raise
        except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            # a truncated or hand-edited file: out of date, rebuilt from the database
            raise IndexOutOfDate(f"{directory} 的索引文件无法读取（{type(exc).__name__}）；"
                                 "需要重建索引") from exc

    @classmethod
    def _from_meta(cls, directory: Path, meta: dict[str, Any], encoder_name: str | None,
                   index_type: str | None) -> CandidateIndex:
        if meta.get("format") != FORMAT_VERSION:
            raise IndexOutOfDate(f"{directory} 的索引格式已过期；请运行 kejie index build")
        if encoder_name is not None and meta["encoder"] != encoder_name:
            raise IndexOutOfDate(
                f"{directory} 的索引由编码器 {meta['encoder']} 生成，当前为 {encoder_name}；"
                "请运行 kejie index build"
            )
        obj = cls(meta["kind"], meta["encoder"], int(meta["dim"]), index_type or meta["index_type"])
        obj.next_key = int(meta["next_key"])
        store = RecordStore.load(directory)
        char = load_char(directory)  # rows are matched by id when the snapshot is built
        if char is not None:
            obj._char_base, obj._char_saved = char, (directory, char)
        obj.records = RecordMap(store)
        obj.profile = FaissVectorIndex.load(directory, "profile", index_type=obj.index_type,
                                            ivf_nprobe=ANN_NPROBE)
        obj.items = FaissVectorIndex.load(directory, "items", index_type=obj.index_type,
                                          ivf_nprobe=ANN_NPROBE)
        n_items = int(store.item_start[-1])
        if (len(store) != int(meta["count"]) or n_items != int(meta["items"])
                or len(obj.profile) != len(store) or len(obj.items) != n_items):
            raise IndexOutOfDate(f"{directory} 的索引文件不一致；请运行 kejie index build")
        return obj
