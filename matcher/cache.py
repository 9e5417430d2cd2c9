"""Embedding cache: (encoder name, query|passage, sha256(text)) -> float32 vector.

One SQLite file in the index directory (WAL mode, so the API and a CLI run can
share it). Lookups and inserts are batched; 250k x 384 vectors is ~400 MB of
blobs, which SQLite handles without trouble. ``CachedEncoder`` wraps any
encoder so unchanged texts are never encoded twice, and reports progress for
the texts it actually encodes.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from matcher.encoders.base import Encoder

Role = Literal["query", "passage"]
_CHUNK = 900  # host parameters per statement, well under SQLite's limit


def text_hash(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class EmbeddingCache:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS embeddings ("
            " encoder TEXT NOT NULL, role TEXT NOT NULL, hash BLOB NOT NULL,"
            " dim INTEGER NOT NULL, vec BLOB NOT NULL,"
            " PRIMARY KEY (encoder, role, hash)) WITHOUT ROWID"
        )
        self._conn.commit()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def get_many(self, encoder: str, role: Role, hashes: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        with self._lock:
            for start in range(0, len(unique), _CHUNK):
                chunk = unique[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT hash, dim, vec FROM embeddings WHERE encoder=? AND role=? AND hash IN ({marks})",
                    (encoder, role, *chunk),
                )
                for h, dim, blob in rows:
                    found[bytes(h)] = np.frombuffer(blob, dtype=np.float32, count=dim)
        return found

    def put_many(self, encoder: str, role: Role, items: Iterable[tuple[bytes, np.ndarray]]) -> None:
        rows = [
            (encoder, role, h, int(v.shape[0]), np.ascontiguousarray(v, dtype=np.float32).tobytes())
            for h, v in items
        ]
        with self._lock:
            self._conn.executemany(
                "INSERT OR REPLACE INTO embeddings (encoder, role, hash, dim, vec) VALUES (?,?,?,?,?)",
                rows,
            )
            self._conn.commit()

    def count(self, encoder: str | None = None) -> int:
        with self._lock:
            if encoder is None:
                return int(self._conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])
            return int(
                self._conn.execute(
                    "SELECT COUNT(*) FROM embeddings WHERE encoder=?", (encoder,)
                ).fetchone()[0]
            )


ProgressFn = Callable[[int], None]


class CachedEncoder:
    """An ``Encoder`` that consults the cache first and encodes only misses.

    ``progress`` (if set) is called with the number of texts encoded after each
    batch, so a CLI can drive a progress bar.
    """

    def __init__(
        self, inner: Encoder, cache: EmbeddingCache, batch_size: int = 32,
        progress: ProgressFn | None = None,
    ) -> None:
        self.inner = inner
        self.cache = cache
        self.batch_size = batch_size
        self.progress = progress
        self.name = inner.name
        self.dim = inner.dim
        self.hits = 0
        self.misses = 0

    def _encode(self, texts: list[str], role: Role) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        hashes = [text_hash(t) for t in texts]
        found = self.cache.get_many(self.name, role, hashes)
        todo: dict[bytes, str] = {}
        for h, t in zip(hashes, texts, strict=True):
            if h not in found and h not in todo:
                todo[h] = t
        self.hits += len(texts) - sum(1 for h in hashes if h not in found)
        pending = list(todo.items())
        fn = self.inner.encode_queries if role == "query" else self.inner.encode_passages
        for start in range(0, len(pending), self.batch_size):
            batch = pending[start : start + self.batch_size]
            vecs = fn([t for _, t in batch])
            self.cache.put_many(self.name, role, ((h, v) for (h, _), v in zip(batch, vecs, strict=True)))
            for (h, _), v in zip(batch, vecs, strict=True):
                found[h] = v
            self.misses += len(batch)
            if self.progress is not None:
                self.progress(len(batch))
        for i, h in enumerate(hashes):
            out[i] = found[h]
        return out

    def missing(self, texts: Sequence[str], role: Role) -> int:
        """How many distinct texts would have to be encoded (for progress bar totals)."""
        return len(self.missing_texts(texts, role))

    def missing_texts(self, texts: Sequence[str], role: Role) -> list[str]:
        """The distinct texts not in the cache yet, in first-seen order (a backlog to shard)."""
        by_hash: dict[bytes, str] = {}
        for t in texts:
            by_hash.setdefault(text_hash(t), t)
        found = self.cache.get_many(self.name, role, list(by_hash))
        return [t for h, t in by_hash.items() if h not in found]

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts), "query")

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts), "passage")
