"""Page: a background job's progress (bar, stage, ETA), then its result — for an
import, the same report the 导入 page shows (counts, rejects, rejects download)."""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse

from api import presenters
from api.deps import SessionDep, SettingsDep
from api.pages.common import WebStaff, render
from api.routers.jobs import job_public
from kejie import job_recovery
from kejie.scope import require_job, scope_for
from models import ImportLog

router = APIRouter(include_in_schema=False)

JOB_ID = re.compile(r"[0-9a-f-]{8,64}")


@router.get("/web/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str, session: SessionDep, settings: SettingsDep,
             user: WebStaff) -> HTMLResponse:
    # a job whose worker died is ended failed here, never shown running for ever
    rec = job_recovery.current(settings, job_id, session) if JOB_ID.fullmatch(job_id) else None
    if rec is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"后台任务 {job_id} 不存在")
    require_job(scope_for(session, user), user, rec)
    job = job_public(rec)
    report = None
    if job.import_id is not None and job.status in ("done", "failed"):
        log = session.get(ImportLog, job.import_id)
        report = presenters.import_log_report(log) if log is not None else None
    return render(request, "job.html", user, job=job, report=report)
