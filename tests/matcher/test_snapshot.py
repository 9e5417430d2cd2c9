from __future__ import annotations

import numpy as np
import pytest

from matcher.index import ITEM_BITS, CandidateIndex
from matcher.ranker import RankConfig, Ranker
from matcher.types import Candidate, ProfileItem
from tests.matcher.conftest import CountingEncoder


def _index(experts: list[Candidate], segment, encoder: CountingEncoder) -> CandidateIndex:  # type: ignore[no-untyped-def]
    idx = CandidateIndex("expert", encoder.name, encoder.dim, "flat")
    idx.upsert(experts, encoder, segment)
    return idx


def test_rows_out_of_the_stores_order_are_read_through_the_row_map(  # type: ignore[no-untyped-def]
        experts: list[Candidate], segment, counting_encoder: CountingEncoder) -> None:
    idx = _index(experts, segment, counting_encoder)
    first = idx.snapshot()
    assert first.profile_pos is None and first.item_pos is None  # the stores' rows in order
    e1, e2 = experts[0], experts[1]
    # E1 gains an item (appended at the stores' end), E2 loses two (holes), E3 goes
    grown = Candidate(e1.id, "expert", e1.name, [*e1.items, ProfileItem("keyword", "固态电池隔膜")], e1.attrs)
    shrunk = Candidate(e2.id, "expert", e2.name, e2.items[:1], e2.attrs)
    idx.upsert([grown, shrunk], counting_encoder, segment)
    idx.remove([experts[2].id])
    snap = idx.snapshot()
    assert snap.profile_pos is not None and snap.item_pos is not None
    assert np.shares_memory(snap.items, idx.items.rows_view(idx.items.ids)[0])  # viewed, not copied
    keys = np.asarray(snap.store.keys, dtype=np.int64)
    item_keys = (keys[snap.item_owner] << ITEM_BITS) | snap.item_index
    np.testing.assert_array_equal(snap.item_matrix(), idx.items.get(item_keys))
    np.testing.assert_array_equal(snap.profile_matrix(), idx.profile.get(keys))
    rows = np.array([2, 0])
    np.testing.assert_array_equal(snap.profile_of(rows), idx.profile.get(keys[rows]))
    a, b = int(snap.item_start[0]), int(snap.item_start[1])
    np.testing.assert_array_equal(snap.items_of(slice(a, b)), idx.items.get(item_keys[a:b]))
    assert b - a == len(grown.items)
    np.testing.assert_array_equal(snap.item_sample(2), idx.items.get(item_keys[::2]))


@pytest.mark.parametrize("exhaustive_limit", [20_000, 0])  # every row scored / a shortlist first
def test_a_ranking_is_the_same_through_the_row_map_as_on_a_fresh_index(  # type: ignore[no-untyped-def]
        experts: list[Candidate], segment, counting_encoder: CountingEncoder, exhaustive_limit: int) -> None:
    idx = _index(experts, segment, counting_encoder)
    e1 = experts[0]
    grown = Candidate(e1.id, "expert", e1.name, [ProfileItem("keyword", "中药制剂"), *e1.items], e1.attrs)
    idx.upsert([grown], counting_encoder, segment)
    idx.remove([experts[3].id])
    fresh = _index([grown, *experts[1:3]], segment, counting_encoder)
    assert idx.snapshot().item_pos is not None and fresh.snapshot().item_pos is None
    for query in ("中药制剂工艺", "氢燃料电池", "机器视觉检测"):
        config = RankConfig(exhaustive_limit=exhaustive_limit)
        got = Ranker(idx, counting_encoder, segment, config=config).rank(query, 3)
        want = Ranker(fresh, counting_encoder, segment, config=config).rank(query, 3)
        assert got and [(m.id, round(m.score, 5), m.reasons) for m in got] == [
            (m.id, round(m.score, 5), m.reasons) for m in want]


def test_concurrent_first_readers_build_the_char_ngrams_once(  # type: ignore[no-untyped-def]
        experts: list[Candidate], segment, counting_encoder: CountingEncoder,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    from matcher.lexical import CharNgrams

    idx = _index(experts, segment, counting_encoder)
    snap = idx.snapshot()
    fits: list[int] = []
    real_fit = CharNgrams.fit

    def slow_fit(self: CharNgrams, docs):  # type: ignore[no-untyped-def]
        fits.append(len(docs))
        time.sleep(0.2)  # long enough for every reader to arrive while it runs
        return real_fit(self, docs)

    monkeypatch.setattr(CharNgrams, "fit", slow_fit)
    got: list[object] = []
    readers = [threading.Thread(target=lambda: got.append(snap.char_ngrams)) for _ in range(4)]
    for t in readers:
        t.start()
    for t in readers:
        t.join()
    assert fits == [len(snap)]
    assert len(got) == 4 and all(g is got[0] for g in got)
