from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from matcher import vector_files
from matcher.errors import IndexOutOfDate
from matcher.index import CandidateIndex
from matcher.index_faiss import FaissVectorIndex
from matcher.types import Candidate, ProfileItem
from tests.matcher.conftest import CountingEncoder, memory_map

N, D = 4000, 64


def _unit(rng: np.random.Generator, n: int, d: int = D) -> np.ndarray:
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _store(rng: np.random.Generator, n: int = N, **kw: object) -> FaissVectorIndex:
    store = FaissVectorIndex(D, "flat", **kw)  # type: ignore[arg-type]
    store.add(np.arange(100, 100 + n), _unit(rng, n))
    return store


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


def _written() -> int:
    """Bytes this process has passed to write() so far."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/self/io")


def _deltas(directory: Path, name: str = "v") -> set[str]:
    return {p.name.split(".")[1] for p in directory.glob(f"{name}.delta-*.npy")}


def _assert_same(loaded: FaissVectorIndex, store: FaissVectorIndex, rng: np.random.Generator) -> None:
    np.testing.assert_array_equal(loaded.ids, store.ids)
    np.testing.assert_array_equal(loaded.vectors, store.vectors)
    some = store.ids[rng.choice(len(store), 50, replace=False)]
    np.testing.assert_array_equal(loaded.get(some), store.get(some))
    np.testing.assert_array_equal(loaded.rows(some), store.rows(some))
    q = _unit(rng, 5)
    for a, b in zip(loaded.search(q, 10), store.search(q, 10), strict=True):
        np.testing.assert_array_equal(a, b)



def test_a_save_after_a_few_changes_writes_a_small_delta_not_the_base(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    store = _store(rng)
    store.save(tmp_path, "v")
    vecs, ids = tmp_path / "v.vecs.npy", tmp_path / "v.ids.npy"
    before = _stamp(vecs), _stamp(ids)
    loaded = FaissVectorIndex.load(tmp_path, "v")
    loaded.add([105, 2000, 3999], _unit(rng, 3))  # replaced in place
    loaded.add(np.arange(9000, 9005), _unit(rng, 5))  # appended
    assert loaded.remove([3500, 3600]) == 2  # two holes: no row moves
    loaded.add([3600], _unit(rng, 1))  # removed, then back (at the end)
    w = _written()
    loaded.save(tmp_path, "v")
    assert _written() - w < 20_000 < vecs.stat().st_size // 40
    assert (_stamp(vecs), _stamp(ids)) == before
    meta = json.loads((tmp_path / "v.json").read_text())
    assert meta["delta"]["changed"] == 3 + 2 and meta["delta"]["tail"] == 6 and meta["delta"]["removed"] == 0
    first = _deltas(tmp_path)
    assert len(first) == 1
    _assert_same(FaissVectorIndex.load(tmp_path, "v"), loaded, rng)

    # a later save (here by a store loaded from base + delta) writes the whole
    # delta since the base again; the previous save's files go one save later
    again = FaissVectorIndex.load(tmp_path, "v")
    again.add([106, 9001], _unit(rng, 2))
    again.remove([9002])
    again.save(tmp_path, "v")
    second = _deltas(tmp_path) - first
    assert len(second) == 1 and first <= _deltas(tmp_path)
    again.add([107], _unit(rng, 1))
    again.save(tmp_path, "v")
    assert not first & _deltas(tmp_path) and second < _deltas(tmp_path) and len(_deltas(tmp_path)) == 2
    assert (_stamp(vecs), _stamp(ids)) == before
    _assert_same(FaissVectorIndex.load(tmp_path, "v"), again, rng)
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("change", ["many", "many_removals", "dtype", "rewritten"])
def test_a_large_or_inexpressible_delta_compacts_into_a_fresh_base(tmp_path: Path, change: str) -> None:
    rng = np.random.default_rng(1)
    store = _store(rng, half_above=N + 1000 if change == "dtype" else None)
    store.save(tmp_path, "v")
    store.add([100], _unit(rng, 1))
    store.save(tmp_path, "v")  # a delta
    assert len(_deltas(tmp_path)) == 1
    vecs = tmp_path / "v.vecs.npy"
    before = _stamp(vecs)
    if change == "many":  # more than DELTA_SHARE of the base
        store.add(np.arange(100, 100 + N // 5), _unit(rng, N // 5))
    elif change == "many_removals":  # holes past DELTA_SHARE of the base: compacted away
        store.remove(np.arange(100, 100 + N // 5))
    elif change == "dtype":  # grown past half_above: the base's float32 rows cannot take it
        store.add(np.arange(20_000, 21_001), _unit(rng, 1001))
        assert store.vectors.dtype == np.float16
    else:  # another store (``kejie index build``) wrote the files meanwhile: a new base
        _store(np.random.default_rng(5)).save(tmp_path, "v")
        before = _stamp(vecs)
        store.add([103], _unit(rng, 1))
    store.save(tmp_path, "v")
    assert _stamp(vecs) != before
    assert json.loads((tmp_path / "v.json").read_text())["delta"] is None
    assert len(store.rows_view(store.ids)[0]) == len(store)  # the saving store holds no holes either
    assert not _deltas(tmp_path)
    _assert_same(FaissVectorIndex.load(tmp_path, "v"), store, rng)


def _with_delta(tmp_path: Path) -> FaissVectorIndex:
    rng = np.random.default_rng(2)
    store = _store(rng, n=500)
    store.save(tmp_path, "v")
    store.add([100, 7000], _unit(rng, 2))
    store.remove([550])
    store.save(tmp_path, "v")
    return store


@pytest.mark.parametrize("part", ["ids", "rows", "removed", "vecs", "header"])
@pytest.mark.parametrize("damage", ["truncate", "garbage", "missing"])
def test_a_damaged_delta_or_header_is_out_of_date_never_a_crash(
        tmp_path: Path, part: str, damage: str) -> None:
    _with_delta(tmp_path)
    if part == "header":
        path = tmp_path / "v.json"
    else:
        (tok,) = _deltas(tmp_path)
        path = tmp_path / f"v.{tok}.{part}.npy"
    data = path.read_bytes()
    if damage == "missing":
        path.unlink()
    else:
        path.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"\x93NUMPY garbage" * 3)
    with pytest.raises(IndexOutOfDate):
        FaissVectorIndex.load(tmp_path, "v")


def test_a_base_renamed_in_by_a_save_that_crashed_before_its_header_is_out_of_date(tmp_path: Path) -> None:
    store = _with_delta(tmp_path)
    # the next save's compaction got as far as renaming its base into place
    vector_files.write_base(tmp_path, "v", store.ids, store.vectors)
    with pytest.raises(IndexOutOfDate, match="无法读取"):
        FaissVectorIndex.load(tmp_path, "v")


def test_loads_of_the_same_files_map_one_base_and_copy_only_the_pages_a_delta_touches(tmp_path: Path) -> None:
    store = _with_delta(tmp_path)
    store.add([300], -store.get([300]))
    store.save(tmp_path, "v")
    path = (tmp_path / "v.vecs.npy").resolve()
    smaps = Path("/proc/self/smaps")
    earlier = _anonymous_kb(smaps.read_text(), str(path)) if smaps.exists() else 0  # ``store``'s own
    a, b = FaissVectorIndex.load(tmp_path, "v"), FaissVectorIndex.load(tmp_path, "v")
    ma, mb = memory_map(_raw(a)), memory_map(_raw(b))
    assert ma is not None and mb is not None and ma is not mb
    assert Path(ma.filename).resolve() == Path(mb.filename).resolve() == path
    assert not _raw(a).flags.writeable
    np.testing.assert_array_equal(a.vectors, store.vectors)
    if smaps.exists():  # Linux: the mapping is the file's pages but for the few the delta wrote
        private = _anonymous_kb(smaps.read_text(), str(path)) - earlier
        assert 0 < private <= 2 * 4 * 8  # <= 8 pages per load, of the 32 the base spans
    seen, pos = a.rows_view(a.ids)  # a snapshot's view
    a.add([301], -a.get([301]))  # a write: a fresh copy-on-write mapping, not a copy of the store
    mapped_now = memory_map(_raw(a))
    assert mapped_now is not None and mapped_now is not ma
    np.testing.assert_array_equal(seen[pos], store.vectors)
    np.testing.assert_array_equal(a.get([301]), -store.get([301]))
    np.testing.assert_array_equal(b.vectors, store.vectors)
    if smaps.exists():
        assert _anonymous_kb(smaps.read_text(), str(path)) - earlier - private <= 4 * 8


def _raw(store: FaissVectorIndex) -> np.ndarray:
    """The store's array of rows, holes included (what snapshots view)."""
    return store.rows_view(np.zeros(0, dtype=np.int64) if not len(store) else store.ids[:1])[0]


