"""Technical demands: list, read, create, edit, and rank experts/societies for one."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from api.deps import CurrentUser, IndexDep, PageDep, SessionDep, SettingsDep, StaffUser
from api.presenters import demand_staff, demand_view, match_views, staff_view
from api.schemas import (
    DemandCreate,
    DemandPublic,
    DemandStaff,
    DemandUpdate,
    FeedbackPublic,
    MatchResults,
    Page,
)
from api.schemas.inputs import IdPath, id_query
from api.scope import ScopeDep
from kejie import demands, matching, queries
from kejie.errors import RecordNotFound
from kejie.rules import MAX_TOP_K
from kejie.visibility import require_visible, visible_demand_ids
from models import Demand, ExpertFeedback

router = APIRouter(prefix="/demands", tags=["demands 技术需求"])


@router.get(
    "",
    response_model=Page[DemandStaff] | Page[DemandPublic],
    summary="技术需求列表 / list demands",
    description="工作人员看到联系人信息；专家账号只看到推荐给本人的需求，不含联系方式。"
    "Staff see every demand with contacts; experts only those recommended to them, without contacts.",
)
def list_demands(
    session: SessionDep,
    index: IndexDep,
    settings: SettingsDep,
    user: CurrentUser,
    page: PageDep,
    city: Annotated[str | None, Query(description="设区市，逗号分隔 / city, comma-separated")] = None,
    industry: Annotated[str | None, Query(description="行业 / industry")] = None,
    status_: Annotated[
        str | None, Query(alias="status", description="状态 open/matched/... / status")
    ] = None,
    q: Annotated[str | None, Query(description="标题、说明或单位名称包含 / text contained")] = None,
    enterprise_id: Annotated[int | None, id_query("企业编号 / enterprise id")] = None,
    *,
    scope: ScopeDep,
) -> Page[DemandStaff] | Page[DemandPublic]:
    query = scope.demands(queries.demand_query(city, industry, status_, q, enterprise_id))
    visible = visible_demand_ids(session, index, settings, user)
    if visible is not None:
        query = query.where(Demand.id.in_(visible))
    total, rows = queries.count_and_page(session, query, [Demand.id.desc()], page.limit, page.offset)
    staff = staff_view(user)
    items = [demand_view(d, staff=staff) for d in rows]
    if staff:
        return Page[DemandStaff](items=items, total=total, limit=page.limit, offset=page.offset)  # type: ignore[arg-type]
    return Page[DemandPublic](items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/{demand_id}", response_model=DemandStaff | DemandPublic, summary="查看技术需求 / one demand")
def get_demand(demand_id: IdPath, session: SessionDep, index: IndexDep, settings: SettingsDep, user: CurrentUser,
               scope: ScopeDep) -> DemandStaff | DemandPublic:
    # experts: checked before existence, so probing ids tells nothing
    require_visible(visible_demand_ids(session, index, settings, user), demand_id)
    scope.require_demand(session, demand_id)
    demand = session.get(Demand, demand_id, options=[selectinload(Demand.enterprise)])
    if demand is None:
        raise RecordNotFound("技术需求", demand_id)
    return demand_view(demand, staff=staff_view(user))


@router.post(
    "",
    response_model=DemandStaff,
    status_code=status.HTTP_201_CREATED,
    summary="新增技术需求 / create a demand",
    description="保存后立即可匹配，无需重启。Matching works at once, no restart needed.",
)
def create_demand(body: DemandCreate, session: SessionDep, index: IndexDep, user: StaffUser) -> DemandStaff:
    return demand_staff(demands.create_demand(session, index, user, body))


@router.patch("/{demand_id}", response_model=DemandStaff, summary="修改技术需求 / edit a demand")
def update_demand(
    demand_id: IdPath, body: DemandUpdate, session: SessionDep, index: IndexDep, user: StaffUser
) -> DemandStaff:
    return demand_staff(demands.update_demand(session, index, user, demand_id, body.model_dump(exclude_unset=True)))


@router.get(
    "/{demand_id}/feedback",
    response_model=list[FeedbackPublic],
    summary="专家对该需求的反馈 / experts' answers to this demand",
)
def demand_feedback(demand_id: IdPath, session: SessionDep, _user: StaffUser, scope: ScopeDep) -> list[FeedbackPublic]:
    scope.require_demand(session, demand_id)
    if session.get(Demand, demand_id) is None:
        raise RecordNotFound("技术需求", demand_id)
    rows = session.scalars(
        select(ExpertFeedback).where(ExpertFeedback.demand_id == demand_id).order_by(ExpertFeedback.at.desc())
    )
    return [
        FeedbackPublic(id=f.id, expert_id=f.expert_id, demand_id=f.demand_id, choice=f.choice, note=f.note, at=f.at)
        for f in rows
    ]


@router.get(
    "/{demand_id}/matches",
    response_model=MatchResults,
    summary="为需求匹配专家或学会 / rank experts or societies for a demand",
)
def demand_matches(
    demand_id: IdPath,
    session: SessionDep,
    index: IndexDep,
    _user: StaffUser,
    kind: Annotated[Literal["experts", "societies"], Query(description="experts 专家 / societies 学会")] = "experts",
    top_k: Annotated[int, Query(ge=1, le=MAX_TOP_K, description=f"返回条数，最多 {MAX_TOP_K} / how many, at most {MAX_TOP_K}")] = 10,
    region: Annotated[str | None, Query(description="设区市，逗号分隔 / cities")] = None,
    discipline: Annotated[str | None, Query(description="学科，逗号分隔 / disciplines")] = None,
    academician_only: Annotated[bool, Query(description="只看院士 / academicians only")] = False,
    available_only: Annotated[bool, Query(description="只看可参与的专家 / available only")] = False,
    *,
    scope: ScopeDep,
) -> MatchResults:
    scope.require_demand(session, demand_id)
    filters = queries.make_filters(region, discipline, academician_only, available_only)
    matches = matching.match_demand(
        index, session, demand_id, matching.PLURAL_TO_KIND[kind], top_k, filters
    )
    return MatchResults(
        query_id=demand_id, kind=matching.PLURAL_TO_KIND[kind], items=match_views(matches, staff=True)
    )
