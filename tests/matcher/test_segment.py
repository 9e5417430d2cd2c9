from __future__ import annotations

from pathlib import Path

import pytest

from matcher.segment import make_segmenter, normalize


def test_userdict_term_kept_whole(segment) -> None:  # type: ignore[no-untyped-def]
    tokens = segment("本公司主营海洋生物提取物与工业互联网平台")
    assert "海洋生物" in tokens
    assert "工业互联网" in tokens


def test_userdict_changes_segmentation(tmp_path: Path) -> None:
    plain = make_segmenter(userdict=None, stopwords=None, mode="precise")
    (tmp_path / "dict.txt").write_text("镍钴锰酸\n", encoding="utf-8")
    custom = make_segmenter(userdict=tmp_path / "dict.txt", stopwords=None, mode="precise")
    assert "镍钴锰酸" not in plain("镍钴锰酸锂")
    assert "镍钴锰酸" in custom("镍钴锰酸锂")


def test_stopwords_and_boilerplate_dropped(segment) -> None:  # type: ignore[no-untyped-def]
    tokens = segment("我们公司是高新技术企业，目前主要需要解决锂电池的技术问题。")
    for word in ("我们", "公司", "高新技术企业", "目前", "主要", "需要", "解决", "技术", "问题", "的"):
        assert word not in tokens
    assert "锂电池" in tokens


def test_full_width_normalised_and_lowercased(segment) -> None:  # type: ignore[no-untyped-def]
    assert normalize("ＡＢＣ１２３，ＰＬＣ") == "abc123,plc"
    tokens = segment("ＰＬＣ控制系统与３Ｄ打印")
    assert "plc" in tokens or "plc控制" in tokens
    assert "3d打印" in tokens
    assert not any(any("\uff01" <= ch <= "\uff5e" for ch in t) for t in tokens)


def test_punctuation_and_numbers_dropped(segment) -> None:  # type: ignore[no-untyped-def]
    assert segment("，。；！ 2023 12.5%") == []
    assert segment("") == []


def test_search_mode_emits_subwords(segment) -> None:  # type: ignore[no-untyped-def]
    tokens = segment("锂离子电池")
    assert "锂离子电池" in tokens and "电池" in tokens
    assert make_segmenter()("锂离子电池") == ["锂离子电池"]  # precise is the default
    with pytest.raises(ValueError):
        make_segmenter(mode="fuzzy")


def test_segmenter_is_cached() -> None:
    assert make_segmenter() is make_segmenter()


def test_remembered_segmentation_hands_out_a_fresh_list() -> None:
    from matcher.segment import make_segmenter

    seg = make_segmenter(mode="search")
    a = seg("锂离子电池正极材料")
    a.append("被调用方改过")
    b = seg("锂离子电池正极材料")
    assert "被调用方改过" not in b and b == a[:-1]
