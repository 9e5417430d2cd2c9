from __future__ import annotations

from matcher.demand_text import split_parts, understand


def test_company_boilerplate_is_dropped_and_problem_kept() -> None:
    d = understand(
        "空气预热器智能化",
        "需求内容：开发智能型空气预热器的控制程序。现有工作基础：我公司是连续9年评为高新技术企业，"
        "拥有一个市级工程技术中心。公司成立于2003年，注册资本5000万元。",
    )
    assert "控制程序" in d.focus and d.focus.startswith("空气预热器智能化")
    assert "高新技术企业" not in d.focus and "注册资本" not in d.focus
    assert any("高新技术企业" in x for x in d.dropped)


def test_numbered_demand_splits_into_sub_problems() -> None:
    parts = split_parts("具体包括：1）阻尼可调减振系统开发，响应时间≤15ms。2）主动控制弹性承载系统开发。"
                        "3）路面谱识别与悬架预见性控制")
    assert len(parts) == 3 and parts[0].startswith("阻尼可调减振系统") and "路面谱识别" in parts[2]


def test_circled_and_chinese_numerals_split_too() -> None:
    assert len(understand("镜头", "①自由曲面制造技术 ②塑胶非球面材质的稳定性控制").parts) == 2
    assert len(understand("钻车", "一、远程无线控制技术研究 二、新型钻车结构设计方案").parts) == 2


def test_one_piece_demand_has_no_parts_and_short_text_is_kept_whole() -> None:
    d = understand("喷漆工艺智能化改造", "喷漆工艺智能化，达到无人化或少人化操作")
    assert d.parts == [] and "无人化" in d.focus
    # a demand made only of company text keeps it rather than scoring nothing
    d2 = understand("", "荣获省级荣誉。")
    assert d2.focus == "荣获省级荣誉。"


def test_a_huge_demand_is_bounded_not_refused() -> None:
    from matcher.demand_text import FOCUS_MAX_CHARS, MAX_PARTS, PART_MAX_CHARS

    body = "".join(f"{i}、需要开发高镍正极材料的表面包覆工艺并验证循环寿命。" for i in range(1, 4000))
    d = understand("正极材料" * 500, body)
    assert 0 < len(d.focus) <= FOCUS_MAX_CHARS and len(d.title) <= PART_MAX_CHARS
    assert 0 < len(d.parts) <= MAX_PARTS and all(len(p) <= PART_MAX_CHARS for p in d.parts)
    assert "高镍正极材料" in d.focus


def test_index_items_are_capped_too() -> None:
    from matcher.index import ITEM_MAX_CHARS, clean_items
    from matcher.types import ProfileItem

    [item] = clean_items([ProfileItem("demand_description", "长" * (ITEM_MAX_CHARS * 5))])
    assert len(item.text) == ITEM_MAX_CHARS
