"""Cell-level cleaning and every validation reason."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from ingest import keys
from ingest.fields import DEMANDS, EXPERTS, SOCIETIES
from ingest.normalize import (
    clean_line,
    clean_text,
    guess_city,
    header_key,
    parse_bool,
    parse_date,
    parse_email,
    parse_int,
    parse_landline,
    parse_list,
    parse_mobile,
    parse_postcode,
    parse_region,
    split_address_postcode,
)


def test_free_text_keeps_chinese_punctuation_but_folds_fullwidth_alnum() -> None:
    assert clean_text("  公司成立于２０１２年，  拥有ＧＭＰ车间。\r\n\r\n\r\n第二段 ") == "公司成立于2012年， 拥有GMP车间。\n\n第二段"
    assert clean_line("运动鞋\n中底\u3000材料") == "运动鞋 中底 材料"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800000501", "13800000501"),
        ("１３８０００００５０１", "13800000501"),
        ("138 0000 0501", "13800000501"),
        ("138-0000-0501", "13800000501"),
        ("+86 13800000501", "13800000501"),
        (13800000501, "13800000501"),
        (13800000501.0, "13800000501"),
        ("", ""),
    ],
)
def test_mobile_accepts(raw: object, expected: str) -> None:
    assert parse_mobile(raw) == expected


@pytest.mark.parametrize("raw", ["1380000", "12800000501", "138000005011", "1380000050a"])
def test_mobile_rejects_with_reason(raw: str) -> None:
    with pytest.raises(ValueError, match="手机号码应为11位数字"):
        parse_mobile(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0591-87654321", "0591-87654321"),
        ("0591 87654321", "0591-87654321"),
        ("(0591)87654321", "0591-87654321"),
        ("（０５９１）８７６５４３２１", "0591-87654321"),
        ("010-6543210", "010-6543210"),
        ("0595-22880011-806", "0595-22880011-806"),
        ("0595-22880011转806", "0595-22880011-806"),
        ("0595-22880011 ext. 806", "0595-22880011-806"),
        ("400-800-1234", "400-800-1234"),
        ("13800000501", "13800000501"),
    ],
)
def test_landline_accepts(raw: str, expected: str) -> None:
    assert parse_landline(raw) == expected


@pytest.mark.parametrize("raw", ["87654321", "0591-123", "591-87654321", "电话"])
def test_landline_needs_area_code(raw: str) -> None:
    with pytest.raises(ValueError, match="办公电话格式应为“区号-号码”"):
        parse_landline(raw)
    with pytest.raises(ValueError, match="传真格式"):
        parse_landline(raw, label="传真")


def test_email() -> None:
    assert parse_email("ＷＡＮＧ＠Example.COM") == "WANG@example.com"
    assert parse_email(" mailto:rd@rongxin.example.com ") == "rd@rongxin.example.com"
    for bad in ["zhang#example.com", "a@b", "a@@example.com", "a b@example.com x", "@example.com"]:
        with pytest.raises(ValueError, match="E-mail格式不正确"):
            parse_email(bad)


@pytest.mark.parametrize(
    ("raw", "city", "county"),
    [
        ("福州", "福州市", ""),
        ("福州市", "福州市", ""),
        ("福建省泉州市晋江市", "泉州市", "晋江市"),
        ("厦门市 思明区", "厦门市", "思明区"),
        ("平潭", "平潭综合实验区", ""),
        ("平潭综合实验区", "平潭综合实验区", ""),
        ("宁德", "宁德市", ""),
        ("", "", ""),
    ],
)
def test_region_normalised(raw: str, city: str, county: str) -> None:
    assert parse_region(raw) == (city, county)


@pytest.mark.parametrize("raw", ["杭州市", "北京", "福建省", "全省"])
def test_unknown_region_rejected(raw: str) -> None:
    with pytest.raises(ValueError, match="所在地区应为福建省设区市"):
        parse_region(raw)


def test_guess_city_from_address_or_submitter() -> None:
    assert guess_city("", "厦门市思明区示例路11号") == "厦门市"
    assert guess_city("福建省科学技术协会") == ""
    assert guess_city("平潭综合实验区科协") == "平潭综合实验区"


def test_bool_int_date_reasons() -> None:
    assert parse_bool("是", label="是否院士") is True
    assert parse_bool("N", label="是否院士") is False
    assert parse_bool("", label="是否院士") is None
    with pytest.raises(ValueError, match="是否院士应填写“是”或“否”"):
        parse_bool("也许", label="是否院士")
    assert parse_int("３", label="可接待次数") == 3
    assert parse_int("4次", label="可接待次数") == 4
    assert parse_int(5.0, label="可接待次数") == 5
    assert parse_int("", label="可接待次数") is None
    with pytest.raises(ValueError, match="可接待次数应为整数"):
        parse_int("三次", label="可接待次数")
    with pytest.raises(ValueError, match="可接待次数应为整数"):
        parse_int(2.5, label="可接待次数")
    with pytest.raises(ValueError, match="之间"):
        parse_int("-1", label="可接待次数", minimum=0, maximum=50)
    assert parse_date("2026年3月", label="填报时间") == date(2026, 3, 1)
    assert parse_date("2026年3月15日", label="填报时间") == date(2026, 3, 15)
    assert parse_date("2026/3/15", label="填报时间") == date(2026, 3, 15)
    assert parse_date("2026.03.15", label="填报时间") == date(2026, 3, 15)
    assert parse_date("20260315", label="填报时间") == date(2026, 3, 15)
    assert parse_date(datetime(2026, 3, 15, 9, 30), label="填报时间") == date(2026, 3, 15)
    assert parse_date(46096, label="填报时间") == date(2026, 3, 15)  # Excel serial day
    for bad in ["三月中旬", "2026-02-30", "2026-13-01"]:
        with pytest.raises(ValueError, match="填报时间不是有效日期"):
            parse_date(bad, label="填报时间")


def test_postcode_and_combined_address() -> None:
    assert parse_postcode("３５０００２") == "350002"
    with pytest.raises(ValueError, match="邮编应为6位数字"):
        parse_postcode("35000")
    assert split_address_postcode("福州市鼓楼区软件大道89号/350003") == ("福州市鼓楼区软件大道89号", "350003")
    assert split_address_postcode("莆田市秀屿区示例路9号（351100）") == ("莆田市秀屿区示例路9号", "351100")
    assert split_address_postcode("福州市鼓楼区 邮编：350003") == ("福州市鼓楼区", "350003")
    assert split_address_postcode("福州市鼓楼区软件大道89号") == ("福州市鼓楼区软件大道89号", "")
    # a house number followed by digits is not a postcode
    assert split_address_postcode("示例路1234567号") == ("示例路1234567号", "")


def test_lists_split_on_strong_then_weak_separators() -> None:
    assert parse_list("脑梗死；中医药疗法；血液流变学") == ["脑梗死", "中医药疗法", "血液流变学"]
    assert parse_list("焊接、铸造，数控加工") == ["焊接", "铸造", "数控加工"]
    # with a strong separator present, 、 stays inside an item
    assert parse_list("高分子材料的合成、改性与加工；发泡材料") == ["高分子材料的合成、改性与加工", "发泡材料"]
    assert parse_list("1. 高镍正极产业化\n2. 2.5D封装", weak="") == ["高镍正极产业化", "2.5D封装"]
    assert parse_list("中医学/中药学", weak="，,") == ["中医学/中药学"]
    assert parse_list(["a", " a ", "b"]) == ["a", "b"]
    assert parse_list(None) == []


def test_header_variants_map_to_fields() -> None:
    assert DEMANDS.field_for("单位名称*") == "enterprise_name"
    assert DEMANDS.field_for(" 单 位 名 称 ") == "enterprise_name"
    assert DEMANDS.field_for("技术需求名称（必填）") == "title"
    assert DEMANDS.field_for("具体的技术需求说明（包括技术难点、预期目标等）") == "description"
    assert DEMANDS.field_for("联系地址/邮编") == "address_postcode"
    assert DEMANDS.field_for("联系地址／邮编") == "address_postcode"
    assert DEMANDS.field_for("E-mail") == DEMANDS.field_for("email") == DEMANDS.field_for("电子邮箱") == "email"
    assert DEMANDS.field_for("Company_Name") == "enterprise_name"
    assert DEMANDS.field_for("所在地区（设区市）") == "region"
    assert DEMANDS.field_for("说不清的列") is None
    assert EXPERTS.field_for("expert_id") == EXPERTS.field_for("专家编号") == "external_id"
    assert EXPERTS.field_for("可接待次数") == EXPERTS.field_for("容量") == "capacity"
    assert EXPERTS.field_for("Research Areas") == "research_areas"
    assert SOCIETIES.field_for("representative_work") == "representative_works"
    assert header_key("＊手机（必填）") == "手机"


def test_dedup_keys_are_stable_and_normalised() -> None:
    a = keys.demand_key("福州榕芯微电子有限公司", "ESD防护")
    assert a == keys.demand_key(" 福州榕芯微电子 有限公司", "ＥＳＤ防护")
    assert a != keys.demand_key("福州榕芯微电子有限公司", "ESD防护设计")
    assert len(a) == 64 and int(a, 16) >= 0
    assert keys.expert_key("EXP001", "林绍琛", "甲") == keys.expert_key("exp001", "别的名字", "乙")
    assert keys.expert_key("", "林绍琛", "甲") != keys.expert_key("", "林绍琛", "乙")
    assert keys.society_key("", "福建省化学会") == keys.society_key("", "福建省 化学会")
