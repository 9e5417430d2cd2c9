"""Human-readable (Chinese) reasons for a match."""

from __future__ import annotations

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


def shared_terms(query_tokens: Iterable[str], candidate_tokens: Iterable[str],
                 idf: Callable[[str], float], limit: int = 5) -> list[str]:
    """Terms in both, most specific (highest idf) first. Single characters and
    fragments of a longer shared term (材料 when 正极材料 is shared; search-mode
    segmentation emits both) are skipped."""
    cand = set(candidate_tokens)
    common = {t for t in query_tokens if t in cand and len(t) > 1}
    maximal = [t for t in common if not any(t != o and t in o for o in common)]
    return sorted(maximal, key=lambda t: (-idf(t), -len(t), t))[:limit]


def _clip(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def build_reasons(terms: list[str], best_item: ProfileItem | None, lexical: float,
                  semantic: float, best_item_sim: float | None = None) -> list[str]:
    reasons: list[str] = []
    if best_item is not None:
        line = f"最相关的{field_label(best_item.field)}：{_clip(best_item.text)}"
        if best_item_sim is not None:
            line += f"（相似度 {best_item_sim:.2f}）"
        reasons.append(line)
    if terms:
        reasons.append("共同关键词：" + "、".join(terms))
    reasons.append(f"语义相似度 {semantic:.2f}，关键词匹配度 {lexical:.2f}")
    return reasons
