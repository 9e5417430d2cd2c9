"""Page 报表: outcome counts for a date range, the quarterly 附件2/附件3 统计表 with
its due dates and 存在不足 editable before export, and the list downloads."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api import presenters
from api.deps import SessionDep
from api.pages.common import WebStaff, render, require_csrf
from api.routers.reports import quarterly_download
from kejie import outcomes
from kejie.errors import FieldProblem
from kejie.reports import quarterly

router = APIRouter(include_in_schema=False)


@router.get("/web/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    session: SessionDep,
    user: WebStaff,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    quarter: Annotated[str, Query(max_length=20)] = "",
    form: Annotated[str, Query(max_length=10)] = "附件2",
) -> HTMLResponse:
    error = ""
    try:
        data = outcomes.outcome_report(session, date_from, date_to)
    except FieldProblem as exc:
        error = f"{exc.field}：{exc.reason}"
        data = outcomes.outcome_report(session, None, None)
        data.update(date_from=date_from, date_to=date_to)
    try:
        q = quarterly.parse_quarter(quarter)
        form = quarterly.check_form(form)
    except FieldProblem as exc:
        error = error or exc.reason
        q, form = quarterly.parse_quarter(None), "附件2"
    rows = quarterly.quarterly_rows(session, q, form)
    return render(
        request, "reports.html", user, status_code=422 if error else 200, report=presenters.outcome_report(data),
        error=error, quarter=q, form=form, forms=quarterly.FORMS, rows=rows,
        due=quarterly.due_dates(q.year), today=date.today(),
    )


@router.post("/web/reports/quarterly.xlsx")
async def quarterly_export(request: Request, session: SessionDep, user: WebStaff) -> Response:
    """The 统计表 with the 存在不足 staff wrote on the page (``shortfall_0`` …)."""
    data = await request.form()
    require_csrf(request, str(data.get("csrf", "")))
    shortfalls = {
        int(k.removeprefix("shortfall_")): str(v).strip()[:2000]
        for k, v in data.items() if k.startswith("shortfall_") and k.removeprefix("shortfall_").isdigit()
    }
    filled = str(data.get("filled_on", "")).strip()
    try:
        filled_on = date.fromisoformat(filled) if filled else None
    except ValueError as exc:
        raise FieldProblem("filled_on", "填报时间应为 YYYY-MM-DD") from exc
    return quarterly_download(
        session, str(data.get("quarter", "")), str(data.get("form", "附件2")),
        str(data.get("unit", "")).strip()[:100], filled_on, shortfalls,
    )
