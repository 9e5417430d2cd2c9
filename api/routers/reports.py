"""Reports as XLSX: the quarterly 附件2/附件3 统计表 and the demand and match lists."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import IndexDep, SessionDep, StaffUser
from api.downloads import XLSX_MEDIA, xlsx_response
from api.schemas.inputs import IdPath
from api.scope import ScopeDep
from kejie import matching
from kejie.reports import lists, quarterly
from kejie.reports.files import quarterly_xlsx

router = APIRouter(prefix="/reports", tags=["reports 报表"])
_XLSX = {200: {"content": {XLSX_MEDIA: {}}}}


def quarterly_download(
    session: SessionDep, quarter: str | None, form: str, unit: str, filled_on: date | None,
    shortfalls: dict[int, str] | None = None,
) -> Response:
    q = quarterly.parse_quarter(quarter)
    quarterly.check_form(form)
    rows = quarterly.quarterly_rows(session, q, form)
    content = quarterly_xlsx(form, q, rows, unit, filled_on or date.today(), shortfalls)
    fallback = f"form{form[-1]}-{q.key}.xlsx"
    return xlsx_response(content, f"{form}_{q.label}{quarterly.FORMS[form]}.xlsx", fallback)


@router.get(
    "/quarterly.xlsx",
    response_class=Response,
    responses=_XLSX,
    summary="季度统计表 附件2/附件3 / the quarterly report form as XLSX",
    description="填自本季度的活动、对接方案和对接结果；存在不足可在报表页面修改后导出。"
    "Filled from the quarter's events, plans and outcomes.",
)
def quarterly_report(
    session: SessionDep,
    _user: StaffUser,
    quarter: Annotated[str | None, Query(max_length=20, description="季度，如 2026Q4，默认本季度 / quarter")] = None,
    form: Annotated[Literal["附件2", "附件3"], Query(description="附件2 院士专家服务活动 / 附件3 学会服务站")] = "附件2",
    unit: Annotated[str, Query(max_length=100, description="填报单位 / reporting association")] = "",
    filled_on: Annotated[date | None, Query(description="填报时间，默认今天 / date filled in")] = None,
) -> Response:
    return quarterly_download(session, quarter, form, unit, filled_on)


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