def _anonymous_kb(smaps: str, path: str) -> int:
    """The copied-on-write (anonymous) pages of the mappings of ``path``."""
    total, inside = 0, False
    for line in smaps.splitlines():
        head = line.split()
        if head and "-" in head[0] and len(head) >= 5:  # a mapping's first line
            inside = line.endswith(path)
        elif inside and head and head[0] == "Anonymous:":
            total += int(head[1])
    return total


def test_an_index_saved_after_one_changed_expert_keeps_its_base_files(  # type: ignore[no-untyped-def]
        tmp_path: Path, experts: list[Candidate], segment, counting_encoder: CountingEncoder) -> None:
    idx = CandidateIndex("expert", counting_encoder.name, counting_encoder.dim)
    idx.upsert(experts, counting_encoder, segment)
    idx.save(tmp_path)
    bases = [tmp_path / f"{s}.{part}.npy" for s in ("profile", "items") for part in ("vecs", "ids")]
    before = [_stamp(p) for p in bases]
    loaded = CandidateIndex.load(tmp_path, counting_encoder.name)
    e1 = experts[0]
    changed = Candidate(e1.id, "expert", e1.name, [ProfileItem("keyword", "氢燃料电池")], e1.attrs)
    assert loaded.upsert([changed], counting_encoder, segment)["updated"] == 1
    loaded.remove([experts[-1].id])
    loaded.save(tmp_path)
    assert [_stamp(p) for p in bases] == before
    fresh = CandidateIndex.load(tmp_path, counting_encoder.name)
    assert fresh.ids() == loaded.ids()
    for store in ("profile", "items"):
        np.testing.assert_array_equal(getattr(fresh, store).ids, getattr(loaded, store).ids)
        np.testing.assert_array_equal(getattr(fresh, store).vectors, getattr(loaded, store).vectors)
    snap, mem = fresh.snapshot(), loaded.snapshot()
    np.testing.assert_array_equal(snap.profile_matrix(), mem.profile_matrix())
    np.testing.assert_array_equal(snap.item_matrix(), mem.item_matrix())


