"""Pages: the demand list, a new demand, a demand with its matches, free-text search and outcomes."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import (
    APIRouter,
    HTTPException,
    Query,
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
)
from api.errors import plain_errors
from api.pages.common import (
    WebStaff,
    redirect,
    render,
    require_csrf,
)
from api.presenters import demand_staff, match_views
from api.schemas import (
    DemandCreate,
    OutcomeCreate,
)
from kejie import demands, matching, outcomes, queries
from kejie.errors import FieldProblem, RecordNotFound
from kejie.scope import scope_for
from matcher.types import Match
from models import (
    Demand,
    Expert,
    ExpertFeedback,
    Outcome,
    Society,
    User,
)

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- demands


@router.get("/web/demands", response_class=HTMLResponse)
def demands_page(
    request: Request,
    session: SessionDep,
    user: WebStaff,
    q: str = "",
    city: str = "",
    status_: Annotated[str, Query(alias="status")] = "",
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    per_page = 20
    query = scope_for(session, user).demands(queries.demand_query(city or None, None, status_ or None, q or None))
    total, rows = queries.count_and_page(session, query, [Demand.id.desc()], per_page, (page - 1) * per_page)
    params = {"q": q, "city": city, "status": status_}
    return render(
        request,
        "demands.html",
        user,
        demands=rows,
        total=total,
        page=page,
        pages=max(1, (total + per_page - 1) // per_page),
        params=params,
        qs=lambda p: urlencode({**params, "page": p}),
    )


DEMAND_FORM_FIELDS = (
    "enterprise_name", "city", "industry", "title", "description", "keywords",
    "contact_name", "mobile", "office_phone", "email", "submitted_by",
)


@router.get("/web/demands/new", response_class=HTMLResponse)
def new_demand_page(request: Request, user: WebStaff) -> HTMLResponse:
    return render(request, "demand_new.html", user, form={}, errors={})


@router.post("/web/demands/new", response_class=HTMLResponse)
async def new_demand_submit(request: Request, session: SessionDep, index: IndexDep, user: WebStaff) -> Response:
    form = await request.form()
    require_csrf(request, str(form.get("csrf", "")))
    values = {k: str(form.get(k, "")).strip() for k in DEMAND_FORM_FIELDS}
    data: dict[str, Any] = {k: v for k, v in values.items() if k != "keywords"}
    data["keywords"] = queries.split_terms(values["keywords"])
    errors: dict[str, str] = {}
    try:
        body = DemandCreate(**data)
    except ValidationError as exc:
        errors = {e["field"]: e["reason"] for e in plain_errors(list(exc.errors()))}
    else:
        try:
            demand = demands.create_demand(session, index, user, body)
        except FieldProblem as exc:
            session.rollback()
            errors = {exc.field: exc.reason}
        else:
            return redirect(f"/web/demands/{demand.id}?notice=demand_saved")
    return render(request, "demand_new.html", user, status_code=422, form=values, errors=errors)


def _load_candidates(session: Session, matches: list[Match], model: type[Any]) -> dict[int, Any]:
    ids = [int(m.id) for m in matches if str(m.id).isdigit()]
    if not ids:
        return {}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))}


@router.get("/web/demands/{demand_id}", response_class=HTMLResponse)
def demand_page(
    request: Request,
    demand_id: int,
    session: SessionDep,
    index: IndexDep,
    user: WebStaff,
    region: str = "",
    discipline: str = "",
    academician_only: bool = False,
    available_only: bool = False,
    top_k: Annotated[int, Query(ge=1, le=50)] = 10,
) -> HTMLResponse:
    scope_for(session, user).require_demand(session, demand_id)
    demand = session.get(Demand, demand_id, options=[selectinload(Demand.enterprise)])
    if demand is None:
        raise RecordNotFound("技术需求", demand_id)
    expert_filters = queries.make_filters(region, discipline, academician_only, available_only)
    society_filters = queries.make_filters(None, discipline)
    expert_matches = matching.match_demand(index, session, demand_id, "expert", top_k, expert_filters)
    society_matches = matching.match_demand(index, session, demand_id, "society", top_k, society_filters)
    outcomes = session.scalars(
        select(Outcome).where(Outcome.demand_id == demand_id).order_by(Outcome.recorded_at.desc())
    ).all()
    feedback = session.scalars(
        select(ExpertFeedback).where(ExpertFeedback.demand_id == demand_id).order_by(ExpertFeedback.at.desc())
    ).all()
    return render(
        request,
        "demand_detail.html",
        user,
        feedback=feedback,
        demand=demand_staff(demand),
        enterprise=demand.enterprise,
        expert_matches=match_views(expert_matches, staff=True),
        society_matches=match_views(society_matches, staff=True),
        experts=_load_candidates(session, expert_matches, Expert),
        societies=_load_candidates(session, society_matches, Society),
        outcomes=outcomes,
        expert_names=_names(session, Expert, [o.expert_id for o in outcomes] + [f.expert_id for f in feedback]),
        society_names=_names(session, Society, [o.society_id for o in outcomes]),
        filters={
            "region": region,
            "discipline": discipline,
            "academician_only": academician_only,
            "available_only": available_only,
            "top_k": top_k,
        },
    )


def _names(session: Session, model: type[Any], ids: list[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {row.id: row.name for row in session.scalars(select(model).where(model.id.in_(wanted)))}


def _search(
    request: Request,
    session: Session,
    index: Any,
    user: User,
    text: str,
    region: str = "",
    academician_only: bool = False,
) -> HTMLResponse:
    expert_matches: list[Match] = []
    society_matches: list[Match] = []
    if len(text) >= 2:
        expert_matches = matching.match_text(
            index, session, text, "expert", 10, queries.make_filters(region, None, academician_only)
        )
        society_matches = matching.match_text(index, session, text, "society", 10, None)
    return render(
        request,
        "search.html",
        user,
        q=text,
        region=region,
        academician_only=academician_only,
        expert_matches=match_views(expert_matches, staff=True),
        society_matches=match_views(society_matches, staff=True),
        experts=_load_candidates(session, expert_matches, Expert),
        societies=_load_candidates(session, society_matches, Society),
    )


@router.get("/web/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    session: SessionDep,
    index: IndexDep,
    user: WebStaff,
    q: Annotated[str, Query(max_length=5000)] = "",
    region: str = "",
    academician_only: bool = False,
) -> HTMLResponse:
    return _search(request, session, index, user, q.strip(), region, academician_only)


@router.post("/web/search", response_class=HTMLResponse)
async def search_from_form(request: Request, session: SessionDep, index: IndexDep, user: WebStaff) -> HTMLResponse:
    """The “只检索，不保存” button of the demand form: match its title and text only."""
    form = await request.form()
    require_csrf(request, str(form.get("csrf", "")))
    text = f"{str(form.get('title', '')).strip()}\n{str(form.get('description', '')).strip()}".strip()
    return _search(request, session, index, user, text[:5000])


@router.post("/web/outcomes")
async def outcome_submit(request: Request, session: SessionDep, user: WebStaff) -> Response:
    form = await request.form()
    require_csrf(request, str(form.get("csrf", "")))

    def opt_int(name: str) -> int | None:
        value = str(form.get(name, "")).strip()
        return int(value) if value.isdigit() else None

    demand_id = opt_int("demand_id")
    try:
        body = OutcomeCreate(
            demand_id=demand_id or 0,
            expert_id=opt_int("expert_id"),
            society_id=opt_int("society_id"),
            status=str(form.get("status", "")),  # type: ignore[arg-type]
            notes=str(form.get("notes", "")),
        )
    except ValidationError as exc:
        message = "；".join(f"{e['field']}：{e['reason']}" for e in plain_errors(list(exc.errors())))
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, message) from exc
    outcome = outcomes.record_outcome(session, user, body)
    notice = "outcome_advanced" if getattr(outcome, "status_change", "") else "outcome_saved"
    anchor = f"#expert-{body.expert_id}" if body.expert_id else f"#society-{body.society_id}"
    return redirect(f"/web/demands/{body.demand_id}?notice={notice}{anchor}")
