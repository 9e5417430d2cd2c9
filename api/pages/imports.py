"""Pages: upload a spreadsheet and read its import report."""

from __future__ import annotations

from typing import Annotated

from fastapi import (
    APIRouter,
    File,
    Form,
    Request,
    UploadFile,
)
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from api import presenters
from api.deps import (
    IndexDep,
    SessionDep,
    SettingsDep,
)
from api.pages.common import (
    WebStaff,
    render,
    require_csrf,
)
from kejie import imports
from kejie.errors import FieldProblem, RecordNotFound
from kejie.scope import scope_for
from models import (
    ImportLog,
)

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- imports


@router.get("/web/imports", response_class=HTMLResponse)
def imports_page(request: Request, session: SessionDep, user: WebStaff) -> HTMLResponse:
    logs = session.scalars(scope_for(session, user).imports(select(ImportLog)).order_by(ImportLog.id.desc()).limit(20)).all()
    return render(request, "imports.html", user, logs=logs, report=None, error="")


@router.post("/web/imports", response_class=HTMLResponse)
def imports_submit(
    request: Request,
    session: SessionDep,
    index: IndexDep,
    settings: SettingsDep,
    user: WebStaff,
    file: Annotated[UploadFile, File()],
    kind: Annotated[str, Form()] = "demands",
    csrf: Annotated[str, Form()] = "",
) -> HTMLResponse:
    from ingest.errors import IngestError

    require_csrf(request, csrf)
    error = ""
    report = None
    if kind not in imports.IMPORT_KINDS:
        error = f"未知的数据类型：{kind}"
    elif not file.filename:
        error = "请选择要上传的文件。"
    else:
        try:
            report = presenters.import_report(imports.run_import(
                session, index, user, kind, file.filename, file.file, settings.max_upload_mb * 1024 * 1024
            ))
        except IngestError as exc:
            session.rollback()
            error = str(exc)
        except FieldProblem as exc:
            session.rollback()
            error = exc.reason
    logs = session.scalars(scope_for(session, user).imports(select(ImportLog)).order_by(ImportLog.id.desc()).limit(20)).all()
    return render(
        request, "imports.html", user, status_code=422 if error else 200, logs=logs, report=report, error=error
    )


@router.get("/web/imports/{import_id}", response_class=HTMLResponse)
def import_page(request: Request, import_id: int, session: SessionDep, user: WebStaff) -> HTMLResponse:
    scope_for(session, user).require_import(session, import_id)
    log = session.get(ImportLog, import_id)
    if log is None:
        raise RecordNotFound("导入记录", import_id)
    logs = session.scalars(scope_for(session, user).imports(select(ImportLog)).order_by(ImportLog.id.desc()).limit(20)).all()
    return render(request, "imports.html", user, logs=logs, report=presenters.import_log_report(log), error="")
