from __future__ import annotations

from matcher.reasons import build_reasons, field_label, shared_terms
from matcher.types import ProfileItem


def test_shared_terms_by_idf() -> None:
    idf = {"正极材料": 3.0, "锂电池": 1.0, "包覆": 2.0}.get
    terms = shared_terms(["锂电池", "正极材料", "包覆", "高温", "镍"], ["包覆", "正极材料", "锂电池", "镍"],
                         lambda t: idf(t, 0.0), limit=2)
    assert terms == ["正极材料", "包覆"]  # single characters are skipped, top 2 by idf


def test_shared_terms_skip_fragments_of_longer_terms() -> None:
    q = ["正极", "材料", "正极材料", "包覆"]
    terms = shared_terms(q, ["正极材料", "正极", "材料", "包覆"], lambda t: 1.0)
    assert terms == ["正极材料", "包覆"]


def test_build_reasons_in_chinese() -> None:
    item = ProfileItem("research_area", "锂离子电池正极材料")
    reasons = build_reasons(["正极材料"], item, 0.42, 0.83, 0.88)
    assert reasons[0] == "最相关的研究方向：锂离子电池正极材料（相似度 0.88）"
    assert reasons[1] == "共同关键词：正极材料"
    assert reasons[2] == "语义相似度 0.83，关键词匹配度 0.42"
    assert build_reasons([], None, 0.0, 0.5) == ["语义相似度 0.50，关键词匹配度 0.00"]


def test_long_items_clipped_and_labels() -> None:
    item = ProfileItem("representative_work", "很长" * 100)
    line = build_reasons([], item, 0, 0)[0]
    assert line.startswith("最相关的代表性成果：") and line.endswith("…") and len(line) < 80
    assert field_label("unknown") == "相关内容"


def test_shared_terms_skip_generic_and_common_words() -> None:
    from matcher.reasons import shared_terms

    idf = {"机器视觉": 5.0, "工艺": 4.0, "检测": 0.1, "缺陷": 3.0}.get
    terms = shared_terms(["机器视觉", "工艺", "检测", "缺陷"], ["机器视觉", "工艺", "检测", "缺陷"],
                         lambda t: idf(t) or 0.0, max_share=0.05, n_docs=1000)
    # 工艺 is generic; 检测 is in too many profiles (low idf); 缺陷 ... idf 3.0 -> df ~ 5 %
    assert terms[0] == "机器视觉" and "工艺" not in terms and "检测" not in terms
