"""Background jobs (后台任务): progress and result of a queued job."""

from __future__ import annotations

from fastapi import APIRouter, Path

from api.deps import SessionDep, SettingsDep, StaffUser
from api.schemas.jobs import JobPublic
from api.scope import ScopeDep
from kejie import job_recovery, jobs
from kejie.errors import RecordNotFound
from kejie.scope import require_job

router = APIRouter(prefix="/jobs", tags=["jobs 后台任务"])

JobId = Path(pattern=r"^[0-9a-f-]{8,64}$", description="任务编号 / job id")


def job_public(rec: jobs.JobRecord) -> JobPublic:
    result = rec.get("result")
    url = None
    if rec.get("kind") in ("import_file", "import_sync") and rec.get("import_id"):
        url = f"/imports/{rec['import_id']}"
    elif rec.get("status") == "done" and rec.get("kind") == "plan_event" and result:
        url = f"/events/{result['event_id']}/plan"
    return JobPublic(id=rec["id"], kind=rec["kind"], status=rec["status"], stage=rec.get("stage", ""),
                     done=rec.get("done", 0), total=rec.get("total", 0), eta=rec.get("eta"),
                     stages=rec.get("stages") or [], import_id=rec.get("import_id"), result=result,
                     error=rec.get("error"), url=url)


@router.get("/{job_id}", response_model=JobPublic, summary="后台任务进度 / a job's progress")
def get_job(job_id: str = JobId, *, session: SessionDep, settings: SettingsDep, user: StaffUser,
            scope: ScopeDep) -> JobPublic:
    # a job whose worker died is ended failed here, never shown running for ever
    rec = job_recovery.current(settings, job_id, session)
    if rec is None:
        raise RecordNotFound("后台任务", job_id)
    require_job(scope, user, rec)
    return job_public(rec)
