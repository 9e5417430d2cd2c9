"""Demand and match lists as XLSX (staff copies: contacts included)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, selectinload

from kejie import matching, queries
from kejie.errors import RecordNotFound
from kejie.events.sheets import cn_date
from kejie.outcomes import DEMAND_STATUS_LABEL
from kejie.reports.files import list_xlsx
from models import Demand, DemandStatus

if TYPE_CHECKING:
    from kejie.match_service import MatchService
    from kejie.scope import Scope

MAX_LIST_ROWS = 20000

DEMAND_COLUMNS: list[tuple[str, str, int]] = [
    ("id", "编号", 7), ("enterprise", "单位名称", 26), ("city", "设区市", 10), ("county", "区县", 10),
    ("address", "联系地址", 26), ("title", "技术需求名称", 28), ("description", "具体的技术需求说明", 50),
    ("industry", "所属行业", 12), ("keywords", "关键词", 18), ("status", "状态", 8),
    ("contact_name", "联系人", 9), ("mobile", "手机", 13), ("office_phone", "办公电话", 14),
    ("email", "E-mail", 22), ("submitted_by", "填报单位", 14), ("submitted_on", "填报时间", 13),
]
MATCH_COLUMNS: list[tuple[str, str, int]] = [
    ("rank", "排名", 6), ("name", "名称", 18), ("score", "匹配分", 8), ("grade", "匹配度", 7),
    ("best_item", "最相关的方向或成果", 36), ("shared_terms", "共同关键词", 24), ("reasons", "推荐理由", 50),
]


def demands_xlsx(
    session: Session, city: str | None, status: str | None, q: str | None, scope: Scope | None = None
) -> bytes:
    """The demand list with the filters of ``GET /demands`` (newest first)."""
    query = queries.demand_query(city, None, status, q).options(selectinload(Demand.enterprise))
    if scope is not None:  # a city association's list holds its city's demands only
        query = scope.demands(query)
    _total, demands = queries.count_and_page(session, query, [Demand.id.desc()], MAX_LIST_ROWS, 0)
    rows: list[dict[str, Any]] = []
    for d in demands:
        ent = d.enterprise
        rows.append({
            "id": d.id, "enterprise": ent.name, "city": ent.city, "county": ent.county, "address": ent.address,
            "title": d.title, "description": d.description, "industry": d.industry, "keywords": list(d.keywords or []),
            "status": DEMAND_STATUS_LABEL.get(DemandStatus(d.status).value, str(d.status)),
            "contact_name": d.contact_name, "mobile": d.mobile, "office_phone": d.office_phone, "email": d.email,
            "submitted_by": d.submitted_by, "submitted_on": cn_date(d.submitted_on),
        })
    return list_xlsx("技术需求清单", DEMAND_COLUMNS, rows, sheet="技术需求")


def matches_xlsx(index: MatchService, session: Session, demand_id: int, kind: str, top_k: int) -> tuple[str, bytes]:
    """The ranked experts or societies for one demand, with their reasons."""
    demand = session.get(Demand, demand_id)
    if demand is None:
        raise RecordNotFound("技术需求", demand_id)
    matches = matching.match_demand(index, session, demand_id, kind, top_k, None)  # type: ignore[arg-type]
    rows = [{
        "rank": n, "name": m.name, "score": round(float(m.score), 3), "grade": m.grade or "",
        "best_item": m.best_item.text if m.best_item is not None else "", "shared_terms": list(m.shared_terms),
        "reasons": "；".join(m.reasons),
    } for n, m in enumerate(matches, 1)]
    label = "专家" if kind == "expert" else "学会"
    return f"{demand.title}_推荐{label}.xlsx", list_xlsx(f"推荐{label}：{demand.title}"[:200], MATCH_COLUMNS, rows, sheet=f"推荐{label}")
