"""The empty FAISS structures a ``FaissVectorIndex`` fills, one per index type,
with their parameters (lists, codes, training sample) chosen from the size of
the collection. ``sample(step)`` gives every ``step``-th stored vector as
float32, for training."""

from __future__ import annotations

from collections.abc import Callable

import faiss
import numpy as np

Sample = Callable[[int], np.ndarray]


def empty(kind: str, d: int, n: int, sample: Sample, hnsw_m: int, hnsw_ef_search: int,
          nprobe: int) -> faiss.Index:
    """An empty (trained where it needs training) structure of type ``kind``."""
    if kind == "flat":
        return faiss.IndexIDMap2(faiss.IndexFlatIP(d))
    if kind == "hnsw":
        inner = faiss.IndexHNSWFlat(d, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efSearch = hnsw_ef_search
        return faiss.IndexIDMap2(inner)
    if kind == "ivfpq":
        return _ivfpq(d, n, sample, nprobe)
    # ~4*sqrt(n) lists, but at least 39 training points per list (FAISS's minimum)
    nlist = max(1, min(4096, int(np.sqrt(max(n, 1)) * 4), n // 39))
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
    if n:
        vecs = sample(1)
        ivf.train(vecs if n >= nlist else np.repeat(vecs, nlist, axis=0))
    ivf.nprobe = min(nprobe, nlist)
    # IVF stores external ids itself and deletes by them; an IDMap
    # wrapper would break on IVF's non-compacting removal.
    return ivf


def ivfpq_params(d: int, n: int) -> tuple[int, int, int]:
    """(lists, sub-quantisers, bits per code) of IVF-PQ for ``n`` vectors of ``d``."""
    nlist = max(1, min(1024, int(np.sqrt(max(n, 1)) * 2), n // 64))
    m = next(k for k in (48, 32, 24, 16, 12, 8, 6, 4, 3, 2, 1) if d % k == 0 and k <= max(1, d // 8))
    nbits = 8 if n >= 256 * 39 else 4
    return nlist, m, nbits


def _ivfpq(d: int, n: int, sample: Sample, nprobe: int) -> faiss.Index:
    """IVF lists of PQ codes (no float copy), trained on a fixed-stride sample."""
    nlist, m, nbits = ivfpq_params(d, n)
    ivf = faiss.IndexIVFPQ(faiss.IndexFlatIP(d), d, nlist, m, nbits, faiss.METRIC_INNER_PRODUCT)
    ivf.cp.niter = 10  # coarse k-means; recall comes from nprobe and the exact re-scoring
    ivf.pq.cp.niter = 10
    if n:
        vecs = sample(max(1, n // (64 * nlist)))
        need = max(nlist, 1 << nbits) * 39
        if len(vecs) < need:
            vecs = np.repeat(vecs, -(-need // len(vecs)), axis=0)
        ivf.train(vecs)
    ivf.nprobe = min(nprobe, nlist)
    return ivf


def set_search_params(index: faiss.Index, hnsw_ef_search: int, nprobe: int) -> None:
    """The search-time knobs of a structure read from a file."""
    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap2) else index
    if isinstance(inner, faiss.IndexHNSW):
        inner.hnsw.efSearch = hnsw_ef_search
    elif isinstance(inner, faiss.IndexIVF):
        inner.nprobe = min(nprobe, inner.nlist)
