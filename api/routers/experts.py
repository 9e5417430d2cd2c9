"""Experts (专家、院士): profiles, recommended demands, feedback.

Expert accounts may only open their own profile and recommendations; another
expert's profile (and anyone's phone or e-mail) is staff-only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.exceptions import RequestValidationError
from sqlalchemy import or_, select

from api.deps import (
    CurrentUser,
    IndexDep,
    PageDep,
    SessionDep,
    SettingsDep,
    StaffUser,
    require_expert_self_or_staff,
)
from api.presenters import expert_view, match_views, staff_view
from api.schemas import ExpertStaff, FeedbackCreate, FeedbackPublic, MatchResults, Page
from api.schemas.inputs import IdPath
from api.scope import ScopeDep, keep_visible
from kejie import matching, outcomes, queries
from kejie.errors import RecordNotFound
from kejie.rules import MAX_TOP_K
from kejie.scope import scope_for
from kejie.visibility import require_may_answer
from models import Expert, Role

router = APIRouter(prefix="/experts", tags=["experts 专家"])


@router.get("", response_model=Page[ExpertStaff], summary="专家列表（工作人员）/ list experts (staff)")
def list_experts(
    session: SessionDep,
    _user: StaffUser,
    page: PageDep,
    city: Annotated[str | None, Query(description="所在城市，逗号分隔 / cities")] = None,
    discipline: Annotated[str | None, Query(description="学科，逗号分隔 / disciplines")] = None,
    academician_only: Annotated[bool, Query(description="只看院士 / academicians only")] = False,
    available_only: Annotated[bool, Query(description="只看可参与的 / available only")] = False,
    q: Annotated[str | None, Query(description="姓名或单位包含 / name or affiliation contains")] = None,
    *,
    scope: ScopeDep,
) -> Page[ExpertStaff]:
    query = scope.experts(select(Expert))
    if cities := queries.split_terms(city):
        query = query.where(Expert.city.in_(cities))
    if disciplines := queries.split_terms(discipline):
        query = query.where(queries.json_list_contains(Expert.disciplines, disciplines))
    if academician_only:
        query = query.where(Expert.is_academician.is_(True))
    if available_only:
        query = query.where(Expert.available.is_(True))
    if q and q.strip():
        like = queries.like_contains(q.strip())
        query = query.where(or_(Expert.name.ilike(like, escape="!"), Expert.affiliation.ilike(like, escape="!")))
    total, rows = queries.count_and_page(session, query, [Expert.id], page.limit, page.offset)
    return Page[ExpertStaff](
        items=[expert_view(e) for e in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get(
    "/{expert_id}",
    response_model=ExpertStaff,
    summary="查看专家 / one expert",
    description="专家账号只能查看本人。Expert accounts may only open their own profile.",
)
def get_expert(expert_id: IdPath, session: SessionDep, user: CurrentUser) -> ExpertStaff:
    require_expert_self_or_staff(user, expert_id)
    scope_for(session, user).require_expert(expert_id)
    expert = session.get(Expert, expert_id)
    if expert is None:
        raise RecordNotFound("专家", expert_id)
    return expert_view(expert)


@router.get(
    "/{expert_id}/recommendations",
    response_model=MatchResults,
    summary="为专家推荐技术需求 / demands recommended to an expert",
    description="专家账号只能查看本人的推荐（最多 KEJIE_EXPERT_VISIBLE_DEMANDS 条），已婉拒的需求不再出现。"
    "Own recommendations only (at most KEJIE_EXPERT_VISIBLE_DEMANDS); declined demands are left out.",
)
def recommendations(
    expert_id: IdPath,
    session: SessionDep,
    index: IndexDep,
    user: CurrentUser,
    settings: SettingsDep,
    top_k: Annotated[int, Query(ge=1, le=MAX_TOP_K, description=f"返回条数，最多 {MAX_TOP_K} / how many, at most {MAX_TOP_K}")] = 10,
) -> MatchResults:
    require_expert_self_or_staff(user, expert_id)
    scope = scope_for(session, user, index, settings.expert_visible_demands)
    scope.require_expert(expert_id)
    staff = staff_view(user)
    if user.role == Role.expert and top_k > settings.expert_visible_demands:
        raise RequestValidationError([{
            "type": "less_than_equal", "loc": ("query", "top_k"), "msg": "too many",
            "input": top_k, "ctx": {"le": settings.expert_visible_demands},
        }])
    matches = keep_visible(matching.recommend_for_expert(index, session, expert_id, top_k), scope, session)
    return MatchResults(query_id=expert_id, kind="demand", items=match_views(matches, staff=staff))


@router.post(
    "/{expert_id}/feedback",
    response_model=FeedbackPublic,
    status_code=status.HTTP_201_CREATED,
    summary="专家反馈：感兴趣或婉拒 / expert answers a recommendation",
)
def feedback(expert_id: IdPath, body: FeedbackCreate, session: SessionDep, user: CurrentUser, index: IndexDep,
             settings: SettingsDep) -> FeedbackPublic:
    require_expert_self_or_staff(user, expert_id)
    require_may_answer(session, index, settings, user, body.demand_id)
    scope = scope_for(session, user, index, settings.expert_visible_demands)
    row = outcomes.record_feedback(session, user, expert_id, body, scope)
    return FeedbackPublic(
        id=row.id, expert_id=row.expert_id, demand_id=row.demand_id, choice=row.choice, note=row.note, at=row.at
    )

