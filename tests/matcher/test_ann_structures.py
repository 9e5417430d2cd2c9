from __future__ import annotations

import faiss
import numpy as np
import pytest

from matcher import ann_structures


def _unit(n: int, d: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf", "ivfpq"])
def test_each_kind_is_trained_from_the_sample_and_finds_a_stored_vector(kind: str) -> None:
    vecs = _unit(3000, 32)
    steps: list[int] = []

    def sample(step: int) -> np.ndarray:
        steps.append(step)
        return vecs[::step]

    index = ann_structures.empty(kind, 32, len(vecs), sample, hnsw_m=16, hnsw_ef_search=64, nprobe=64)
    assert index.is_trained and index.ntotal == 0
    assert steps == ([] if kind in ("flat", "hnsw") else [1] if kind == "ivf" else [max(1, 3000 // (64 * 46))])
    index.add_with_ids(vecs, np.arange(100, 3100))
    _, ids = index.search(vecs[:20], 5)
    found = (ids == np.arange(100, 120)[:, None]).any(axis=1)  # among its 5 nearest (PQ codes are lossy)
    assert found.mean() >= (0.9 if kind == "ivfpq" else 1.0)


def test_ivfpq_codes_fit_the_dimension_and_size() -> None:
    assert ann_structures.ivfpq_params(384, 1_250_000) == (1024, 48, 8)  # 48-byte codes for d=384
    assert ann_structures.ivfpq_params(384, 250_000) == (1000, 48, 8)
    assert ann_structures.ivfpq_params(32, 3000) == (46, 4, 4)  # few vectors: 4-bit codes
    assert ann_structures.ivfpq_params(30, 100)[1] == 3  # a divisor of d
    index = ann_structures.empty("ivfpq", 32, 3000, lambda step: _unit(3000, 32)[::step], 16, 64, nprobe=32)
    ivf = faiss.downcast_index(index)
    assert (ivf.nlist, ivf.pq.M, ivf.pq.nbits, ivf.nprobe) == (46, 4, 4, 32)


def test_search_params_are_set_on_a_structure_read_back() -> None:
    vecs = _unit(2000, 16)
    index = ann_structures.empty("ivf", 16, 2000, lambda step: vecs[::step], 16, 64, nprobe=4)
    back = faiss.deserialize_index(faiss.serialize_index(index))
    ann_structures.set_search_params(back, hnsw_ef_search=64, nprobe=10_000)
    assert faiss.downcast_index(back).nprobe == faiss.downcast_index(back).nlist  # capped at the lists
    hnsw = ann_structures.empty("hnsw", 16, 0, lambda step: vecs, 8, 32, 4)
    ann_structures.set_search_params(hnsw, hnsw_ef_search=99, nprobe=4)
    assert faiss.downcast_index(hnsw.index).hnsw.efSearch == 99
