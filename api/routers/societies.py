"""Academic societies (学会) and discipline expert groups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import or_, select

from api.deps import CurrentUser, IndexDep, PageDep, SessionDep, StaffUser
from api.presenters import match_views, society_view, staff_view
from api.schemas import MatchResults, Page, SocietyPublic
from api.schemas.inputs import IdPath
from api.scope import ScopeDep, keep_visible
from kejie import matching, queries
from kejie.errors import RecordNotFound
from kejie.rules import MAX_TOP_K
from models import Society

router = APIRouter(prefix="/societies", tags=["societies 学会"])


@router.get("", response_model=Page[SocietyPublic], summary="学会列表 / list societies")
def list_societies(
    session: SessionDep,
    user: CurrentUser,
    page: PageDep,
    discipline: Annotated[str | None, Query(description="学科，逗号分隔 / disciplines")] = None,
    city: Annotated[str | None, Query(description="所在城市 / cities")] = None,
    q: Annotated[str | None, Query(description="名称或能力描述包含 / text contained")] = None,
) -> Page[SocietyPublic]:
    query = select(Society)
    if disciplines := queries.split_terms(discipline):
        query = query.where(queries.json_list_contains(Society.disciplines, disciplines))
    if cities := queries.split_terms(city):
        query = query.where(Society.city.in_(cities))
    if q and q.strip():
        like = queries.like_contains(q.strip())
        query = query.where(or_(Society.name.ilike(like, escape="!"), Society.description.ilike(like, escape="!")))
    total, rows = queries.count_and_page(session, query, [Society.id], page.limit, page.offset)
    return Page[SocietyPublic](
        items=[society_view(s, staff=staff_view(user)) for s in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/{society_id}", response_model=SocietyPublic, summary="查看学会 / one society")
def get_society(society_id: IdPath, session: SessionDep, user: CurrentUser) -> SocietyPublic:
    society = session.get(Society, society_id)
    if society is None:
        raise RecordNotFound("学会", society_id)
    return society_view(society, staff=staff_view(user))


@router.get(
    "/{society_id}/recommendations",
    response_model=MatchResults,
    summary="为学会推荐技术需求 / demands recommended to a society",
)
def recommendations(
    society_id: IdPath,
    session: SessionDep,
    index: IndexDep,
    user: StaffUser,
    top_k: Annotated[int, Query(ge=1, le=MAX_TOP_K, description=f"返回条数，最多 {MAX_TOP_K} / how many, at most {MAX_TOP_K}")] = 10,
    *,
    scope: ScopeDep,
) -> MatchResults:
    scope.require_society(society_id)
    matches = keep_visible(matching.recommend_for_society(index, session, society_id, top_k), scope, session)
    return MatchResults(query_id=society_id, kind="demand", items=match_views(matches, staff=staff_view(user)))