def test_random_writes_saves_and_loads_always_give_back_the_store(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    store = _store(rng, n=300)
    next_id = 10_000
    for step in range(40):
        live = store.ids
        op = rng.integers(4)
        if op == 0:  # replace a few
            some = rng.choice(live, int(rng.integers(1, 8)), replace=False)
            store.add(some, _unit(rng, len(some)))
        elif op == 1:  # append a few
            k = int(rng.integers(1, 8))
            store.add(np.arange(next_id, next_id + k), _unit(rng, k))
            next_id += k
        elif op == 2:  # remove a few, mostly late rows
            store.remove(rng.choice(live[len(live) // 2:], int(rng.integers(1, 4)), replace=False))
        else:  # remove and add back
            some = rng.choice(live, 2, replace=False)
            store.remove(some)
            store.add(some, _unit(rng, 2))
        store.save(tmp_path, "v")
        loaded = FaissVectorIndex.load(tmp_path, "v")
        _assert_same(loaded, store, rng)
        if step % 3 == 0:
            store = loaded  # the next writes and saves are a loaded store's
    assert len(_deltas(tmp_path)) <= 2


def test_after_a_save_that_failed_part_way_the_next_save_is_a_full_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import matcher.index_faiss as index_faiss

    rng = np.random.default_rng(3)
    store = _store(rng, n=500)
    store.save(tmp_path, "v")
    store.add(np.arange(100, 300), _unit(rng, 200))  # a compaction ...
    real = index_faiss._replace_with

    def no_header(path: Path, write: object) -> None:
        if path.suffix == ".json":
            raise OSError("disk full")
        real(path, write)  # type: ignore[arg-type]

    monkeypatch.setattr(index_faiss, "_replace_with", no_header)
    with pytest.raises(OSError):
        store.save(tmp_path, "v")  # ... whose header was never written
    monkeypatch.undo()
    with pytest.raises(IndexOutOfDate):
        FaissVectorIndex.load(tmp_path, "v")
    store.add([301], _unit(rng, 1))
    store.save(tmp_path, "v")
    assert json.loads((tmp_path / "v.json").read_text())["delta"] is None
    _assert_same(FaissVectorIndex.load(tmp_path, "v"), store, rng)


def test_a_delta_saved_before_holes_still_loads_and_the_next_save_compacts(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    store = _store(rng, n=300)
    store.save(tmp_path, "v")
    # the layout of earlier deltas: removed ids moved the rows after them up, and
    # ``rows`` counts rows after that move
    ids, vecs = store.ids, np.asarray(store.vectors)
    kept = np.delete(np.arange(300), [10, 20])
    new_vec = _unit(rng, 2)
    d_ids = np.array([ids[kept[5]], 7000], dtype=np.int64)  # row 5 replaced, one appended
    tok = "0123456789ab"
    for part, arr in (("ids", d_ids), ("rows", np.array([5], dtype=np.int64)),
                      ("removed", ids[[10, 20]]), ("vecs", new_vec)):
        np.save(tmp_path / f"v.delta-{tok}.{part}.npy", arr)
    meta = json.loads((tmp_path / "v.json").read_text())
    meta["delta"] = {"token": tok, "changed": 1, "tail": 1, "removed": 2}
    meta["count"] = 299
    (tmp_path / "v.json").write_text(json.dumps(meta))
    old = FaissVectorIndex.load(tmp_path, "v")
    want_ids = np.concatenate([ids[kept], [7000]])
    np.testing.assert_array_equal(old.ids, want_ids)
    want = np.concatenate([vecs[kept], new_vec[1:]])
    want[5] = new_vec[0]
    np.testing.assert_array_equal(old.vectors, want)
    old.add([7001], _unit(rng, 1))
    old.save(tmp_path, "v")  # no base to write a delta against: a fresh one
    assert json.loads((tmp_path / "v.json").read_text())["delta"] is None
    _assert_same(FaissVectorIndex.load(tmp_path, "v"), old, rng)


def test_files_saved_before_deltas_load_and_the_next_save_writes_a_base(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    store = _store(rng, n=200)
    # the layout of earlier saves: whole .npy files, a header without base or delta
    np.save(tmp_path / "v.ids.npy", store.ids)
    np.save(tmp_path / "v.vecs.npy", store.vectors)
    meta = {"dim": D, "index_type": "flat", "built_type": None, "count": 200, "stale": 0,
            "large_type": "hnsw", "half_above": None}
    (tmp_path / "v.json").write_text(json.dumps(meta))
    old = FaissVectorIndex.load(tmp_path, "v")
    assert memory_map(old.vectors) is not None
    _assert_same(old, store, rng)
    old.add([100], _unit(rng, 1))
    old.save(tmp_path, "v")
    assert json.loads((tmp_path / "v.json").read_text())["delta"] is None
    _assert_same(FaissVectorIndex.load(tmp_path, "v"), old, rng)


def test_writes_after_a_load_keep_snapshots_and_files_and_copy_no_store(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    store = _store(rng, n=2000)
    store.save(tmp_path, "v")
    ref = dict(zip(store.ids.tolist(), np.asarray(store.vectors), strict=True))
    loaded = FaissVectorIndex.load(tmp_path, "v")
    for step in range(6):
        view, pos = loaded.rows_view(loaded.ids)  # a snapshot taken before each write
        seen = np.array(view if pos is None else view[pos])
        if step % 3 == 0:
            new = _unit(rng, 3)
            loaded.add([9000 + step, 9100 + step, 9200 + step], new)  # appended into spare rows
            ref.update(zip([9000 + step, 9100 + step, 9200 + step], new, strict=True))
        elif step % 3 == 1:
            gone = int(loaded.ids[10 * step])  # an early row: a hole, nothing moves up
            loaded.remove([gone])
            ref.pop(gone)
        else:
            some = loaded.ids[[3, 500]]
            v = _unit(rng, 2)
            loaded.add(some, v)
            ref.update(zip(some.tolist(), v, strict=True))
        assert memory_map(_raw(loaded)) is not None  # never copied out of the file
        np.testing.assert_array_equal(view if pos is None else view[pos], seen)  # the snapshot still reads what it read
        assert set(loaded.ids.tolist()) == set(ref)
        want = np.stack([ref[int(i)] for i in loaded.ids]).astype(loaded.vectors.dtype)
        np.testing.assert_array_equal(loaded.get(loaded.ids), want)
    fresh = FaissVectorIndex.load(tmp_path, "v")  # the files were not written
    np.testing.assert_array_equal(fresh.vectors, store.vectors)
    loaded.save(tmp_path, "v")
    np.testing.assert_array_equal(FaissVectorIndex.load(tmp_path, "v").vectors, loaded.vectors)
