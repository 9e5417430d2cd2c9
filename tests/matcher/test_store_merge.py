from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from matcher.store import RecordMap
from matcher.store_columns import Record, RecordStore
from matcher.store_merge import merged
from matcher.types import ProfileItem

WORDS = ["锂电池", "正极", "机器视觉", "缺陷检测", "污水", "膜分离", "焊接", "激光", "茶叶", "育种"]
FIELDS = ["research_area", "achievement", "keyword"]


def _rec(rng: random.Random, cid: str, key: int) -> Record:
    items = [ProfileItem(rng.choice(FIELDS), "".join(rng.sample(WORDS, rng.randint(1, 3))))
             for _ in range(rng.randint(0, 4))]
    return Record(id=cid, key=key, name=f"专家{cid}", items=items, attrs={"city": rng.choice(["福州", "厦门"])},
                  hash=f"{rng.getrandbits(256):064x}", item_tokens=[[c for c in i.text] for i in items])


def _columns(store: RecordStore) -> dict[str, object]:
    return {"ids": store.ids, "fields": store.fields, "vocab": store.vocab,
            **{name: np.asarray(getattr(store, name)).tolist() for name in
               ("keys", "hashes", "item_start", "item_field", "tok_start", "tok_ids")},
            "names": list(store.names[:]), "attrs": list(store.attrs[:]), "texts": list(store.texts[:])}


def test_a_written_map_merges_to_the_store_a_full_rebuild_gives(tmp_path: Path) -> None:
    rng = random.Random(5)
    base = RecordStore.from_records([_rec(rng, f"E{i}", i + 1) for i in range(40)])
    base.save(tmp_path)
    records = RecordMap(RecordStore.load(tmp_path))  # a mapped, read-only base
    records["E3"] = _rec(rng, "E3", 4)  # replaced in place
    records["E17"] = Record(id="E17", key=18, name="新", items=[ProfileItem("new_field", "全新领域")],
                            attrs={}, hash="ab" * 32, item_tokens=[["全新", "领域"]])  # a new field and words
    del records["E0"]
    del records["E21"]
    records["E21"] = _rec(rng, "E21", 22)  # deleted, then written again: now after the base rows
    records["N1"] = _rec(rng, "N1", 100)
    rebuilt = RecordStore.from_records(records[cid] for cid in records)
    got = records.store()
    assert _columns(got) == _columns(rebuilt)
    assert got.ids[-2:] == ["E21", "N1"] and "E0" not in got.row_of
    assert got.record(got.row_of["E17"]).items == [ProfileItem("new_field", "全新领域")]


def test_merging_nothing_written_and_everything_written() -> None:
    rng = random.Random(9)
    recs = [_rec(rng, f"E{i}", i + 1) for i in range(5)]
    base = RecordStore.from_records(recs)
    assert _columns(merged(base, set(), {})) == _columns(base)
    fresh = {r.id: _rec(rng, r.id, r.key) for r in recs}
    assert _columns(merged(base, set(), fresh)) == _columns(RecordStore.from_records(fresh.values()))
    assert len(merged(base, set(base.ids), {})) == 0


def test_random_writes_merge_to_the_store_a_full_rebuild_gives() -> None:
    rng = random.Random(11)
    base = RecordStore.from_records([_rec(rng, f"E{i}", i + 1) for i in range(60)])
    records = RecordMap(base)
    next_key = 100
    for step in range(30):
        live = list(records)
        op = rng.randrange(4)
        if op == 0 and live:  # replace one
            cid = rng.choice(live)
            records[cid] = _rec(rng, cid, records[cid].key)
        elif op == 1:  # add one
            records[f"N{step}"] = _rec(rng, f"N{step}", next_key)
            next_key += 1
        elif op == 2 and live:  # remove one
            del records[rng.choice(live)]
        elif live:  # remove one and write it again
            cid = rng.choice(live)
            key = records[cid].key
            del records[cid]
            records[cid] = _rec(rng, cid, key)
        got = records.store()
        assert _columns(got) == _columns(RecordStore.from_records(records[c] for c in records)), step
