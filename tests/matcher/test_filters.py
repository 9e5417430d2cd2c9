from __future__ import annotations

import random

import pytest

from matcher.filters import AttrTable, mask, passes, with_exclusions
from matcher.types import Filters

ATTRS = {"city": "福州市", "disciplines": ["材料科学与工程"], "is_academician": True, "available": False,
         "industry": "新材料"}


def test_no_filters_pass() -> None:
    assert passes("E1", ATTRS, None)
    assert passes("E1", ATTRS, Filters())


def test_city_with_and_without_suffix() -> None:
    assert passes("E1", ATTRS, Filters(cities=["福州"]))
    assert passes("E1", ATTRS, Filters(cities=["厦门市", "福州市"]))
    assert not passes("E1", ATTRS, Filters(cities=["厦门市"]))


def test_discipline_partial_match() -> None:
    assert passes("E1", ATTRS, Filters(disciplines=["材料"]))
    assert not passes("E1", ATTRS, Filters(disciplines=["中医学"]))
    assert not passes("E1", {"city": ""}, Filters(disciplines=["材料"]))


def test_academician_available_exclude_attr_in() -> None:
    assert passes("E1", ATTRS, Filters(academician_only=True))
    assert not passes("E1", {**ATTRS, "is_academician": False}, Filters(academician_only=True))
    assert not passes("E1", ATTRS, Filters(available_only=True))
    assert passes("E1", {**ATTRS, "available": True}, Filters(available_only=True))
    assert not passes("E1", ATTRS, Filters(exclude_ids={"E1"}))
    assert passes("E1", ATTRS, Filters(attr_in={"industry": ["新材料", "化工"]}))
    assert not passes("E1", ATTRS, Filters(attr_in={"industry": ["化工"]}))


def test_mask_and_with_exclusions() -> None:
    ids = ["a", "b", "c"]
    attrs = [{"city": "福州市"}, {"city": "厦门市"}, {"city": "福州市"}]
    assert mask(ids, attrs, Filters(cities=["福州"])).tolist() == [True, False, True]
    f = with_exclusions(Filters(cities=["福州"], exclude_ids={"a"}), {"c"}, {"status": ["open"]})
    assert f.exclude_ids == {"a", "c"} and f.cities == ["福州"] and f.attr_in == {"status": ["open"]}
    # the caller's own attr_in wins
    g = with_exclusions(Filters(attr_in={"status": ["closed"]}), (), {"status": ["open"]})
    assert g.attr_in == {"status": ["closed"]}
    assert with_exclusions(None, {"x"}).exclude_ids == {"x"}


def _random_attrs(rng: random.Random) -> dict[str, object]:
    attrs: dict[str, object] = {}
    if rng.random() < 0.9:
        attrs["city"] = rng.choice(["福州市", "福州", "厦门市", "泉州", "莆田地区", "市", "", None, "闽侯县"])
    if rng.random() < 0.85:
        attrs["disciplines"] = rng.choice([
            [], ["材料科学与工程"], ["材料"], ["中医学", "药学"], [""], "化学", None, ["化学工程", 7],
        ])
    if rng.random() < 0.8:
        attrs["is_academician"] = rng.choice([True, False, 0, 1, "", None])
    if rng.random() < 0.8:
        attrs["available"] = rng.choice([True, False, None, 1, 0])
    if rng.random() < 0.8:
        attrs["industry"] = rng.choice(["新材料", "化工", ["新材料", "海洋"], [], None, 3])
    if rng.random() < 0.5:
        attrs["status"] = rng.choice(["open", "closed", "draft"])
    return attrs


def _random_filters(rng: random.Random, ids: list[str]) -> Filters:
    def some(values: list[object]) -> list[object] | None:
        return rng.sample(values, rng.randint(0, 3)) if rng.random() < 0.4 else None

    return Filters(
        cities=some(["福州", "厦门市", "泉州市", "莆田", "", "闽侯"]),  # type: ignore[arg-type]
        disciplines=some(["材料", "材料科学与工程", "中医", "化学", "", "工程"]),  # type: ignore[arg-type]
        academician_only=rng.random() < 0.2,
        available_only=rng.random() < 0.3,
        exclude_ids=set(rng.sample(ids + ["absent"], rng.randint(0, min(8, len(ids) + 1)))),
        attr_in={name: rng.sample(["新材料", "化工", "海洋", "3", "open", "closed"], rng.randint(0, 3))
                 for name in ("industry", "status", "missing") if rng.random() < 0.25},
    )


def test_vectorised_mask_equals_passes_on_random_candidates() -> None:
    rng = random.Random(7)
    for trial in range(30):
        n = rng.randint(0, 60)
        ids = [f"E{i}" for i in range(n)]
        if trial % 5 == 0 and n:
            ids[-1] = ids[0]  # duplicate ids must all be excluded
        attrs = [_random_attrs(rng) for _ in range(n)]
        table = AttrTable(ids, attrs)
        for _ in range(20):  # the same table (and its cached columns) answers many filter sets
            f = _random_filters(rng, ids)
            expected = [passes(i, a, f) for i, a in zip(ids, attrs, strict=True)]
            assert table.mask(f).tolist() == expected
            assert mask(ids, attrs, f).tolist() == expected
        assert table.mask(None).tolist() == [True] * n


def test_exclusion_only_fast_path_and_groups() -> None:
    ids = ["a", "b", "c", "d"]
    attrs = [{"affiliation": "福州 大学"}, {"affiliation": "厦门大学"}, {}, {"affiliation": "福州大学"}]
    table = AttrTable(ids, attrs)
    assert table.mask(Filters(exclude_ids={"b", "zz"})).tolist() == [True, False, True, True]
    assert table.exclusion_mask(set()).tolist() == [True] * 4

    def squeeze(v: object) -> str:
        return str(v or "").replace(" ", "")

    groups = table.groups("affiliation", squeeze)
    assert groups == {"福州大学": [0, 3], "厦门大学": [1], "": [2]}
    assert table.groups("affiliation", squeeze) is groups  # built once
    with pytest.raises(ValueError):
        AttrTable(["a"], [])
