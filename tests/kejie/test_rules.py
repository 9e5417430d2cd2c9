"""The domain rules of kejie.rules: one definition each, used by every layer."""

from __future__ import annotations

import pytest

from kejie import rules
from kejie.rules import (
    MASK,
    affiliation_conflict,
    city_key,
    has_contact,
    parse_bool,
    redact_contacts,
    redact_deep,
)

# ---------------------------------------------------------------- redaction

CONTACT_FORMS = [
    "13912345678",
    "139-1111-2222",
    "139-111-12222",
    "139.1111.2222",
    "139 1111 2222",
    "+86 139 1111 2222",
    "１３９１１１１２２２２",
    "１３９－１１１１－２２２２",
    "0591-87651234",
    "0591.87651234",
    "0591 87651234",
    "(0591)87651234",
    "（０５９１）８７６５１２３４",
    "0593-2345678转801",
    "400-800-1234",
    "chen@ndxny.example.com",
    "a＠b.cn",
    "ｌｉｎ＠ｐｚｈ．ｃｎ",
]


@pytest.mark.parametrize("contact", CONTACT_FORMS)
def test_every_contact_form_is_masked_inside_free_text(contact: str) -> None:
    text = f"需要表面包覆技术，联系人陈工{contact}，欢迎来电。"
    out = redact_contacts(text)
    assert MASK in out
    digits = "".join(ch for ch in contact if ch.isdigit())
    assert contact not in out
    assert not (digits and len(digits) >= 7 and digits in "".join(c for c in out if c.isdigit()))
    assert out.startswith("需要表面包覆技术，联系人陈工") and out.endswith("，欢迎来电。")
    assert has_contact(text) and not has_contact(out)


@pytest.mark.parametrize(
    "text",
    ["传真 87651234", "电话：8765-1234", "QQ：12345678", "微信号: abc_12345", "Tel 87651234"],
)
def test_labelled_numbers_and_ids_are_masked(text: str) -> None:
    assert MASK in redact_contacts(text)


@pytest.mark.parametrize(
    "text",
    [
        "容量提升13.5%，循环2000次，温度45℃，2024年10月完成",
        "尺寸 1200x800mm，功率 3000W，转速 1450 r/min",
        "项目编号 20240512001，投资 500 万元",
        "ISO 9001 认证，GB/T 19001-2016",
    ],
)
def test_technical_numbers_are_kept(text: str) -> None:
    assert redact_contacts(text) == text


def test_redaction_keeps_the_rest_of_the_text_as_written() -> None:
    # full-width punctuation outside the contact is not folded
    assert redact_contacts("（急）请联系：１３９１１１１２２２２！") == f"（急）请联系：{MASK}！"
    assert redact_contacts("") == "" and redact_contacts(None) == ""


def test_redact_deep_walks_models_dicts_and_lists() -> None:
    from pydantic import BaseModel

    class Item(BaseModel):
        name: str
        tags: list[str]
        score: float

    item = Item(name="联系13912345678", tags=["a＠b.cn", "电池"], score=1.5)
    out = redact_deep({"items": [item], "n": 3})
    assert out["n"] == 3
    red = out["items"][0]
    assert red.name == f"联系{MASK}" and red.tags == [MASK, "电池"] and red.score == 1.5
    assert item.name == "联系13912345678"  # the original is not changed


# ---------------------------------------------------------------- yes / no


@pytest.mark.parametrize(
    ("value", "expected"),
    [("是", True), ("Y", True), ("ＹＥＳ", True), ("√", True), (1, True), (1.0, True), (True, True),
     ("否", False), ("不", False), ("不是", False), ("无", False), ("N", False), (0, False), (False, False)],
)
def test_parse_bool_one_rule(value: object, expected: bool) -> None:
    assert parse_bool(value) is expected
    assert parse_bool(value, label="是否院士") is expected


def test_parse_bool_blank_and_unknown() -> None:
    assert parse_bool("") is None and parse_bool(None, True) is True and parse_bool(" ", False) is False
    assert parse_bool("也许", True) is True  # lenient readers keep their default
    with pytest.raises(ValueError, match="是否院士"):
        parse_bool("也许", label="是否院士")


def test_importer_and_rank_reader_agree() -> None:
    """ingest.normalize and kejie.records both use the one rule ("不" used to differ)."""
    from ingest.normalize import parse_bool as ingest_bool
    from kejie.records import parse_bool as records_bool

    for word in ["是", "否", "不", "不是", "可用", "不可用", "√", "×", "1", "0", "ｙ"]:
        assert ingest_bool(word, label="是否可用") is records_bool(word, True) is records_bool(word, False)
    assert records_bool("", True) is True and ingest_bool("", label="x") is None


# ---------------------------------------------------------------- cities


@pytest.mark.parametrize(
    ("a", "b"),
    [("泉州市", "泉州"), ("福建省泉州市", "泉州"), ("泉州 市", "泉州"), ("平潭综合实验区", "平潭"),
     ("仙游县", "仙游"), ("鼓楼区", "鼓楼"), ("厦门", "厦门市")],
)
def test_city_key(a: str, b: str) -> None:
    assert city_key(a) == city_key(b)


def test_filters_and_event_plan_use_the_one_city_key() -> None:
    import kejie.events.scope as event_plan
    import matcher.filters as filters

    assert filters._city_key is rules.city_key
    assert event_plan._city_key is rules.city_key


# ---------------------------------------------------------------- conflicts of interest


@pytest.mark.parametrize(
    ("affiliation", "enterprise", "expected"),
    [
        ("福建某某集团有限公司", "福建某某集团厦门分公司", True),
        ("福建某某集团有限公司", "福建某某集团有限公司", True),
        ("福州大学；福建某某集团", "福建某某集团有限公司", True),
        ("福建某某集团（厦门）有限公司", "福建某某集团", True),
        ("福州大学", "厦门云图软件有限公司", False),
        ("某某公司", "某某有限公司", False),  # too short to decide
        ("", "福建某某集团有限公司", False),
    ],
)
def test_affiliation_conflict(affiliation: str, enterprise: str, expected: bool) -> None:
    assert affiliation_conflict(affiliation, enterprise) is expected


def test_event_plan_uses_the_one_conflict_rule() -> None:
    import kejie.events.scope as event_plan

    assert event_plan.affiliation_conflict is rules.affiliation_conflict
