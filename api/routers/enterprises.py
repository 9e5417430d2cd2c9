"""Enterprises (企业) that post demands.

Experts see only the enterprises behind the demands recommended to them, never
their address or contacts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import or_, select

from api.deps import CurrentUser, IndexDep, PageDep, SessionDep, SettingsDep
from api.presenters import enterprise_view, staff_view
from api.schemas import EnterprisePublic, EnterpriseStaff, Page
from api.schemas.inputs import IdPath
from api.scope import ScopeDep
from kejie import queries
from kejie.errors import RecordNotFound
from kejie.visibility import require_visible, visible_enterprise_ids
from models import Enterprise

router = APIRouter(prefix="/enterprises", tags=["enterprises 企业"])


@router.get("", response_model=Page[EnterpriseStaff] | Page[EnterprisePublic], summary="企业列表 / list enterprises")
def list_enterprises(
    session: SessionDep,
    index: IndexDep,
    settings: SettingsDep,
    user: CurrentUser,
    page: PageDep,
    city: Annotated[str | None, Query(description="设区市，逗号分隔 / cities")] = None,
    industry: Annotated[str | None, Query(description="行业 / industry")] = None,
    q: Annotated[str | None, Query(description="名称或主营业务包含 / text contained")] = None,
    *,
    scope: ScopeDep,
) -> Page[EnterpriseStaff] | Page[EnterprisePublic]:
    query = scope.enterprises(select(Enterprise))
    if cities := queries.split_terms(city):
        query = query.where(Enterprise.city.in_(cities))
    if industries := queries.split_terms(industry):
        query = query.where(Enterprise.industry.in_(industries))
    if q and q.strip():
        like = queries.like_contains(q.strip())
        query = query.where(or_(Enterprise.name.ilike(like, escape="!"), Enterprise.main_business.ilike(like, escape="!")))
    visible = visible_enterprise_ids(session, index, settings, user)
    if visible is not None:
        query = query.where(Enterprise.id.in_(visible))
    total, rows = queries.count_and_page(session, query, [Enterprise.id], page.limit, page.offset)
    staff = staff_view(user)
    items = [enterprise_view(session, e, staff=staff) for e in rows]
    if staff:
        return Page[EnterpriseStaff](items=items, total=total, limit=page.limit, offset=page.offset)  # type: ignore[arg-type]
    return Page[EnterprisePublic](items=items, total=total, limit=page.limit, offset=page.offset)  # type: ignore[arg-type]


@router.get("/{enterprise_id}", response_model=EnterpriseStaff | EnterprisePublic, summary="查看企业 / one enterprise")
def get_enterprise(enterprise_id: IdPath, session: SessionDep, index: IndexDep, settings: SettingsDep, user: CurrentUser,
                   scope: ScopeDep) -> EnterpriseStaff | EnterprisePublic:
    require_visible(
        visible_enterprise_ids(session, index, settings, user), enterprise_id,
        "只能查看推荐给您的需求所属企业 / only enterprises of demands recommended to you",
    )
    scope.require_enterprise(session, enterprise_id)
    ent = session.get(Enterprise, enterprise_id)
    if ent is None:
        raise RecordNotFound("企业", enterprise_id)
    return enterprise_view(session, ent, staff=staff_view(user))
