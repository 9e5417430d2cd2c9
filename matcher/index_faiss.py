"""A FAISS vector store with stable int64 ids.

The vectors themselves (ids + float32 matrix) are the source of truth and are
persisted as ``.npy``; the FAISS structure is derived from them. ``flat``
(exact inner product, ``IndexIDMap2(IndexFlatIP)``) and ``ivf``
(``IndexIVFFlat`` with its own ids) are updated in place. ``hnsw`` takes appends incrementally; a removed or replaced vector
only leaves a stale entry in the graph/lists (HNSW cannot delete): removed
ids are filtered out of search results, a replaced one is found through its
old position until the structure is rebuilt, which happens lazily once more
than ``max_stale`` of the entries are stale (or on ``build()``). Callers
re-score what search proposes with the true vectors (``get``), so staleness
can only cost recall, never a wrong score. ``auto`` follows
``matcher.index_policy.choose_index_type`` (flat up to 50k vectors, then
``large_type``: HNSW by default).

``ivfpq`` (``IndexIVFPQ``, 48-byte codes for d=384) keeps no second float copy
of the vectors: it only proposes candidates, which callers re-score with the
stored vectors. Above ``half_above`` vectors the store keeps them as float16
(half the memory). A loaded store memory-maps its ``.vecs.npy`` read-only, so
processes that load the same files share one copy in the page cache; a write
maps it afresh copy-on-write and writes only the rows it changes. Rows never
move: a vector replaced stays in its row, a new one is appended, a removed one
leaves a hole (id ``HOLE``) until a save compacts. A save writes only what
changed since those files (``matcher.vector_files``: a base plus a delta,
compacted into a fresh base of the live rows when the delta grows, which the
store then maps instead of its private copy). The id -> row map is built only
when a write or ``get`` needs it.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import faiss
import numpy as np

from matcher import ann_structures, vector_files
from matcher.errors import IndexOutOfDate
from matcher.vector_files import HOLE
from matcher.vector_files import replace_with as _replace_with

INDEX_TYPES = ("auto", "flat", "hnsw", "ivf", "ivfpq")
ADD_CHUNK = 65_536  # vectors cast to float32 and added to FAISS at a time


class FaissVectorIndex:
    def __init__(self, dim: int, index_type: str = "auto", auto_threshold: int | None = None,
                 hnsw_m: int = 32, hnsw_ef_search: int = 128, ivf_nprobe: int = 16,
                 max_stale: float = 0.1, large_type: str = "hnsw",
                 half_above: int | None = None) -> None:
        if index_type not in INDEX_TYPES:
            raise ValueError(f"index_type must be one of {INDEX_TYPES}, not {index_type!r}")
        self.dim = dim
        self.index_type = index_type
        self.auto_threshold = auto_threshold
        self.hnsw_m = hnsw_m
        self.hnsw_ef_search = hnsw_ef_search
        self.ivf_nprobe = ivf_nprobe
        self.max_stale = max_stale
        self.large_type = large_type
        self.half_above = half_above
        self._stale = 0
        self._holes = 0  # rows of removed vectors (id HOLE), until a save compacts
        self._ids = np.zeros(0, dtype=np.int64)
        self._vecs = np.zeros((0, dim), dtype=np.float32)
        self._shared = False  # _vecs is viewed by a snapshot (or mapped): copy before writing in place
        self._pos_map: dict[int, int] | None = {}
        self._faiss: faiss.Index | None = None
        self._built_type: str | None = None
        # held for FAISS calls and for swapping ``_ids``/``_vecs`` only: FAISS must
        # not be searched while it is changed, but the writer's copies of the
        # arrays (1 GB at 250k experts) are made before it is taken, so a search
        # waits milliseconds for a write, not seconds
        self._faiss_lock = threading.RLock()
        # the base files last loaded or saved, and the changes since (what a save writes)
        self._base: vector_files.Base | None = None

    # -- data ---------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._ids) - self._holes

    def __contains__(self, id_: int) -> bool:
        return int(id_) in self._pos

    @property
    def _pos(self) -> dict[int, int]:
        """id -> row, built on first use after a load or a removal."""
        if self._pos_map is None:
            self._pos_map = {int(i): k for k, i in enumerate(self._ids.tolist()) if i != HOLE}
        return self._pos_map

    def _live(self) -> np.ndarray | None:
        """The rows that are not holes (None: every row)."""
        return np.flatnonzero(self._ids != HOLE) if self._holes else None

    @property
    def ids(self) -> np.ndarray:
        """The stored ids in row order, holes left out."""
        live = self._live()
        return self._ids if live is None else self._ids[live]

    @property
    def vectors(self) -> np.ndarray:
        """The stored vectors in row order, holes left out (a copy when there are any)."""
        live = self._live()
        return self._vecs if live is None else self._vecs[live]

    def effective_type(self) -> str:
        if self.index_type != "auto":
            return self.index_type
        if self.auto_threshold is not None:
            return "flat" if len(self) <= self.auto_threshold else self.large_type
        from matcher.index_policy import choose_index_type

        kind = choose_index_type(len(self))
        return self.large_type if kind == "hnsw" else kind

    def get(self, ids: np.ndarray | list[int]) -> np.ndarray:
        rows = self.rows(ids)
        return self._vecs[rows] if len(rows) else np.zeros((0, self.dim), dtype=self._vecs.dtype)

    def rows_view(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The vectors of ``ids`` without a copy: (a read-only view of the stored
        rows, the row of each id in it, or None when ``ids`` are the rows in order).
        The store then writes into a fresh array (or mapping) before its next
        in-place write, so the view never changes. What a snapshot holds."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return np.zeros((0, self.dim), dtype=self._vecs.dtype), None
        self._shared = True
        view = self._vecs.view()
        view.flags.writeable = False
        if len(ids) == len(self._ids) and np.array_equal(ids, self._ids):
            return view, None
        return view, self.rows(ids)

    def rows(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """Stored rows of ``ids`` (KeyError for an unknown id)."""
        if len(ids) > 4096:  # a snapshot's every id: a sorted search, not a dict lookup per id
            want = np.asarray(ids, dtype=np.int64)
            order = np.argsort(self._ids, kind="stable")  # holes (-1) sort first and match no id
            pos = np.minimum(np.searchsorted(self._ids[order], want), max(len(order) - 1, 0))
            if len(order) == 0 or not np.array_equal(self._ids[order[pos]], want):
                missing = want[self._ids[order[pos]] != want] if len(order) else want
                raise KeyError(int(missing[0]))
            return np.asarray(order[pos], dtype=np.int64)
        pos_map = self._pos
        return np.fromiter((pos_map[int(i)] for i in ids), dtype=np.int64, count=len(ids))

    def add(self, ids: np.ndarray | list[int], vecs: np.ndarray) -> None:
        """Insert or replace vectors under the given ids."""
        ids = np.asarray(ids, dtype=np.int64)
        vecs = np.ascontiguousarray(vecs, dtype=np.float32).reshape(len(ids), self.dim)
        if len(ids) == 0:
            return
        if len(np.unique(ids)) != len(ids):
            raise ValueError("duplicate ids in one add() call")
        pos = self._pos
        existing = np.fromiter((int(i) in pos for i in ids), dtype=bool, count=len(ids))
        if existing.any():
            rows = self.rows(ids[existing])
            if self._base is not None:
                self._base.touched.update(ids[existing].tolist())
            if self._shared:  # a snapshot views the old array: write into a new one
                old = self._vecs
                fresh = vector_files.private_state(self._base, self._ids, lambda p: old[p])
                fresh = np.array(old) if fresh is None else fresh
                with self._faiss_lock:
                    self._vecs, self._shared = fresh, False
            self._vecs[rows] = vecs[existing]
            if self._faiss is not None:
                with self._faiss_lock:
                    if self._built_type in ("flat", "ivf", "ivfpq"):
                        self._faiss.remove_ids(ids[existing])
                        self._faiss.add_with_ids(vecs[existing], ids[existing])
                    else:
                        self._stale += int(existing.sum())
        new = ~existing
        if new.any():
            start = len(self._ids)
            all_ids = np.concatenate([self._ids, ids[new]])
            all_vecs = self._appended(all_ids, vecs[new].astype(self._vecs.dtype))
            if self.half_above is not None and len(all_ids) > self.half_above and all_vecs.dtype != np.float16:
                all_vecs = all_vecs.astype(np.float16)
            for k, i in enumerate(ids[new].tolist()):
                pos[i] = start + k
            with self._faiss_lock:
                self._ids, self._vecs, self._shared = all_ids, all_vecs, False
                if self._faiss is not None:
                    if self._built_type != self.effective_type():
                        self._faiss = None
                    else:
                        self._faiss.add_with_ids(vecs[new], ids[new])

    def _appended(self, all_ids: np.ndarray, extra: np.ndarray) -> np.ndarray:
        """The vectors with ``extra`` appended: in the base file's spare rows when it
        has them (``vector_files.private_state``), else a new array."""
        old, start = self._vecs, len(self._vecs)

        def rows_of(p: np.ndarray) -> np.ndarray:
            out = np.empty((len(p), self.dim), dtype=old.dtype)
            here = p < start
            out[here] = old[p[here]]
            out[~here] = extra[p[~here] - start]
            return out

        fresh = vector_files.private_state(self._base, all_ids, rows_of)
        return np.concatenate([old, extra]) if fresh is None else fresh

    def remove(self, ids: np.ndarray | list[int]) -> int:
        """Remove these ids: each leaves a hole in its row (no vector is moved or copied)."""
        pos = self._pos
        drop = np.fromiter({int(i) for i in ids if int(i) in pos}, dtype=np.int64)
        if not len(drop):
            return 0
        rows = self.rows(drop)
        new_ids = self._ids.copy()  # not in place: the base files' ids (``Base.ids``) may be this array
        new_ids[rows] = HOLE
        with self._faiss_lock:
            self._ids, self._holes = new_ids, self._holes + len(drop)
            for i in drop.tolist():
                del pos[i]
            if self._faiss is not None:
                if self._built_type in ("flat", "ivf", "ivfpq"):
                    self._faiss.remove_ids(drop)
                else:
                    self._stale += len(drop)
        return len(drop)

    # -- search -------------------------------------------------------------
    def _build(self) -> faiss.Index:
        kind = self.effective_type()
        live = self._live()

        def sample(step: int) -> np.ndarray:
            return np.asarray(self._vecs[::step] if live is None else self._vecs[live[::step]], dtype=np.float32)

        index = ann_structures.empty(kind, self.dim, len(self), sample, self.hnsw_m, self.hnsw_ef_search,
                                     self.ivf_nprobe)
        for s in range(0, len(self), ADD_CHUNK):
            rows = slice(s, s + ADD_CHUNK) if live is None else live[s: s + ADD_CHUNK]
            index.add_with_ids(np.asarray(self._vecs[rows], dtype=np.float32), self._ids[rows])
        self._built_type = kind
        self._stale = 0
        return index

    def build(self) -> None:
        """Build (or rebuild) the FAISS structure now instead of at the next search."""
        with self._faiss_lock:
            self._faiss = self._build()

    def _needs_rebuild(self) -> bool:
        if self._faiss is None:
            return True
        if self._built_type != self.effective_type():
            return True
        return self._stale > self.max_stale * max(len(self), 1)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query; missing slots have id -1."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = min(k, len(self))
        if k <= 0:
            n = queries.shape[0]
            return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
        with self._faiss_lock:
            if self._needs_rebuild():
                self._faiss = self._build()
            if not self._stale:
                return self._faiss.search(queries, k)
            # stale entries may crowd the top k: ask for more, drop removed ids
            scores, ids = self._faiss.search(queries, min(k + self._stale, self._faiss.ntotal))
        live = np.vectorize(lambda i: int(i) in self._pos, otypes=[bool])(ids) if ids.size else ids.astype(bool)
        out_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
        out_i = np.full((len(queries), k), -1, dtype=np.int64)
        for r in range(len(queries)):
            seen: set[int] = set()
            c = 0
            for s_, i_, ok in zip(scores[r], ids[r], live[r], strict=True):
                if ok and int(i_) not in seen and c < k:
                    seen.add(int(i_))
                    out_s[r, c], out_i[r, c] = s_, i_
                    c += 1
        return out_s, out_i

    # -- persistence ------------------------------------------------------------
    def save(self, directory: Path, name: str, build: bool = False) -> None:
        """Persist; ``build=True`` first builds a missing or stale ANN structure
        so that the next process to load it does not pay for that."""
        directory.mkdir(parents=True, exist_ok=True)
        if build and self.effective_type() != "flat" and len(self) and self._needs_rebuild():
            self.build()
        # only what changed since the base files when that is small (a delta segment),
        # else a fresh base; every file is new or goes to a temporary name first and
        # is renamed into place, and the header last: a crash mid-save leaves the
        # previous files whole and consistent
        # a save that fails part way leaves no base to write a delta against: the next is full
        base, self._base = self._base, None
        delta = None
        if base is not None and base.same(directory, name) and vector_files.saved_tag(directory, name) == base.tag:
            delta = vector_files.write_delta(base, self._ids, self._vecs)
        if base is None or delta is None:
            base = vector_files.write_base(directory, name, self._ids, self._vecs)
            # the rows just written, compacted, from the page cache instead of a private copy
            with self._faiss_lock:
                if self._holes:  # rows moved up over the holes
                    self._holes, self._pos_map = 0, None
                self._ids, self._vecs, self._shared = base.ids, vector_files.mapped_base(base), True
        faiss_path = directory / f"{name}.faiss"
        if self._faiss is not None and self._built_type != "flat":
            index = self._faiss
            _replace_with(faiss_path, lambda tmp: faiss.write_index(index, str(tmp)))
        elif faiss_path.exists():
            faiss_path.unlink()
        meta = {"dim": self.dim, "index_type": self.index_type, "built_type": self._built_type,
                "count": len(self._ids), "stale": self._stale, "large_type": self.large_type,
                "half_above": self.half_above, **vector_files.header(base, delta)}
        _replace_with(directory / f"{name}.json",
                      lambda tmp: tmp.write_text(json.dumps(meta), encoding="utf-8"))
        # the previous delta stays one more save for a reader that read the old header
        keep = {delta["token"], base.delta} if delta is not None else set()
        vector_files.remove_old_deltas(directory, name, keep)
        base.delta = delta["token"] if delta is not None else None
        self._base = base

    @classmethod
    def load(cls, directory: Path, name: str, **kw: object) -> FaissVectorIndex:
        """Read a saved store; a missing, truncated or inconsistent file raises
        ``IndexOutOfDate`` (the caller rebuilds), never anything else."""
        try:
            obj = cls._load(directory, name, **kw)
        except IndexOutOfDate:
            raise
        except (OSError, ValueError, EOFError, KeyError, TypeError, RuntimeError) as exc:
            raise IndexOutOfDate(f"{directory} 的索引文件 {name} 无法读取（{type(exc).__name__}）；"
                                 "需要重建索引") from exc
        if obj._vecs.shape != (len(obj._ids), obj.dim):
            raise IndexOutOfDate(f"{directory} 的索引文件 {name} 不完整；需要重建索引")
        return obj

    @classmethod
    def _load(cls, directory: Path, name: str, **kw: object) -> FaissVectorIndex:
        meta = json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))
        kw.setdefault("index_type", meta["index_type"])
        kw.setdefault("large_type", meta.get("large_type", "hnsw"))
        kw.setdefault("half_above", meta.get("half_above"))
        obj = cls(int(meta["dim"]), **kw)  # type: ignore[arg-type]
        # the base mapped read-only (copy-on-write where a delta is written into it):
        # processes loading the same files share the page cache
        obj._ids, obj._vecs, obj._base = vector_files.load(directory, name, meta, obj.dim)
        obj._holes = int((obj._ids == HOLE).sum())
        obj._shared = True
        obj._pos_map = None
        faiss_path = directory / f"{name}.faiss"
        if faiss_path.exists() and meta.get("built_type") == obj.effective_type():
            index = faiss.read_index(str(faiss_path))
            stale = int(meta.get("stale", 0))
            if index.ntotal >= len(obj):
                ann_structures.set_search_params(index, obj.hnsw_ef_search, obj.ivf_nprobe)
                obj._faiss = index
                obj._built_type = meta["built_type"]
                obj._stale = stale
        return obj
