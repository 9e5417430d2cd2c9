"""Page: edit a demand and its enterprise (title, description, status, keywords;
the enterprise's 设区市, 区县 and address). It calls the use case of
``PATCH /demands/{id}``, so the edit is audited and the match index refreshed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import selectinload

from api.deps import IndexDep, SessionDep
from api.errors import plain_errors
from api.pages.common import WebStaff, redirect, render, require_csrf
from api.schemas import DemandUpdate
from kejie import demands, queries
from kejie.errors import FieldProblem, RecordNotFound
from kejie.scope import scope_for
from models import Demand, DemandStatus

router = APIRouter(include_in_schema=False)

DEMAND_EDIT_FIELDS = ("title", "description", "status", "keywords")
ENTERPRISE_EDIT_FIELDS = ("city", "county", "address")
EDIT_FIELDS = DEMAND_EDIT_FIELDS + ENTERPRISE_EDIT_FIELDS


def _load(session: Any, demand_id: int) -> Demand:
    demand = session.get(Demand, demand_id, options=[selectinload(Demand.enterprise)])
    if demand is None:
        raise RecordNotFound("技术需求", demand_id)
    return demand


def _form_of(demand: Demand) -> dict[str, str]:
    ent = demand.enterprise
    return {
        "title": demand.title,
        "description": demand.description,
        "status": DemandStatus(demand.status).value,
        "keywords": "；".join(demand.keywords or []),
        "city": ent.city,
        "county": ent.county,
        "address": ent.address,
    }


def _page(request: Request, user: Any, demand: Demand, form: dict[str, str], errors: dict[str, str],
          status_code: int = 200) -> HTMLResponse:
    return render(request, "demand_edit.html", user, status_code=status_code, demand=demand,
                  form=form, errors=errors, statuses=[s.value for s in DemandStatus])


@router.get("/web/demands/{demand_id}/edit", response_class=HTMLResponse)
def edit_demand_page(request: Request, demand_id: int, session: SessionDep, user: WebStaff) -> HTMLResponse:
    scope_for(session, user).require_demand(session, demand_id)
    demand = _load(session, demand_id)
    return _page(request, user, demand, _form_of(demand), {})


@router.post("/web/demands/{demand_id}/edit", response_class=HTMLResponse)
async def edit_demand_submit(
    request: Request, demand_id: int, session: SessionDep, index: IndexDep, user: WebStaff
) -> Response:
    form = await request.form()
    require_csrf(request, str(form.get("csrf", "")))
    _load(session, demand_id)  # 404 before reading the form
    values = {k: str(form.get(k, "")).strip() for k in EDIT_FIELDS}
    data: dict[str, Any] = {k: v for k, v in values.items() if k != "keywords"}
    data["keywords"] = queries.split_terms(values["keywords"])
    errors: dict[str, str] = {}
    try:
        body = DemandUpdate(**data)
    except ValidationError as exc:
        errors = {e["field"]: e["reason"] for e in plain_errors(list(exc.errors()))}
    else:
        try:
            demands.update_demand(session, index, user, demand_id, body.model_dump(exclude_unset=True))
        except FieldProblem as exc:
            session.rollback()
            errors = {exc.field: exc.reason}
        else:
            return redirect(f"/web/demands/{demand_id}?notice=demand_updated")
    return _page(request, user, _load(session, demand_id), values, errors, status_code=422)
