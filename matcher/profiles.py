"""How records become candidates (profile items + filter attributes) and queries.

One place for this so that the CLI file commands, the evaluation and the DB
service all rank the same way. Works on ORM objects (``*_candidate``) and on
canonical-field row dicts from import files (``*_from_row``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from matcher import rules
from matcher.types import Candidate, ProfileItem

_SPLIT = re.compile(r"[；;\n|｜]+")
_WEAK = re.compile(r"[、，,]+")

# Demand forms carry company boilerplate ("我公司成立于..., 是国家高新技术企业")
# that says nothing about the technical need; these phrases are cut from the
# enterprise's main business before it joins the query.
_BOILERPLATE = re.compile(
    r"(成立于[^，。；]*|注册资本[^，。；]*|是(一家)?(国家级?|省级?)?(高新技术|专精特新)[^，。；]*企业)"
)


def as_list(value: Any) -> list[str]:
    """A list cell (already a list, or ``；``/``、`` separated text) as clean strings."""
    if value is None:
        return []
    if isinstance(value, list | tuple | set):
        parts = [str(v) for v in value]
    else:
        text = str(value).strip()
        if not text:
            return []
        parts = _SPLIT.split(text) if _SPLIT.search(text) else _WEAK.split(text)
    out: list[str] = []
    for p in parts:
        p = " ".join(p.split()).strip(" 。.")
        if p and p not in out:
            out.append(p)
    return out


def _items(field: str, values: Iterable[str]) -> list[ProfileItem]:
    return [ProfileItem(field, v) for v in values if v]


def keyword_items(keywords: list[str], group: int) -> list[ProfileItem]:
    """Keywords as items, ``group`` per item (1 = each keyword its own item)."""
    if group <= 1:
        return _items("keyword", keywords)
    return [ProfileItem("keyword", "、".join(keywords[i : i + group]))
            for i in range(0, len(keywords), group)]


KEYWORD_GROUP = 1


def _clean_business(text: str) -> str:
    return _BOILERPLATE.sub("", text or "").strip("，。；, ")


# -- experts ----------------------------------------------------------------
def expert_items(research_areas: list[str], achievements: list[str], keywords: list[str],
                 disciplines: list[str]) -> list[ProfileItem]:
    return [
        *_items("research_area", research_areas),
        *_items("achievement", achievements),
        *keyword_items(keywords, KEYWORD_GROUP),
        *_items("discipline", disciplines),
    ]


def expert_query_text(research_areas: list[str], achievements: list[str], keywords: list[str],
                      disciplines: list[str]) -> str:
    return "；".join([*research_areas, *keywords, *achievements, *disciplines])


def expert_candidate(e: Any, id: str | None = None) -> Candidate:
    return Candidate(
        id=id if id is not None else str(e.id),
        kind="expert",
        name=e.name,
        items=expert_items(list(e.research_areas or []), list(e.achievements or []),
                           list(e.keywords or []), list(e.disciplines or [])),
        attrs={
            "city": e.city or "",
            "disciplines": list(e.disciplines or []),
            "is_academician": bool(e.is_academician),
            "available": bool(e.available),
            "affiliation": e.affiliation or "",
            "external_id": e.external_id or "",
        },
    )


def expert_from_row(values: Mapping[str, Any], id: str) -> Candidate:
    disciplines = as_list(values.get("disciplines"))
    return Candidate(
        id=id, kind="expert", name=str(values.get("name") or "").strip(),
        items=expert_items(as_list(values.get("research_areas")), as_list(values.get("achievements")),
                           as_list(values.get("keywords")), disciplines),
        attrs={
            "city": str(values.get("region") or values.get("city") or "").strip(),
            "disciplines": disciplines,
            "is_academician": bool(rules.parse_bool(values.get("is_academician"), False)),
            "available": bool(rules.parse_bool(values.get("available"), True)),
            "affiliation": str(values.get("affiliation") or "").strip(),
        },
    )


# -- societies --------------------------------------------------------------
def society_items(name: str, description: str, keywords: list[str], works: list[str],
                  disciplines: list[str]) -> list[ProfileItem]:
    return [
        *_items("name", [name]),
        *_items("description", [description]),
        *keyword_items(keywords, KEYWORD_GROUP),
        *_items("representative_work", works),
        *_items("discipline", disciplines),
    ]


def society_query_text(name: str, description: str, keywords: list[str], works: list[str],
                       disciplines: list[str]) -> str:
    return "；".join([name, description, *disciplines, *keywords, *works]).strip("；")


def society_candidate(s: Any, id: str | None = None) -> Candidate:
    return Candidate(
        id=id if id is not None else str(s.id),
        kind="society",
        name=s.name,
        items=society_items(s.name, s.description or "", list(s.keywords or []),
                            list(s.representative_works or []), list(s.disciplines or [])),
        attrs={"city": s.city or "", "disciplines": list(s.disciplines or []),
               "external_id": s.external_id or "", "category": s.category or ""},
    )


def society_from_row(values: Mapping[str, Any], id: str) -> Candidate:
    name = str(values.get("name") or "").strip()
    disciplines = as_list(values.get("disciplines"))
    return Candidate(
        id=id, kind="society", name=name,
        items=society_items(name, str(values.get("description") or "").strip(),
                            as_list(values.get("keywords")),
                            as_list(values.get("representative_works")), disciplines),
        attrs={"city": str(values.get("region") or values.get("city") or "").strip(),
               "disciplines": disciplines, "category": str(values.get("category") or "")},
    )


# -- demands ----------------------------------------------------------------
def demand_query_text(title: str, description: str, main_business: str = "",
                      keywords: Iterable[str] = ()) -> str:
    parts = [title.strip(), description.strip()]
    kw = [k for k in keywords if k]
    if kw:
        parts.append("关键词：" + "、".join(kw))
    business = _clean_business(main_business)
    if business:
        parts.append("主营业务：" + business)
    return "。".join(p for p in parts if p)


def demand_candidate(d: Any) -> Candidate:
    ent = d.enterprise
    items = [
        ProfileItem("title", d.title or ""),
        ProfileItem("demand_description", d.description or ""),
        *_items("keyword", list(d.keywords or [])),
    ]
    business = _clean_business(ent.main_business if ent is not None else "")
    if business:
        items.append(ProfileItem("main_business", business))
    status = d.status.value if hasattr(d.status, "value") else str(d.status or "")
    return Candidate(
        id=str(d.id), kind="demand", name=d.title or "",
        items=items,
        attrs={
            "city": (ent.city if ent is not None else "") or "",
            "industry": d.industry or (ent.industry if ent is not None else "") or "",
            "status": status,
            "enterprise_id": d.enterprise_id,
            "enterprise": ent.name if ent is not None else "",
        },
    )
