"""Enterprises (企业) that post demands."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, or_, select

from api import services
from api.deps import CurrentUser, PageDep, SessionDep, is_staff
from api.schemas import EnterprisePublic, EnterpriseStaff, Page
from api.schemas.inputs import IdPath
from models import Demand, Enterprise

router = APIRouter(prefix="/enterprises", tags=["enterprises 企业"])


def _staff_view(session: SessionDep, ent: Enterprise) -> EnterpriseStaff:
    count = session.scalar(select(func.count()).where(Demand.enterprise_id == ent.id)) or 0
    return EnterpriseStaff.model_validate({**EnterprisePublic.model_validate(ent).model_dump(),
                                           "address": ent.address, "postcode": ent.postcode,
                                           "demand_count": count})


@router.get("", response_model=Page[EnterpriseStaff] | Page[EnterprisePublic], summary="企业列表 / list enterprises")
def list_enterprises(
    session: SessionDep,
    user: CurrentUser,
    page: PageDep,
    city: Annotated[str | None, Query(description="设区市，逗号分隔 / cities")] = None,
    industry: Annotated[str | None, Query(description="行业 / industry")] = None,
    q: Annotated[str | None, Query(description="名称或主营业务包含 / text contained")] = None,
) -> Page[EnterpriseStaff] | Page[EnterprisePublic]:
    query = select(Enterprise)
    if cities := services.split_terms(city):
        query = query.where(Enterprise.city.in_(cities))
    if industries := services.split_terms(industry):
        query = query.where(Enterprise.industry.in_(industries))
    if q and q.strip():
        like = f"%{q.strip()}%"
        query = query.where(or_(Enterprise.name.ilike(like), Enterprise.main_business.ilike(like)))
    total, rows = services.count_and_page(session, query, [Enterprise.id], page.limit, page.offset)
    if is_staff(user):
        return Page[EnterpriseStaff](
            items=[_staff_view(session, e) for e in rows], total=total, limit=page.limit, offset=page.offset
        )
    return Page[EnterprisePublic](
        items=[EnterprisePublic.model_validate(e) for e in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/{enterprise_id}", response_model=EnterpriseStaff | EnterprisePublic, summary="查看企业 / one enterprise")
def get_enterprise(enterprise_id: IdPath, session: SessionDep, user: CurrentUser) -> EnterpriseStaff | EnterprisePublic:
    ent = session.get(Enterprise, enterprise_id)
    if ent is None:
        raise services.not_found("企业", enterprise_id)
    return _staff_view(session, ent) if is_staff(user) else EnterprisePublic.model_validate(ent)
