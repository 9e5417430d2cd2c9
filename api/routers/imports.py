"""Spreadsheet uploads: CSV/XLSX in (a background job, or at once with ?wait=true), an
import report with the rejected rows out."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile, status
from fastapi.responses import Response
from sqlalchemy import select

from api import presenters
from api.deps import IndexDep, PageDep, SessionDep, SettingsDep, StaffUser
from api.downloads import xlsx_response
from api.routers.jobs import job_public
from api.schemas import ImportReportPublic, Page
from api.schemas.inputs import IdPath
from api.schemas.jobs import ImportQueued
from kejie import imports, queries
from kejie.errors import RecordNotFound
from kejie.scope import scope_for
from models import ImportLog

router = APIRouter(prefix="/imports", tags=["imports 导入"])


@router.post(
    "",
    response_model=ImportQueued | ImportReportPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="上传表格导入 / upload a spreadsheet",
    description="文件名、类型、大小与表头当场检查，然后在后台导入：立即返回 202 与任务编号（Location 为查询进度的地址）；"
    "?wait=true 时等导入完成再返回 201 与导入结果。好的行照常导入，坏的行逐条列出（文件、行号、字段、原因）。"
    "Checked at once, then imported in the background (202 + job id; poll Location); ?wait=true imports "
    "before answering (201 + report). Good rows are kept; bad rows are listed.",
    responses={201: {"model": ImportReportPublic, "description": "?wait=true：导入结果 / the report"}},
)
def upload(
    session: SessionDep,
    index: IndexDep,
    settings: SettingsDep,
    user: StaffUser,
    response: Response,
    file: Annotated[UploadFile, File(description="CSV 或 XLSX 文件 / a CSV or XLSX file")],
    kind: Annotated[
        Literal["demands", "experts", "societies"], Form(description="demands 需求 / experts 专家 / societies 学会")
    ],
    wait: Annotated[bool, Query(description="等导入完成再返回 / import before answering")] = False,
) -> ImportQueued | ImportReportPublic:
    max_bytes = settings.max_upload_mb * 1024 * 1024
    if wait:
        response.status_code = status.HTTP_201_CREATED
        return presenters.import_report(imports.run_import(
            session, index, user, kind, file.filename or "upload", file.file, max_bytes, settings
        ))
    started = imports.start_import_job(session, settings, user, kind, file.filename or "upload", file.file,
                                           max_bytes=max_bytes)
    job_id = started["job"]["id"]
    response.headers["Location"] = f"/jobs/{job_id}"
    return ImportQueued(job=job_public(started["job"]), import_id=started["import_id"], poll=f"/jobs/{job_id}",
                        page=f"/web/jobs/{job_id}")


@router.get("", response_model=Page[ImportReportPublic], summary="导入记录 / import history")
def history(session: SessionDep, user: StaffUser, page: PageDep) -> Page[ImportReportPublic]:
    total, rows = queries.count_and_page(
        session, scope_for(session, user).imports(select(ImportLog)), [ImportLog.id.desc()], page.limit, page.offset
    )
    return Page[ImportReportPublic](
        items=[presenters.import_log_report(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/{import_id}", response_model=ImportReportPublic, summary="一次导入的结果 / one import")
def one(import_id: IdPath, session: SessionDep, user: StaffUser) -> ImportReportPublic:
    scope_for(session, user).require_import(session, import_id)
    log = session.get(ImportLog, import_id)
    if log is None:
        raise RecordNotFound("导入记录", import_id)
    return presenters.import_log_report(log)


@router.get(
    "/{import_id}/rejects.xlsx",
    response_class=Response,
    summary="下载被拒绝的行 / the rejected rows as XLSX",
    description="与上传的表格同样的列（同样的顺序），另加“原因”列，可退回设区市修改后重新导入。"
    "The uploaded columns in order plus 原因, to send back and re-import.",
    responses={200: {"content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}},
)
def rejects_xlsx(import_id: IdPath, session: SessionDep, user: StaffUser) -> Response:
    scope_for(session, user).require_import(session, import_id)
    name, content = imports.rejects_download(session, import_id)
    return xlsx_response(content, name, fallback=f"import-{import_id}-rejects.xlsx")
