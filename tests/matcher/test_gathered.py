from __future__ import annotations

import numpy as np
import pytest

from matcher import gathered
from matcher.gathered import gathered_products


@pytest.fixture(params=["torch", "faiss"])
def converter(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "faiss":  # as on a machine without torch
        monkeypatch.setattr(gathered, "_torch", False)
    return str(request.param)


def test_products_of_scattered_float16_rows_equal_the_gathered_float32_product(converter: str) -> None:
    rng = np.random.default_rng(5)
    matrix = rng.standard_normal((5000, 48)).astype(np.float16)
    # more rows than a block, out of order and repeated, as a shortlist's items are not
    sel = np.concatenate([rng.integers(0, 5000, 2 * gathered.BLOCK + 17), [7, 7, 4999, 0]])
    vecs = rng.standard_normal((6, 48)).astype(np.float32)
    want = vecs @ matrix[sel].astype(np.float32).T
    got = gathered_products(matrix, sel, vecs)
    assert got.shape == (6, len(sel)) and got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def test_float32_rows_empty_selections_and_no_vectors(converter: str) -> None:
    rng = np.random.default_rng(6)
    matrix = rng.standard_normal((50, 8)).astype(np.float32)
    vecs = rng.standard_normal((2, 8)).astype(np.float32)
    sel = np.array([3, 1, 40])
    np.testing.assert_allclose(gathered_products(matrix, sel, vecs), vecs @ matrix[sel].T, rtol=1e-6)
    assert gathered_products(matrix.astype(np.float16), np.zeros(0, np.int64), vecs).shape == (2, 0)
    assert gathered_products(matrix.astype(np.float16), sel, np.zeros((0, 8), np.float32)).shape == (0, 3)


def test_threads_do_not_share_a_block_buffer() -> None:
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(7)
    matrix = rng.standard_normal((4000, 32)).astype(np.float16)
    jobs = [(rng.integers(0, 4000, 3000), rng.standard_normal((3, 32)).astype(np.float32)) for _ in range(16)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda j: gathered_products(matrix, *j), jobs))
    for (sel, vecs), g in zip(jobs, got, strict=True):
        np.testing.assert_allclose(g, vecs @ matrix[sel].astype(np.float32).T, rtol=1e-5, atol=1e-4)


def test_products_of_float32_rows(converter: str) -> None:
    from matcher.gathered import products

    rng = np.random.default_rng(8)
    matrix = rng.standard_normal((3000, 40)).astype(np.float32)
    vecs = rng.standard_normal((5, 40)).astype(np.float32)
    got = products(vecs, matrix)
    assert got.shape == (5, 3000) and got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_allclose(got, vecs @ matrix.T, rtol=1e-5, atol=1e-4)
    assert products(vecs[:0], matrix).shape == (0, 3000)


def test_half_vectors_convert_exactly(converter: str) -> None:
    from matcher.gathered import as_float32

    rng = np.random.default_rng(9)
    half = rng.standard_normal((300, 24)).astype(np.float16)
    for src in (half, half[::3]):  # contiguous, and a strided view of rows
        got = as_float32(src)
        assert got.dtype == np.float32 and np.array_equal(got, src.astype(np.float32))
    assert as_float32(half[:0]).shape == (0, 24)


def test_read_only_half_vectors_convert_without_a_warning(converter: str) -> None:
    import warnings

    from matcher.gathered import as_float32

    half = np.random.default_rng(10).standard_normal((20, 8)).astype(np.float16)
    half.flags.writeable = False  # as a memory-mapped index file is
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(as_float32(half), half.astype(np.float32))


def test_products_of_read_only_arrays(converter: str) -> None:
    import warnings

    from matcher.gathered import products

    rng = np.random.default_rng(11)
    matrix = rng.standard_normal((50, 8)).astype(np.float32)
    vecs = rng.standard_normal((3, 8)).astype(np.float32)
    vecs.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(products(vecs, matrix), vecs @ matrix.T, rtol=1e-5, atol=1e-5)
        matrix.flags.writeable = False
        np.testing.assert_allclose(products(vecs, matrix), vecs @ matrix.T, rtol=1e-5, atol=1e-5)
