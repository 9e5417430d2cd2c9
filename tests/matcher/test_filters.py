from __future__ import annotations

from matcher.filters import mask, passes, with_exclusions
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
