"""Pages: an expert's and a society's profile with recommended demands, and the expert's own 我的推荐."""

from __future__ import annotations

from fastapi import (
    APIRouter,
    HTTPException,
    Request,
    status,
)
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.deps import (
    IndexDep,
    SessionDep,
    SettingsDep,
    is_staff,
)
from api.errors import plain_errors
from api.pages.common import (
    WebStaff,
    WebUser,
    redirect,
    render,
    require_csrf,
)
from api.presenters import demand_view, match_views, staff_view
from api.schemas import (
    FeedbackCreate,
)
from api.scope import keep_visible
from kejie import matching, outcomes
from kejie.errors import RecordNotFound
from kejie.scope import scope_for
from kejie.visibility import require_may_answer
from matcher.types import Match
from models import (
    Demand,
    Expert,
    ExpertFeedback,
    Outcome,
    Role,
    Society,
)

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- profiles


@router.get("/web/experts/{expert_id}", response_class=HTMLResponse)
def expert_page(
    request: Request, expert_id: int, session: SessionDep, index: IndexDep, settings: SettingsDep, user: WebUser
) -> HTMLResponse:
    if not is_staff(user) and user.expert_id != expert_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "只能查看本人的信息。")
    scope = scope_for(session, user, index, settings.expert_visible_demands)
    scope.require_expert(expert_id)
    expert = session.get(Expert, expert_id)
    if expert is None:
        raise RecordNotFound("专家", expert_id)
    recs = matching.recommend_for_expert(index, session, expert_id, 10) if is_staff(user) else []
    recs = keep_visible(recs, scope, session)
    outcomes = (
        session.scalars(scope.outcomes(select(Outcome).where(Outcome.expert_id == expert_id))
                        .order_by(Outcome.id.desc())).all()
        if is_staff(user)
        else []
    )
    return render(
        request,
        "expert.html",
        user,
        expert=expert,
        recs=match_views(recs, staff=staff_view(user)),
        rec_demands=_load_demands(session, recs),
        outcomes=outcomes,
    )


@router.get("/web/societies/{society_id}", response_class=HTMLResponse)
def society_page(
    request: Request, society_id: int, session: SessionDep, index: IndexDep, settings: SettingsDep, user: WebStaff
) -> HTMLResponse:
    scope = scope_for(session, user, index, settings.expert_visible_demands)
    scope.require_society(society_id)
    society = session.get(Society, society_id)
    if society is None:
        raise RecordNotFound("学会", society_id)
    recs = keep_visible(matching.recommend_for_society(index, session, society_id, 10), scope, session)
    return render(
        request, "society.html", user, society=society, recs=match_views(recs, staff=staff_view(user)),
        rec_demands=_load_demands(session, recs),
    )


def _load_demands(session: Session, matches: list[Match]) -> dict[int, Demand]:
    ids = [int(m.id) for m in matches if str(m.id).isdigit()]
    if not ids:
        return {}
    rows = session.scalars(select(Demand).where(Demand.id.in_(ids)).options(selectinload(Demand.enterprise)))
    return {d.id: d for d in rows}


# ---------------------------------------------------------------- expert's own page


@router.get("/web/me", response_class=HTMLResponse)
def my_recommendations(request: Request, session: SessionDep, index: IndexDep, user: WebUser) -> Response:
    if is_staff(user):
        return redirect("/")
    if user.expert_id is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "此账号未关联专家，请联系管理员。")
    expert = session.get(Expert, user.expert_id)
    if expert is None:
        raise RecordNotFound("专家", user.expert_id)
    recs = matching.recommend_for_expert(index, session, expert.id, 10)
    demands = _load_demands(session, recs)
    feedback = {
        f.demand_id: f.choice
        for f in session.scalars(select(ExpertFeedback).where(ExpertFeedback.expert_id == expert.id))
    }
    return render(
        request,
        "me.html",
        user,
        expert=expert,
        # the same presenter as GET /experts/{id}/recommendations: redacted for the expert
        recs=match_views(recs, staff=False),
        demands={i: demand_view(d, staff=False) for i, d in demands.items()},
        feedback=feedback,
    )


@router.post("/web/me/feedback")
async def my_feedback(
    request: Request, session: SessionDep, index: IndexDep, settings: SettingsDep, user: WebUser
) -> Response:
    form = await request.form()
    require_csrf(request, str(form.get("csrf", "")))
    if user.role != Role.expert or user.expert_id is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "只有专家账号可以反馈。")
    demand = str(form.get("demand_id", ""))
    try:
        body = FeedbackCreate(
            demand_id=int(demand) if demand.isdigit() else -1,
            choice=str(form.get("choice", "")),  # type: ignore[arg-type]
            note=str(form.get("note", "")),
        )
    except ValidationError as exc:
        message = "；".join(f"{e['field']}：{e['reason']}" for e in plain_errors(list(exc.errors())))
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, message) from exc
    require_may_answer(session, index, settings, user, body.demand_id)
    outcomes.record_feedback(session, user, user.expert_id, body)
    return redirect(f"/web/me?notice=feedback_{body.choice}")
