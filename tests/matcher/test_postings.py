import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from matcher.postings import Postings, postings_product


def _case() -> tuple[sp.csr_matrix, sp.csr_matrix]:
    rng = np.random.default_rng(5)
    dense = (rng.random((60, 500)) * (rng.random((60, 500)) < 0.2)).astype(np.float32)
    dense[59] = 0  # a term no document has
    qd = np.zeros((3, 60), dtype=np.float32)
    qd[0, [0, 2]] = [2, 1]
    qd[1] = rng.random(60) * (rng.random(60) < 0.4)
    qd[1, 59] = 1.5
    return sp.csr_matrix(qd), sp.csr_matrix(dense)


def test_torch_postings_give_the_sparse_product() -> None:
    q, matrix_t = _case()
    tensors = Postings().of(matrix_t)
    assert tensors is not None  # torch is a dependency (sentence-transformers)
    got = postings_product(q, matrix_t, tensors)
    np.testing.assert_allclose(got, (q @ matrix_t).toarray(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got, postings_product(q, matrix_t), rtol=1e-5, atol=1e-6)
    assert not got[2].any()


def test_memory_mapped_postings_are_read_without_a_warning(tmp_path: Path) -> None:
    q, matrix_t = _case()
    for part in ("indices", "data", "indptr"):
        np.save(tmp_path / f"{part}.npy", getattr(matrix_t, part))
    mapped = sp.csr_matrix(tuple(np.load(tmp_path / f"{p}.npy", mmap_mode="r") for p in ("data", "indices", "indptr")),
                           shape=matrix_t.shape)
    postings = Postings()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tensors = postings.of(mapped)
        got = postings_product(q, mapped, tensors)
    np.testing.assert_allclose(got, (q @ matrix_t).toarray(), rtol=1e-5, atol=1e-6)
    assert postings.of(mapped) is tensors  # made once per matrix
    assert postings.of(matrix_t) is not tensors  # another matrix: made afresh


def test_other_dtypes_stay_on_numpy() -> None:
    q, matrix_t = _case()
    as64 = sp.csr_matrix(matrix_t, dtype=np.float64)
    assert Postings().of(as64) is None
