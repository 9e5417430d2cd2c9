"""Inner products of a few query vectors with many rows (scattered, float16).

A query at 250k experts scores the items of ~1,800 shortlisted rows (~9,000
vectors of the memory-mapped float16 item matrix). Gathering them whole and
converting them to float32 writes ~14 MB of fresh memory per query, and
neither numpy's float16 conversion (11 ms for those 3.4M values) nor FAISS's
(7.3 ms) is vectorised: 11.4 ms per query for the product, against 5.3 ms here. ``gathered_products`` reads the rows in blocks
that stay in the cache, converts each block into one per-thread buffer and
multiplies it there, so nothing of the size of the gathered rows is allocated.
The conversion uses torch (the encoders' dependency, vectorised with F16C)
when it can be imported and FAISS's fp16 decoder otherwise; both are exact.

``products`` is the same product for float32 rows already in memory: numpy's
OpenBLAS takes 6.0 ms for 7 vectors against 10,240 x 384 rows (the stats rows'
items, on every query), torch's BLAS 2.2 ms.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np

BLOCK = 1024  # rows per block: 1024 x 384 float32 is 1.5 MB

_local = threading.local()
_torch: Any = None  # the module, False when it cannot be imported


def _torch_module() -> Any:
    global _torch
    if _torch is None:
        try:
            import torch

            _torch = torch
        except ImportError:  # pragma: no cover - torch comes with sentence-transformers
            _torch = False
    return _torch


def torch_module() -> Any:
    """torch when it can be imported, else False (imported once)."""
    return _torch_module()


def warm_half_conversion() -> None:
    """Import the float16 converter now rather than on a first query."""
    _torch_module()


def _buffers(d: int) -> tuple[np.ndarray, np.ndarray]:
    """This thread's float16 and float32 block buffers for dimension ``d``."""
    bufs = getattr(_local, "bufs", None)
    if bufs is None or bufs[0].shape[1] != d:
        bufs = _local.bufs = (np.empty((BLOCK, d), np.float16), np.empty((BLOCK, d), np.float32))
    return bufs


def _to_float32(src: np.ndarray, dst: np.ndarray) -> None:
    """Exact float16 -> float32 of ``src`` into ``dst`` (same shape, both contiguous)."""
    torch = _torch_module()
    if torch and src.flags.writeable:  # torch warns about (and cannot promise) read-only memory
        torch.from_numpy(dst).copy_(torch.from_numpy(src))
        return
    n, d = src.shape
    sq = _decoder(d)
    sq.decode_c(faiss.swig_ptr(src.view(np.uint8)), faiss.swig_ptr(dst), n)


def half_to_float32(src: np.ndarray) -> np.ndarray:
    """A new float32 copy of the contiguous (n, d) float16 ``src``."""
    out = np.empty(src.shape, dtype=np.float32)
    _to_float32(src, out)
    return out


_DECODERS: dict[int, faiss.ScalarQuantizer] = {}


def _decoder(d: int) -> faiss.ScalarQuantizer:
    sq = _DECODERS.get(d)
    if sq is None:  # no training: fp16 codes are the float16 bytes themselves
        sq = _DECODERS.setdefault(d, faiss.ScalarQuantizer(d, faiss.ScalarQuantizer.QT_fp16))
    return sq


def products(vecs: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``vecs @ matrix.T`` as float32 (len(vecs), len(matrix)) for float32 ``matrix``."""
    vecs = np.ascontiguousarray(vecs, dtype=np.float32)
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    torch = _torch_module()
    if not torch or len(vecs) == 0 or len(matrix) == 0 or not matrix.flags.writeable:
        return np.asarray(vecs @ matrix.T, dtype=np.float32)
    if not vecs.flags.writeable:  # a few vectors: a copy that torch may wrap
        vecs = vecs.copy()
    # rows x vectors (with the vectors' transpose a view) is the fast orientation for a
    # few vectors against many rows; the result's transpose is small
    return np.ascontiguousarray((torch.from_numpy(matrix) @ torch.from_numpy(vecs).T).numpy().T)


def gathered_products(matrix: np.ndarray, sel: np.ndarray, vecs: np.ndarray) -> np.ndarray:
    """``vecs @ matrix[sel].T`` as float32 (len(vecs), len(sel)), without gathering
    ``matrix[sel]`` whole. ``matrix``: (n, d) float16 or float32."""
    vecs = np.ascontiguousarray(vecs, dtype=np.float32)
    n_v, n = len(vecs), len(sel)
    if n == 0 or n_v == 0:
        return np.zeros((n_v, n), dtype=np.float32)
    if matrix.dtype != np.float16:
        return np.asarray(vecs @ np.asarray(matrix[sel], dtype=np.float32).T, dtype=np.float32)
    d = matrix.shape[1]
    g16, g32 = _buffers(d)
    out = np.empty((n_v, n), dtype=np.float32)
    torch = _torch_module()
    if torch:
        t32, t_v, t_out = torch.from_numpy(g32), torch.from_numpy(vecs), torch.from_numpy(out)
    for a in range(0, n, BLOCK):
        s = sel[a: a + BLOCK]
        m = len(s)
        np.take(matrix, s, axis=0, out=g16[:m])
        _to_float32(g16[:m], g32[:m])
        if torch:
            # vectors x block: 4x faster than block x vectors for 2-7 vectors (BLAS's
            # kernel for a thin right-hand side), same figures
            t_out[:, a: a + m] = torch.mm(t_v, t32[:m].T)
        else:
            np.matmul(vecs, g32[:m].T, out=out[:, a: a + m])
    return out


def as_float32(vecs: np.ndarray) -> np.ndarray:
    """``vecs`` as a new float32 array; (n, d) float16 converted as above."""
    if vecs.dtype == np.float16 and vecs.ndim == 2 and len(vecs):
        return half_to_float32(np.ascontiguousarray(vecs))
    return np.array(vecs, dtype=np.float32)


@dataclass
class ItemRows:
    """Item vectors of the scored rows, and which scored row owns each (in row order):
    rows ``sel`` of ``source`` (the snapshot's item matrix), or ``vecs`` once
    gathered as float32 (the stats rows', kept per snapshot)."""

    source: np.ndarray
    sel: np.ndarray
    owner: np.ndarray
    n_rows: int
    has_items: np.ndarray
    _vecs: np.ndarray | None = None

    @property
    def vecs(self) -> np.ndarray:
        """The items as float32 (gathered on first use)."""
        if self._vecs is None:
            self._vecs = as_float32(self.source[self.sel])
        return self._vecs

    def products(self, vecs: np.ndarray) -> np.ndarray:
        """``vecs @ items.T``; read from the source in blocks unless already gathered."""
        if self._vecs is not None:
            return products(vecs, self._vecs)
        return gathered_products(self.source, self.sel, vecs)
