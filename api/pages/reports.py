"""Page 报表: outcome counts for a date range, the quarterly 附件2/附件3 统计表 with
its due dates and the 存在不足 staff write (saved, kept between visits and used by
every export), and the list downloads."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from api import presenters
from api.deps import SessionDep
from api.pages.common import WebStaff, redirect, render, require_csrf
from api.routers.reports import quarterly_download
from kejie import outcomes
from kejie.errors import FieldProblem
from kejie.reports import notes, quarterly
from kejie.reports.quarterly import Quarter, ReportRow
from models import User

router = APIRouter(include_in_schema=False)


def _page(request: Request, session: SessionDep, user: User, date_from: date | None, date_to: date | None,
          q: Quarter, form: str, rows: list[ReportRow], error: str = "", **extra: Any) -> HTMLResponse:
    try:
        data = outcomes.outcome_report(session, date_from, date_to)
    except FieldProblem as exc:
        error = error or f"{exc.field}：{exc.reason}"
        data = outcomes.outcome_report(session, None, None)
        data.update(date_from=date_from, date_to=date_to)
    return render(
        request, "reports.html", user, status_code=422 if error else 200, report=presenters.outcome_report(data),
        error=error, quarter=q, form=form, forms=quarterly.FORMS, rows=rows,
        due=quarterly.due_dates(q.year), today=date.today(), **extra,
    )


@router.get("/web/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    session: SessionDep,
    user: WebStaff,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    quarter: Annotated[str, Query(max_length=20)] = "",
    form: Annotated[str, Query(max_length=10)] = "附件2",
    saved: Annotated[int, Query(ge=0, le=1000)] = 0,
) -> HTMLResponse:
    error = ""
    try:
        q = quarterly.parse_quarter(quarter)
        form = quarterly.check_form(form)
    except FieldProblem as exc:
        error = exc.reason
        q, form = quarterly.parse_quarter(None), "附件2"
    rows = notes.report_rows(session, q, form)
    return _page(request, session, user, date_from, date_to, q, form, rows, error, saved=bool(saved))


def _typed(data: FormData, rows: list[ReportRow]) -> tuple[dict[str, str], dict[str, str]]:
    """Row key → text from ``shortfall_<n>`` (with its ``row_key_<n>``; without one,
    the n-th row of the table), and row key → field name for the messages."""
    texts: dict[str, str] = {}
    fields: dict[str, str] = {}
    for name, value in data.items():
        n = name.removeprefix("shortfall_")
        if not name.startswith("shortfall_") or not n.isdigit() or len(n) > 4:
            continue
        key = str(data.get(f"row_key_{n}", "")).strip()
        if not key:
            if int(n) >= len(rows):
                raise FieldProblem(name, "表中没有这一行，请刷新页面后重试")
            key = rows[int(n)].key
        texts[key], fields[key] = str(value), name
    return texts, fields


async def _submitted(request: Request, session: SessionDep, user: User) -> tuple[Quarter, str, FormData, Any]:
    """Check the form and store its 存在不足; returns the quarter, form, the posted
    data and the saved rows, or the page again (422, with what was typed) on a bad field."""
    data = await request.form()
    require_csrf(request, str(data.get("csrf", "")))
    q = quarterly.parse_quarter(str(data.get("quarter", "")))
    form = quarterly.check_form(str(data.get("form", "附件2")))
    filled = str(data.get("filled_on", "")).strip()
    try:
        if filled:
            date.fromisoformat(filled)
    except ValueError as exc:
        raise FieldProblem("filled_on", "填报时间应为 YYYY-MM-DD") from exc
    rows = quarterly.quarterly_rows(session, q, form)
    try:
        texts, fields = _typed(data, rows)
        return q, form, data, notes.save_notes(session, user, q, form, texts, fields)
    except FieldProblem as exc:
        session.rollback()
        typed = {f: str(data.get(f, "")) for f in data if f.startswith("shortfall_")}
        for n, row in enumerate(rows):
            row.shortfall = typed.get(f"shortfall_{n}", row.shortfall)
        page = _page(request, session, user, None, None, q, form, rows, f"{exc.field}：{exc.reason}",
                     bad_field=exc.field, unit=str(data.get("unit", ""))[:100])
        return q, form, data, page


@router.post("/web/reports/notes")
async def quarterly_notes(request: Request, session: SessionDep, user: WebStaff) -> Response:
    """保存: store the 存在不足 typed on the page and show the page again."""
    q, form, _data, rows = await _submitted(request, session, user)
    if isinstance(rows, Response):
        return rows
    return redirect(f"/web/reports?quarter={q.key}&form={form}&saved={len(rows)}#quarterly")


@router.post("/web/reports/quarterly.xlsx")
async def quarterly_export(request: Request, session: SessionDep, user: WebStaff) -> Response:
    """导出: store the 存在不足 typed on the page, then the 统计表 with them."""
    q, form, data, rows = await _submitted(request, session, user)
    if isinstance(rows, Response):
        return rows
    filled = str(data.get("filled_on", "")).strip()
    filled_on = date.fromisoformat(filled) if filled else None  # checked before the write
    return quarterly_download(q, form, rows, str(data.get("unit", "")).strip()[:100], filled_on)
