"""Reports: the quarterly 附件2/附件3 统计表 (JSON, the 存在不足 staff write, XLSX)
and the demand and match lists as XLSX."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field, StringConstraints

from api.deps import IndexDep, SessionDep, StaffUser
from api.downloads import XLSX_MEDIA, xlsx_response
from api.schemas.inputs import IdPath, InputModel
from api.scope import ScopeDep
from kejie import matching
from kejie.reports import lists, notes, quarterly
from kejie.reports.files import quarterly_xlsx
from kejie.reports.notes import MAX_NOTE_CHARS
from kejie.reports.quarterly import Quarter, ReportRow

router = APIRouter(prefix="/reports", tags=["reports 报表"])
_XLSX = {200: {"content": {XLSX_MEDIA: {}}}}
QuarterText = Annotated[str | None, Query(max_length=20, description="季度，如 2026Q4，默认本季度 / quarter")]
FormName = Literal["附件2", "附件3"]


class QuarterlyRow(BaseModel):
    key: str = Field(description="行的键：event:<活动编号>，或活动之外的对接一行的名称 / row key")
    name: str
    content: str
    results: str
    shortfall: str = Field(description="存在不足（已保存的文字，或自动生成的） / as exported")
    generated: str = Field(description="按数据自动生成的存在不足 / generated from the figures")
    saved_by: str = ""
    saved_at: datetime | None = None
    event_id: int | None = None


class QuarterlyReport(BaseModel):
    quarter: str
    label: str
    form: str
    title: str
    due: date
    rows: list[QuarterlyRow]


class QuarterlyNotes(InputModel):
    quarter: str | None = Field(None, max_length=20, description="季度，如 2026Q4，默认本季度 / quarter")
    form: FormName = "附件2"
    notes: dict[Annotated[str, StringConstraints(max_length=80)],
                Annotated[str, StringConstraints(max_length=2 * MAX_NOTE_CHARS)]] = Field(
        max_length=500, description="行的键 → 存在不足；与自动生成的相同则不保存 / row key → text")


def quarterly_public(q: Quarter, form: str, rows: list[ReportRow]) -> QuarterlyReport:
    return QuarterlyReport(
        quarter=q.key, label=q.label, form=form, title=f"{q.label}{quarterly.FORMS[form]}", due=q.due,
        rows=[QuarterlyRow(key=r.key, name=r.name, content=r.content, results=r.results, shortfall=r.shortfall,
                           generated=r.generated, saved_by=r.saved_by, saved_at=r.saved_at, event_id=r.event_id)
              for r in rows],
    )


def quarterly_download(q: Quarter, form: str, rows: list[ReportRow], unit: str, filled_on: date | None) -> Response:
    content = quarterly_xlsx(form, q, rows, unit, filled_on or date.today())
    fallback = f"form{form[-1]}-{q.key}.xlsx"
    return xlsx_response(content, f"{form}_{q.label}{quarterly.FORMS[form]}.xlsx", fallback)


@router.get("/quarterly", response_model=QuarterlyReport,
            summary="季度统计表 附件2/附件3 / the quarterly report form's rows")
def quarterly_json(session: SessionDep, _user: StaffUser, quarter: QuarterText = None,
                   form: Annotated[FormName, Query(description="附件2 / 附件3")] = "附件2") -> QuarterlyReport:
    q = quarterly.parse_quarter(quarter)
    return quarterly_public(q, form, notes.report_rows(session, q, form))


@router.put("/quarterly/notes", response_model=QuarterlyReport,
            summary="保存存在不足 / store the 存在不足 staff wrote",
            description="按行的键保存；以后的页面和导出都使用保存的文字。每次修改记入审计日志。")
def quarterly_notes(body: QuarterlyNotes, session: SessionDep, user: StaffUser) -> QuarterlyReport:
    q = quarterly.parse_quarter(body.quarter)
    return quarterly_public(q, body.form, notes.save_notes(session, user, q, body.form, body.notes))


@router.get(
    "/quarterly.xlsx",
    response_class=Response,
    responses=_XLSX,
    summary="季度统计表 附件2/附件3 / the quarterly report form as XLSX",
    description="填自本季度的活动、对接方案和对接结果；存在不足为报表页面（或 PUT /reports/quarterly/notes）保存的文字。"
    "Filled from the quarter's events, plans and outcomes.",
)
def quarterly_report(
    session: SessionDep,
    _user: StaffUser,
    quarter: QuarterText = None,
    form: Annotated[FormName, Query(description="附件2 院士专家服务活动 / 附件3 学会服务站")] = "附件2",
    unit: Annotated[str, Query(max_length=100, description="填报单位 / reporting association")] = "",
    filled_on: Annotated[date | None, Query(description="填报时间，默认今天 / date filled in")] = None,
) -> Response:
    q = quarterly.parse_quarter(quarter)
    return quarterly_download(q, form, notes.report_rows(session, q, form), unit, filled_on)


@router.get("/demands.xlsx", response_class=Response, responses=_XLSX,
            summary="技术需求清单 XLSX / the demand list as XLSX")
def demands_list(
    session: SessionDep,
    _user: StaffUser,
    city: Annotated[str | None, Query(max_length=200, description="设区市，逗号分隔 / cities")] = None,
    status_: Annotated[str | None, Query(alias="status", max_length=100, description="状态 / status")] = None,
    q: Annotated[str | None, Query(max_length=200, description="包含的文字 / text contained")] = None,
    *,
    scope: ScopeDep,
) -> Response:
    content = lists.demands_xlsx(session, city, status_, q, scope)
    return xlsx_response(content, "技术需求清单.xlsx", "demands.xlsx")


@router.get("/demands/{demand_id}/matches.xlsx", response_class=Response, responses=_XLSX,
            summary="需求的推荐专家或学会 XLSX / ranked experts or societies for a demand as XLSX")
def matches_list(
    demand_id: IdPath,
    session: SessionDep,
    index: IndexDep,
    _user: StaffUser,
    kind: Annotated[Literal["experts", "societies"], Query(description="experts / societies")] = "experts",
    top_k: Annotated[int, Query(ge=1, le=50, description="条数 / how many")] = 20,
    *,
    scope: ScopeDep,
) -> Response:
    scope.require_demand(session, demand_id)
    name, content = lists.matches_xlsx(index, session, demand_id, matching.PLURAL_TO_KIND[kind], top_k)
    return xlsx_response(content, name, f"demand-{demand_id}-{kind}.xlsx")
