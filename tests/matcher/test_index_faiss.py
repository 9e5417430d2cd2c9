from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matcher.index_faiss import FaissVectorIndex
from tests.matcher.conftest import memory_map


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("index_type", ["flat", "hnsw", "ivf"])
def test_add_update_remove_persist_reload(tmp_path: Path, index_type: str) -> None:
    rng = np.random.default_rng(1)
    vecs = _unit(rng, 50, 16)
    ids = np.arange(1000, 1050, dtype=np.int64)
    idx = FaissVectorIndex(16, index_type)
    idx.add(ids, vecs)
    scores, found = idx.search(vecs[7], 1)
    assert found[0, 0] == 1007 and scores[0, 0] == pytest.approx(1.0, abs=1e-4)

    # replace id 1007 with the vector of 1020's opposite: 1007 no longer nearest to its old vector
    idx.add([1007], -vecs[20:21])
    np.testing.assert_array_equal(idx.get([1007])[0], -vecs[20])
    if index_type == "hnsw":
        idx.build()  # HNSW keeps the stale graph entry until rebuilt
    _, found = idx.search(vecs[7], 1)
    assert found[0, 0] != 1007
    _, found = idx.search(-vecs[20], 1)
    assert found[0, 0] == 1007
    assert len(idx) == 50

    assert idx.remove([1010, 1011, 99999]) == 2
    _, found = idx.search(vecs[10], 5)
    assert 1010 not in found[0] and len(idx) == 48

    idx.save(tmp_path, "v")
    again = FaissVectorIndex.load(tmp_path, "v")
    assert len(again) == 48 and again.index_type == index_type
    np.testing.assert_array_equal(again.get([1030]), idx.get([1030]))
    _, found = again.search(vecs[30], 1)
    assert found[0, 0] == 1030  # ids are stable across reload


def test_hnsw_removal_is_filtered_without_rebuild() -> None:
    rng = np.random.default_rng(2)
    vecs = _unit(rng, 40, 8)
    idx = FaissVectorIndex(8, "hnsw")
    idx.add(np.arange(40), vecs)
    idx.search(vecs[0], 1)
    built = idx._faiss
    idx.remove([0, 1, 2])
    scores, found = idx.search(vecs[0], 5)
    assert idx._faiss is built  # no rebuild for 3/40 stale entries
    assert not {0, 1, 2} & set(found[0].tolist()) and (found[0] >= 0).all()
    assert np.isfinite(scores).all()
    idx.remove(list(range(3, 10)))  # now 10/30 stale: rebuilt at the next search
    idx.search(vecs[0], 5)
    assert idx._faiss is not built and idx._stale == 0


def test_auto_picks_by_size_and_validates() -> None:
    assert FaissVectorIndex(4).effective_type() == "flat"  # policy: flat up to 50k
    idx = FaissVectorIndex(4, "auto", auto_threshold=10)
    idx.add(np.arange(5), np.eye(4, dtype=np.float32)[np.arange(5) % 4])
    assert idx.effective_type() == "flat"
    idx.add(np.arange(5, 12), np.eye(4, dtype=np.float32)[np.arange(7) % 4])
    assert idx.effective_type() == "hnsw"
    _, found = idx.search(np.eye(4, dtype=np.float32)[1], 3)
    assert set(found[0].tolist()) == {1, 6, 10}  # the three ids holding e1
    with pytest.raises(ValueError):
        FaissVectorIndex(4, "lsh")
    with pytest.raises(ValueError):
        idx.add([1, 1], np.zeros((2, 4)))


def test_empty_search() -> None:
    idx = FaissVectorIndex(4, "flat")
    scores, ids = idx.search(np.ones(4, dtype=np.float32), 5)
    assert scores.shape == (1, 0) and ids.shape == (1, 0)


def test_ivf_with_several_lists_removes_and_replaces_by_id() -> None:
    rng = np.random.default_rng(3)
    vecs = _unit(rng, 800, 16)
    idx = FaissVectorIndex(16, "ivf", ivf_nprobe=64)
    idx.add(np.arange(800) * 10, vecs)
    idx.search(vecs[0], 1)
    assert idx._faiss.nlist > 1
    idx.remove([0, 10, 20])
    idx.add([30], -vecs[5:6])
    _, found = idx.search(np.stack([vecs[0], vecs[1], -vecs[5]]), 3)
    assert not {0, 10, 20} & set(found.ravel().tolist())
    assert found[2, 0] == 30
    assert idx._faiss.ntotal == 797


