"""Pages: upload a spreadsheet (imported as a background job, see /web/jobs) and read\nits import report."""

from __future__ import annotations

from typing import Annotated

from fastapi import (
    APIRouter,
    File,
    Form,
    Request,
    UploadFile,
)
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from api import presenters
from api.deps import (
    SessionDep,
    SettingsDep,
)
from api.pages.common import (
    WebStaff,
    redirect,
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
    settings: SettingsDep,
    user: WebStaff,
    file: Annotated[UploadFile, File()],
    kind: Annotated[str, Form()] = "demands",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """The upload is checked and queued; the browser goes on to the job's progress page."""
    from ingest.errors import IngestError

    require_csrf(request, csrf)
    error = ""
    if not file.filename:
        error = "请选择要上传的文件。"
    else:
        try:
            started = imports.start_import_job(session, settings, user, kind, file.filename, file.file,
                                                   max_bytes=settings.max_upload_mb * 1024 * 1024)
        except IngestError as exc:
            session.rollback()
            error = str(exc)
        except FieldProblem as exc:
            session.rollback()
            error = exc.reason
        else:
            return redirect(f"/web/jobs/{started['job']['id']}")
    logs = session.scalars(
        scope_for(session, user).imports(select(ImportLog)).order_by(ImportLog.id.desc()).limit(20)
    ).all()
    return render(request, "imports.html", user, status_code=422, logs=logs, report=None, error=error)


@router.get("/web/imports/{import_id}", response_class=HTMLResponse)
def import_page(request: Request, import_id: int, session: SessionDep, user: WebStaff) -> HTMLResponse:
    scope_for(session, user).require_import(session, import_id)
    log = session.get(ImportLog, import_id)
    if log is None:
        raise RecordNotFound("导入记录", import_id)
    logs = session.scalars(scope_for(session, user).imports(select(ImportLog)).order_by(ImportLog.id.desc()).limit(20)).all()
    return render(request, "imports.html", user, logs=logs, report=presenters.import_log_report(log), error="")
