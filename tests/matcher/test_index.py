from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matcher.errors import IndexOutOfDate
from matcher.index import ITEM_BITS, CandidateIndex
from matcher.types import Candidate, ProfileItem
from tests.matcher.conftest import CountingEncoder, memory_map


def test_upsert_skips_unchanged_and_keeps_keys(experts: list[Candidate], segment,  # type: ignore[no-untyped-def]
                                               counting_encoder: CountingEncoder) -> None:
    idx = CandidateIndex("expert", counting_encoder.name, counting_encoder.dim, "flat")
    assert idx.upsert(experts, counting_encoder, segment) == {"added": 4, "updated": 0, "unchanged": 0}
    key_e2 = idx.records["E2"].key
    calls = counting_encoder.calls
    assert idx.upsert(experts, counting_encoder, segment)["unchanged"] == 4
    assert counting_encoder.calls == calls  # nothing re-encoded

    changed = Candidate("E2", "expert", "李中医", [ProfileItem("research_area", "中药制剂")], experts[1].attrs)
    assert idx.upsert([changed], counting_encoder, segment)["updated"] == 1
    assert idx.records["E2"].key == key_e2
    # stale item vectors of E2 were dropped (it had 3 items, now 1)
    assert (key_e2 << ITEM_BITS | 1) not in idx.items
    assert len(idx.items) == 3 + 3 + 3 + 1

    assert idx.remove(["E3", "nope"]) == 1
    assert "E3" not in idx and len(idx.profile) == 3
    snap = idx.snapshot()
    assert snap.ids == ["E1", "E2", "E4"]
    # the stores' rows are viewed, not copied: E3's and E2's old rows are holes,
    # E2's item is read through the snapshot's row map
    assert snap.items.shape == (12, counting_encoder.dim) and snap.item_matrix().shape == (7, counting_encoder.dim)
    assert np.shares_memory(snap.items, idx.items.rows_view(idx.items.ids)[0])
    np.testing.assert_array_equal(snap.items_of(np.array([3])), idx.items.get([key_e2 << ITEM_BITS]))
    np.testing.assert_array_equal(snap.profile_of(np.array([1])), idx.profile.get([key_e2]))
    assert snap.item_start.tolist() == [0, 3, 4, 7]
    assert snap.item_owner.tolist() == [0, 0, 0, 1, 2, 2, 2]


def test_save_load_roundtrip(tmp_path: Path, experts: list[Candidate], segment,  # type: ignore[no-untyped-def]
                             counting_encoder: CountingEncoder) -> None:
    idx = CandidateIndex("expert", counting_encoder.name, counting_encoder.dim)
    idx.upsert(experts, counting_encoder, segment)
    idx.save(tmp_path / "expert")
    loaded = CandidateIndex.load(tmp_path / "expert", counting_encoder.name)
    assert loaded.ids() == idx.ids()
    assert loaded.records["E1"].key == idx.records["E1"].key
    assert loaded.records["E1"].item_tokens == idx.records["E1"].item_tokens
    assert loaded.get("E1").attrs["is_academician"] is True
    assert loaded.next_key == idx.next_key
    with pytest.raises(IndexOutOfDate):
        CandidateIndex.load(tmp_path / "expert", "other-encoder")
    with pytest.raises(IndexOutOfDate):
        CandidateIndex.load(tmp_path / "missing")
    with pytest.raises(IndexOutOfDate):
        loaded.upsert(experts, CountingEncoder("other-encoder"), segment)


def test_blank_and_duplicate_items_are_dropped(segment, counting_encoder: CountingEncoder) -> None:  # type: ignore[no-untyped-def]
    c = Candidate("X", "expert", "x", [ProfileItem("keyword", "  "), ProfileItem("keyword", "锂电池"),
                                       ProfileItem("keyword", "锂电池")])
    idx = CandidateIndex("expert", counting_encoder.name, counting_encoder.dim)
    idx.upsert([c], counting_encoder, segment)
    assert [i.text for i in idx.records["X"].items] == ["锂电池"]


def test_snapshot_views_stored_vectors_and_stays_immutable(experts: list[Candidate], segment,  # type: ignore[no-untyped-def]
                                                           counting_encoder: CountingEncoder) -> None:
    idx = CandidateIndex("expert", counting_encoder.name, counting_encoder.dim, "flat")
    idx.upsert(experts, counting_encoder, segment)
    snap = idx.snapshot()
    # no third copy of the vectors: the snapshot reads the stores' arrays
    assert np.shares_memory(snap.profile, idx.profile.vectors)
    assert np.shares_memory(snap.items, idx.items.vectors)
    old_profile, old_items = snap.profile.copy(), snap.items.copy()
    e1 = experts[0]
    changed = Candidate(e1.id, "expert", e1.name, [ProfileItem(i.field, i.text + "改") for i in e1.items], e1.attrs)
    assert idx.upsert([changed], counting_encoder, segment)["updated"] == 1
    np.testing.assert_array_equal(snap.profile, old_profile)
    np.testing.assert_array_equal(snap.items, old_items)
    fresh = idx.snapshot()
    assert fresh is not snap
    assert not np.array_equal(fresh.profile[0], old_profile[0])
    np.testing.assert_array_equal(fresh.profile[1:], old_profile[1:])
    assert fresh.attr_table.mask(None).shape == (len(experts),)


