"""Human-readable (Chinese) reasons for a match."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from matcher.types import ProfileItem

FIELD_LABELS = {
    "research_area": "研究方向",
    "achievement": "代表成果",
    "keyword": "关键词",
    "keywords": "关键词",
    "representative_work": "代表性成果",
    "discipline": "学科",
    "disciplines": "学科",
    "description": "能力描述",
    "title": "需求名称",
    "demand_description": "需求说明",
    "main_business": "主营业务",
    "name": "名称",
    "category": "类别",
    "industry": "行业",
}


def field_label(field: str) -> str:
    return FIELD_LABELS.get(field, "相关内容")


# Words that every technical text shares; never shown as a reason on their own.
GENERIC_TERMS = frozenset(
    ["工艺", "加工", "建立", "标准", "技术", "系统", "研究", "开发", "设计", "应用", "方法", "问题", "分析", "实现", "提高", "提升", "能力", "理论", "关键", "关键技术", "基础", "工程", "平台", "服务", "管理", "控制", "生产", "产品", "材料", "设备", "模型", "数据", "智能", "智能化", "信息", "优化", "研制", "制造", "检测", "测试", "性能", "结构", "装置", "工业", "行业", "领域", "企业", "中心", "新型", "高效", "先进", "综合", "相关"])


def shared_terms(query_tokens: Iterable[str], candidate_tokens: Iterable[str],
                 idf: Callable[[str], float], limit: int = 5, max_share: float = 1.0,
                 n_docs: int = 0) -> list[str]:
    """Discriminative terms in both, most specific (highest idf) first.

    Skipped: single characters, generic words (``GENERIC_TERMS``), terms found
    in more than ``max_share`` of the ``n_docs`` candidates (judged from the
    BM25 idf), and fragments of a longer shared term (材料 when 正极材料 is
    shared; search-mode segmentation emits both)."""
    cand = set(candidate_tokens)
    common = {t for t in query_tokens if t in cand and len(t) > 1 and t not in GENERIC_TERMS}
    if n_docs > 0 and max_share < 1.0:
        # BM25 idf = log1p((n - df + .5) / (df + .5)); keep df <= max_share * n
        floor = math.log1p((n_docs - max_share * n_docs + 0.5) / (max_share * n_docs + 0.5))
        common = {t for t in common if idf(t) >= floor}
    maximal = [t for t in common if not any(t != o and t in o for o in common)]
    return sorted(maximal, key=lambda t: (-idf(t), -len(t), t))[:limit]


def _clip(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def build_reasons(terms: list[str], best_item: ProfileItem | None, lexical: float,
                  semantic: float, best_item_sim: float | None = None,
                  probability: float | None = None, grade: str | None = None) -> list[str]:
    reasons: list[str] = []
    if grade is not None and probability is not None:
        reasons.append(f"匹配度：{grade}（估计相关概率 {probability:.0%}）")
    if best_item is not None:
        line = f"最相关的{field_label(best_item.field)}：{_clip(best_item.text)}"
        if best_item_sim is not None:
            line += f"（相似度 {best_item_sim:.2f}）"
        reasons.append(line)
    if terms:
        reasons.append("共同关键词：" + "、".join(terms))
    if grade is None:
        # graded matches show the calibrated probability instead of bunched raw cosines
        reasons.append(f"语义相似度 {semantic:.2f}，关键词匹配度 {lexical:.2f}")
    return reasons
