"""Adding up a query's postings over every document of a term-major matrix."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

from matcher.gathered import torch_module


class Postings:
    """A term-major matrix's postings as torch tensors (views, no copy), made once
    per matrix: ``index_add_`` adds a term's postings ~20 % faster than
    ``np.add.at`` and releases the GIL while it does, so two requests in one
    process add theirs at once. None without torch or for other dtypes."""

    def __init__(self) -> None:
        self._made: tuple[sp.csr_matrix, Any] | None = None

    def of(self, matrix_t: sp.csr_matrix) -> Any:
        made = self._made
        if made is not None and made[0] is matrix_t:
            return made[1]
        torch = torch_module()
        tensors = None
        if torch and matrix_t.data.dtype == np.float32 and matrix_t.indices.dtype in (np.int32, np.int64):
            with warnings.catch_warnings():  # memory-mapped (read-only) arrays: only ever read
                warnings.simplefilter("ignore", UserWarning)
                tensors = (torch.from_numpy(matrix_t.indices), torch.from_numpy(matrix_t.data))
        self._made = (matrix_t, tensors)
        return tensors


def postings_product(q: sp.csr_matrix, matrix_t: sp.csr_matrix, tensors: Any = None) -> np.ndarray:
    """Dense ``q @ matrix_t`` (n_q, n_docs) for a term-major ``matrix_t``: each query
    term's postings are added into the query's row with ``np.add.at``. scipy's
    sparse product builds a sparse result in two passes first; ``np.bincount`` over
    the concatenated postings (the previous way) casts them to int64 and float64
    first. At 250k profiles, where a demand's terms reach ~280k (words) and ~680k
    (character n-grams) postings, that took 3.8 and 9.1 ms per query, this 1.5
    and 3.3 (float32 sums; the scores agree to 1e-6 relative). With ``tensors``
    (``Postings.of(matrix_t)``) torch's ``index_add_`` adds them instead."""
    n_docs = matrix_t.shape[1]
    out = np.zeros((q.shape[0], n_docs), dtype=np.float32)
    indptr, indices, data = matrix_t.indptr, matrix_t.indices, matrix_t.data
    # ``Postings.of(matrix_t)``: the same sums through torch
    t_ind, t_data = tensors if tensors is not None else (None, None)
    rows = torch_module().from_numpy(out) if tensors is not None else out
    for r in range(q.shape[0]):
        a, b = q.indptr[r], q.indptr[r + 1]
        row = rows[r]
        for t, w in zip(q.indices[a:b].tolist(), q.data[a:b].tolist(), strict=True):
            i, j = int(indptr[t]), int(indptr[t + 1])
            if j <= i:
                continue
            if t_ind is not None:
                row.index_add_(0, t_ind[i:j], t_data[i:j], alpha=w)
            else:
                np.add.at(row, indices[i:j], data[i:j] * np.float32(w))
    return out