@pytest.mark.parametrize("victim", ["meta.json", "profile.ids.npy", "profile.vecs.npy", "items.vecs.npy",
                                    "items.json", "profile.json", "rec.json", "rec.keys.npy",
                                    "rec.tok_ids.npy", "rec.texts_blob.npy", "rec.attrs_off.npy"])
@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_an_unreadable_index_file_is_out_of_date_never_a_crash(  # type: ignore[no-untyped-def]
        tmp_path: Path, experts: list[Candidate], segment, counting_encoder: CountingEncoder,
        victim: str, damage: str) -> None:
    idx = CandidateIndex("expert", counting_encoder.name, counting_encoder.dim)
    idx.upsert(experts, counting_encoder, segment)
    idx.save(tmp_path)
    path = tmp_path / victim
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"\x00garbage" * 3)
    with pytest.raises(IndexOutOfDate):
        CandidateIndex.load(tmp_path, counting_encoder.name)


def test_save_leaves_no_temporary_files_and_replaces_whole_files(  # type: ignore[no-untyped-def]
        tmp_path: Path, experts: list[Candidate], segment, counting_encoder: CountingEncoder) -> None:
    idx = CandidateIndex("expert", counting_encoder.name, counting_encoder.dim)
    idx.upsert(experts[:2], counting_encoder, segment)
    idx.save(tmp_path)
    idx.upsert(experts, counting_encoder, segment)
    idx.save(tmp_path)
    assert not list(tmp_path.glob("*.tmp"))
    assert len(CandidateIndex.load(tmp_path, counting_encoder.name)) == len(experts)


def test_a_loaded_index_maps_its_files_and_decodes_records_on_demand(  # type: ignore[no-untyped-def]
        tmp_path: Path, experts: list[Candidate], segment, counting_encoder: CountingEncoder) -> None:
    idx = CandidateIndex("expert", counting_encoder.name, counting_encoder.dim)
    idx.upsert(experts, counting_encoder, segment)
    before = idx.snapshot()
    idx.save(tmp_path)
    loaded = CandidateIndex.load(tmp_path, counting_encoder.name)
    snap = loaded.snapshot()
    assert memory_map(snap.items) is not None and memory_map(snap.store.tok_ids) is not None
    assert snap.ids == before.ids
    assert [snap.tokens(r) for r in range(len(snap))] == [before.tokens(r) for r in range(len(before))]
    q = [["锂电池", "中药"]]
    np.testing.assert_array_equal(snap.bm25.score(q), before.bm25.score(q))
    # a write makes an in-memory delta over the mapped base; saving maps the new files again
    e1 = experts[0]
    changed = Candidate(e1.id, "expert", e1.name, [ProfileItem("keyword", "氢燃料电池")], e1.attrs)
    assert loaded.upsert([changed], counting_encoder, segment)["updated"] == 1
    fresh = loaded.snapshot()
    assert fresh.records[0].items == [ProfileItem("keyword", "氢燃料电池")]
    assert snap.records[0].items == experts[0].items  # the old snapshot is unchanged
    loaded.save(tmp_path)
    assert loaded.records.clean and loaded.get(e1.id).items == changed.items
    assert CandidateIndex.load(tmp_path, counting_encoder.name).get(e1.id).items == changed.items



def test_the_writer_builds_what_readers_of_the_last_snapshot_used(  # type: ignore[no-untyped-def]
        experts: list[Candidate], segment, counting_encoder: CountingEncoder) -> None:
    idx = CandidateIndex("expert", counting_encoder.name, counting_encoder.dim)
    idx.upsert(experts[:-1], counting_encoder, segment)
    first = idx.snapshot()
    assert first._char_ngrams is None and first._attr_table is None  # built on first use
    _ = first.char_ngrams, first.attr_table  # a reader ranked against it
    idx.upsert(experts[-1:], counting_encoder, segment)
    second = idx.snapshot()  # the writer's call
    assert second is not first and len(second) == len(first) + 1
    assert second._char_ngrams is not None and second._attr_table is not None
    assert second._char_ngrams.n_docs == len(second)
    assert second._item_bm25 is None  # nobody used it: not built


def test_a_search_does_not_wait_for_a_writer_holding_the_index(  # type: ignore[no-untyped-def]
        experts: list[Candidate], segment, counting_encoder: CountingEncoder) -> None:
    import threading

    idx = CandidateIndex("expert", counting_encoder.name, counting_encoder.dim)
    idx.upsert(experts, counting_encoder, segment)
    snap = idx.snapshot()
    q = counting_encoder.encode_queries(["锂离子电池正极材料"])
    inside, release = threading.Event(), threading.Event()

    def writer() -> None:  # a write in its locked section (copying arrays, at scale seconds)
        with idx._lock:
            inside.set()
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    inside.wait(5)
    done: list[np.ndarray] = []
    reader = threading.Thread(target=lambda: done.append(idx.search_rows(snap, [(q, 2, 4)])))
    reader.start()
    reader.join(5)
    finished = not reader.is_alive()
    release.set()
    t.join()
    reader.join()
    assert finished, "the search waited for the writer"
    assert snap.row_of["E1"] in done[0].tolist()