def test_rows_view_is_a_view_that_later_writes_do_not_change() -> None:
    rng = np.random.default_rng(0)
    store = FaissVectorIndex(8, "flat")
    vecs = rng.standard_normal((5, 8)).astype(np.float32)
    store.add([10, 11, 12, 13, 14], vecs)
    view, pos = store.rows_view(np.array([10, 11, 12, 13, 14]))
    assert pos is None and np.shares_memory(view, store.vectors) and not view.flags.writeable
    np.testing.assert_array_equal(view, vecs)
    # another order (or a subset): the same view, and the row of each id in it
    other, pos = store.rows_view(np.array([12, 10]))
    assert np.shares_memory(other, store.vectors) and pos is not None and pos.tolist() == [2, 0]
    np.testing.assert_array_equal(other[pos], vecs[[2, 0]])
    assert store.rows_view(np.zeros(0, dtype=np.int64))[0].shape == (0, 8)
    # replacing in place copies the store first: the view keeps the old values
    new = rng.standard_normal((1, 8)).astype(np.float32)
    store.add([11], new)
    np.testing.assert_array_equal(view, vecs)
    np.testing.assert_allclose(store.get([11]), new)
    # once the store is not viewed any more it writes in place again
    before = store.vectors
    store.add([12], new)
    assert store.vectors is before


def test_a_removal_leaves_a_hole_and_moves_or_copies_no_vector(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    store = FaissVectorIndex(8, "flat")
    vecs = rng.standard_normal((6, 8)).astype(np.float32)
    store.add(np.arange(20, 26), vecs)
    raw, _ = store.rows_view(store.ids)
    assert store.remove([21, 99]) == 1
    assert len(store) == 5 and 21 not in store and store.ids.tolist() == [20, 22, 23, 24, 25]
    assert store.rows([22, 25]).tolist() == [2, 5]  # nothing moved up
    after, pos = store.rows_view(np.array([25, 20]))
    assert after is not raw and np.shares_memory(after, raw)  # the same rows, not a copy
    np.testing.assert_array_equal(after[pos], vecs[[5, 0]])
    _, found = store.search(vecs[1:2], 5)
    assert 21 not in found[0].tolist() and len(found[0]) == 5
    store.add([21], vecs[1:2])  # back again: appended, the hole stays until a save compacts
    assert store.rows([21]).tolist() == [6] and len(store) == 6
    store.save(tmp_path, "v")
    again = FaissVectorIndex.load(tmp_path, "v")
    assert again.ids.tolist() == [20, 22, 23, 24, 25, 21] and again.rows([21]).tolist() == [5]
    np.testing.assert_array_equal(again.get([21, 25]), vecs[[1, 5]])
    assert store.rows([21]).tolist() == [5]  # the saving store compacted too, onto the file's pages
    assert memory_map(store.vectors) is not None


def test_ivfpq_keeps_codes_not_floats_and_halves_the_stored_vectors(tmp_path: Path) -> None:
    from bench.common import clustered_vectors

    vecs = clustered_vectors(12_000, 32, clusters=64, seed=4)
    idx = FaissVectorIndex(32, "auto", auto_threshold=1000, large_type="ivfpq", half_above=5000,
                           ivf_nprobe=32)
    idx.add(np.arange(12_000), vecs)
    assert idx.vectors.dtype == np.float16 and idx.effective_type() == "ivfpq"
    # a proposer: callers ask for more than they keep and re-score with the stored vectors
    _, found = idx.search(vecs[:50], 100)
    exact = np.argsort(-(vecs[:50] @ vecs.T), axis=1)[:, :10]
    recall = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)])
    assert recall > 0.9
    assert idx._faiss.code_size * idx._faiss.ntotal < vecs.nbytes / 4
    idx.remove([3])
    idx.add([4], -vecs[4:5])
    _, found = idx.search(np.stack([vecs[3], -vecs[4]]), 5)
    assert 3 not in found[0] and 4 in found[1]
    idx.save(tmp_path, "v")
    again = FaissVectorIndex.load(tmp_path, "v", auto_threshold=1000)
    assert memory_map(again.vectors) is not None and again.vectors.dtype == np.float16
    assert again.large_type == "ivfpq" and again._faiss is not None
    seen, pos = again.rows_view(again.ids)  # what a snapshot holds
    assert pos is None
    row5 = np.array(seen[again.rows([5])[0]])
    again.add([5], vecs[6:7])  # a write goes to a fresh copy-on-write mapping of the file
    assert memory_map(again.vectors) is not None and again.vectors is not seen
    np.testing.assert_allclose(again.get([5])[0], vecs[6], atol=1e-3)
    np.testing.assert_array_equal(seen[again.rows([5])[0]], row5)  # the snapshot's view is unchanged
    np.testing.assert_array_equal(FaissVectorIndex.load(tmp_path, "v").get([5])[0], row5)  # so is the file

