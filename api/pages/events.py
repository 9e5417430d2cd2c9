"""Pages: events, planning one, and the outcome report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import (
    APIRouter,
    HTTPException,
    Query,
    Request,
    status,
)
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from api.deps import (
    IndexDep,
    SessionDep,
    SettingsDep,
)
from api.errors import plain_errors
from api.pages.common import (
    WebStaff,
    redirect,
    render,
    require_csrf,
)
from api.schemas import (
    EventCreate,
)
from kejie import job_tasks
from kejie.audit import audit
from kejie.errors import RecordNotFound
from kejie.events import runs
from kejie.events.pools import PoolError, PoolSettings, event_dates, update_pools
from models import (
    Event,
    Expert,
    Society,
)

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- events & reports


@router.get("/web/events", response_class=HTMLResponse)
def events_page(request: Request, session: SessionDep, user: WebStaff) -> HTMLResponse:
    events = session.scalars(select(Event).order_by(Event.starts_on.desc(), Event.id.desc())).all()
    return render(request, "events.html", user, events=events, form={}, regions=[], errors={})


@router.post("/web/events", response_class=HTMLResponse)
async def event_create_submit(request: Request, session: SessionDep, user: WebStaff) -> Response:
    form = await request.form()
    require_csrf(request, str(form.get("csrf", "")))
    values = {k: str(form.get(k, "")).strip() for k in ("name", "event_type", "starts_on", "ends_on", "notes",
                                                         "max_experts_per_demand")}
    data: dict[str, Any] = {k: v for k, v in values.items() if v}
    data["regions"] = [str(r) for r in form.getlist("regions")]
    data["include_societies"] = form.get("include_societies") == "true"
    data["academicians_only"] = form.get("academicians_only") == "true"
    try:
        body = EventCreate(**data)
    except ValidationError as exc:
        errors = {e["field"]: e["reason"] for e in plain_errors(list(exc.errors()))}
        events = session.scalars(select(Event).order_by(Event.starts_on.desc(), Event.id.desc())).all()
        return render(request, "events.html", user, status_code=422, events=events, form=values,
                      regions=data["regions"], errors=errors)
    event = Event(**body.model_dump())
    session.add(event)
    session.flush()
    audit(session, user, "create", "event", event.id, {"name": event.name})
    session.commit()
    return redirect(f"/web/events/{event.id}")


@router.get("/web/events/{event_id}", response_class=HTMLResponse)
def event_page(
    request: Request,
    event_id: int,
    session: SessionDep,
    user: WebStaff,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    from api.routers.events import latest_plan, plan_public

    event = session.get(Event, event_id)
    if event is None:
        raise RecordNotFound("活动", event_id)
    match_list = latest_plan(session, event_id, version)
    plan = plan_public(session, match_list, request) if match_list is not None else None
    return _detail(request, session, user, event, plan)


def _detail(
    request: Request, session: SessionDep, user: WebStaff, event: Event, plan: Any, error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    experts = session.scalars(select(Expert).order_by(Expert.is_academician.desc(), Expert.name, Expert.id)).all()
    societies = session.scalars(select(Society).order_by(Society.name, Society.id)).all()
    invited = {i.expert_id: i for i in event.invitees if i.expert_id is not None}
    invited_societies = {i.society_id for i in event.invitees if i.society_id is not None}
    return render(
        request, "event_detail.html", user, status_code=status_code, event=event, plan=plan, experts=experts,
        societies=societies, invited=invited, invited_societies=invited_societies,
        dates=[d.isoformat() for d in event_dates(event)], pool_error=error,
    )


@router.post("/web/events/{event_id}/pools")
async def event_pools_submit(request: Request, event_id: int, session: SessionDep, user: WebStaff) -> Response:
    form = await request.form()
    require_csrf(request, str(form.get("csrf", "")))
    event = session.get(Event, event_id)
    if event is None:
        raise RecordNotFound("活动", event_id)

    def ints(name: str) -> list[int]:
        return [int(v) for v in form.getlist(name) if str(v).isdigit()]

    def opt_int(name: str) -> int | None:
        v = str(form.get(name, "")).strip()
        return int(v) if v.isdigit() else None

    expert_ids = ints("expert_ids")
    days = {e: [str(d) for d in form.getlist(f"days_{e}")] for e in expert_ids if form.get(f"limit_days_{e}")}
    settings = PoolSettings(
        invite_all=form.get("invite_all") == "true",
        academicians_only=form.get("academicians_only") == "true",
        candidate_regions=[str(r) for r in form.getlist("candidate_regions")],
        include_societies=form.get("include_societies") == "true",
        expert_ids=expert_ids,
        society_ids=ints("society_ids"),
        available_days=days,
        day_slots=[s for s in str(form.get("day_slots", "")).replace("，", ",").replace("、", ",").split(",")],
        expert_slot_limit=opt_int("expert_slot_limit") or 1,
        slot_limit=opt_int("slot_limit"),
    )
    try:
        update_pools(session, event_id, settings)
    except PoolError as exc:
        session.rollback()
        event = session.get(Event, event_id)
        return _detail(request, session, user, event, None, str(exc), 422)  # type: ignore[arg-type]
    audit(session, user, "update", "event", event_id, {"pools": True})
    session.commit()
    return redirect(f"/web/events/{event_id}?notice=pools_saved#pools")


@router.post("/web/events/{event_id}/plan")
async def event_plan_submit(
    request: Request, event_id: int, session: SessionDep, index: IndexDep, user: WebStaff
) -> Response:
    from matcher.errors import InfeasiblePlan, PlanningError

    form = await request.form()
    require_csrf(request, str(form.get("csrf", "")))
    try:
        _ml, created = runs.plan_event_for(session, index, user, event_id)
    except InfeasiblePlan:
        return redirect(f"/web/events/{event_id}?notice=plan_infeasible#plan")
    except PlanningError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    return redirect(f"/web/events/{event_id}?notice={'plan_created' if created else 'plan_unchanged'}#plan")


@router.post("/web/events/{event_id}/plan-job")
async def event_plan_job_submit(request: Request, event_id: int, session: SessionDep, settings: SettingsDep,
                                user: WebStaff) -> Response:
    """Plan as a background job: the page returns at once and shows the job's progress."""
    form = await request.form()
    require_csrf(request, str(form.get("csrf", "")))
    if session.get(Event, event_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"活动 {event_id} 不存在")
    rec = job_tasks.enqueue(settings, "plan_event", event_id, user.id, user=user.username)
    return redirect(f"/web/jobs/{rec['id']}")
