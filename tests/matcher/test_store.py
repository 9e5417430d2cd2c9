"""The index's id -> Record mapping over a store plus a delta."""

from __future__ import annotations

import pytest

from matcher.store import RecordMap
from matcher.store_columns import RecordStore
from tests.matcher.test_store_columns import RECS, _rec


def test_record_map_is_a_base_plus_a_delta_in_dict_order() -> None:
    m = RecordMap(RecordStore.from_records(RECS))
    assert m.clean and list(m) == ["A", "B", "C"] and len(m) == 3
    m["B"] = _rec("B", 2, ["新"])  # replaced: keeps its position
    m["D"] = _rec("D", 4, ["氢能"])
    del m["A"]
    assert not m.clean and list(m) == ["B", "C", "D"] and len(m) == 3
    assert m["B"].item_tokens == [["新"]] and m.hash_of("C") == f"{3:064x}"
    assert "A" not in m and m.hash_of("A") is None
    with pytest.raises(KeyError):
        m["A"]  # noqa: B018
    m["A"] = _rec("A", 1, ["回来"])  # deleted then added again: at the end, like a dict
    assert list(m) == ["B", "C", "D", "A"] and len(m) == 4
    store = m.store()
    assert store.ids == ["B", "C", "D", "A"] and store.record(0).item_tokens == [["新"]]
