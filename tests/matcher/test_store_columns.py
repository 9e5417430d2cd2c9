"""Records in columns: saved, mapped, decoded, counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matcher.lexical import BM25, ItemBM25
from matcher.store_columns import Record, RecordStore
from matcher.types import ProfileItem
from tests.matcher.conftest import memory_map


def _rec(cid: str, key: int, texts: list[str], **attrs: object) -> Record:
    return Record(id=cid, key=key, name=f"名{cid}", items=[ProfileItem("research_area", t) for t in texts],
                  attrs=dict(attrs), hash=f"{key:064x}", item_tokens=[list(t) for t in texts])


RECS = [_rec("A", 1, ["锂电池", "正极"], city="福州", disciplines=["材料"]),
        _rec("B", 2, []), _rec("C", 3, ["机器视觉"], is_academician=True, tags={"x"})]


def test_store_round_trips_records_through_mapped_files(tmp_path: Path) -> None:
    store = RecordStore.from_records(RECS)
    store.save(tmp_path)
    loaded = RecordStore.load(tmp_path)
    assert memory_map(loaded.tok_ids) is not None and not loaded.tok_ids.flags.writeable
    assert loaded.ids == ["A", "B", "C"] and not list(tmp_path.glob("*.tmp"))
    for r, rec in enumerate(RECS):
        got = loaded.record(r)
        assert (got.id, got.key, got.name, got.items, got.hash, got.item_tokens) == (
            rec.id, rec.key, rec.name, rec.items, rec.hash, rec.item_tokens)
    assert loaded.record(0).attrs == {"city": "福州", "disciplines": ["材料"]}
    assert loaded.record(2).attrs["tags"] == ["x"]  # sets are stored as lists
    assert loaded.profile_text(0) == "锂电池；正极" and loaded.profile_text(1) == ""


def test_bm25_from_the_term_matrix_equals_bm25_from_token_lists() -> None:
    store = RecordStore.from_records(RECS)
    docs = [r.tokens for r in RECS]
    a = BM25().fit(docs)
    b = BM25().fit_counts(store.profile_counts(), store.vocab)
    assert a.vocabulary == b.vocabulary
    q = [["锂", "池", "视"], ["正", "无"]]
    np.testing.assert_array_equal(a.score(q), b.score(q))
    owner = np.repeat(np.arange(3), np.diff(store.item_start))
    items = [t for r in RECS for t in r.item_tokens]
    np.testing.assert_array_equal(ItemBM25().fit(items, owner, 3).score(q),
                                  ItemBM25().fit_counts(store.item_counts(), store.vocab, owner, 3).score(q))


def test_a_damaged_store_file_raises_a_read_error(tmp_path: Path) -> None:
    RecordStore.from_records(RECS).save(tmp_path)
    path = tmp_path / "rec.texts_off.npy"
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(ValueError):
        RecordStore.load(tmp_path)

