"""Events (对接活动) and their plans."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from starlette.routing import NoMatchFound

from api.deps import CurrentUser, IndexDep, PageDep, SessionDep, SettingsDep, StaffUser
from api.presenters import event_view, staff_view
from api.routers.jobs import job_public
from api.schemas import EventCreate, EventPublic, Page
from api.schemas.events import PlanItemPublic, PlanPublic
from api.schemas.inputs import MAX_ID, IdPath
from api.schemas.jobs import JobPublic
from kejie import job_tasks, queries
from kejie.audit import audit
from kejie.errors import RecordNotFound
from kejie.events import runs
from models import Demand, Event, Expert, MatchList, Society

router = APIRouter(prefix="/events", tags=["events 对接活动"])


@router.get("", response_model=Page[EventPublic], summary="活动列表 / list events")
def list_events(session: SessionDep, user: CurrentUser, page: PageDep) -> Page[EventPublic]:
    total, rows = queries.count_and_page(
        session, select(Event), [Event.starts_on.desc(), Event.id.desc()], page.limit, page.offset
    )
    return Page[EventPublic](
        items=[event_view(e, staff=staff_view(user)) for e in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/{event_id}", response_model=EventPublic, summary="查看活动 / one event")
def get_event(event_id: IdPath, session: SessionDep, user: CurrentUser) -> EventPublic:
    event = session.get(Event, event_id)
    if event is None:
        raise RecordNotFound("活动", event_id)
    return event_view(event, staff=staff_view(user))


@router.post(
    "", response_model=EventPublic, status_code=status.HTTP_201_CREATED, summary="新建活动 / create an event"
)
def create_event(body: EventCreate, session: SessionDep, user: StaffUser) -> EventPublic:
    event = Event(**body.model_dump())
    session.add(event)
    session.flush()
    audit(session, user, "create", "event", event.id, {"name": event.name})
    session.commit()
    return EventPublic.model_validate(event)


def plan_public(session: Session, match_list: MatchList, request: Request | None = None) -> PlanPublic:
    items = list(match_list.items)
    demand_ids = {i.demand_id for i in items}
    expert_ids = {i.expert_id for i in items if i.expert_id is not None}
    society_ids = {i.society_id for i in items if i.society_id is not None}
    demands = {
        d.id: d
        for d in session.scalars(
            select(Demand).where(Demand.id.in_(demand_ids)).options(selectinload(Demand.enterprise))
        )
    }
    experts = {e.id: e.name for e in session.scalars(select(Expert).where(Expert.id.in_(expert_ids)))}
    societies = {s.id: s.name for s in session.scalars(select(Society).where(Society.id.in_(society_ids)))}
    downloads: dict[str, str] = {}
    if request is not None and match_list.event_id is not None:
        try:
            for fmt in ("xlsx", "csv", "json"):
                url = request.url_for("download_plan", event_id=match_list.event_id, fmt=fmt)
                downloads[fmt] = f"{url.path}?version={match_list.version}"
        except NoMatchFound:  # exports not mounted
            downloads = {}
    return PlanPublic(
        id=match_list.id,
        event_id=match_list.event_id,
        version=match_list.version,
        status=match_list.status,
        total_score=match_list.total_score,
        message=match_list.message,
        params=match_list.params or {},
        created_at=match_list.created_at,
        downloads=downloads,
        items=[
            PlanItemPublic(
                id=i.id,
                demand_id=i.demand_id,
                demand_title=demands[i.demand_id].title if i.demand_id in demands else "",
                enterprise_name=demands[i.demand_id].enterprise.name if i.demand_id in demands else "",
                expert_id=i.expert_id,
                expert_name=experts.get(i.expert_id, "") if i.expert_id else "",
                society_id=i.society_id,
                society_name=societies.get(i.society_id, "") if i.society_id else "",
                score=i.score,
                rank=i.rank,
                reasons=list(i.reasons or []),
                visit_date=i.visit_date,
                slot=i.slot,
                visit_order=i.visit_order,
                schedule_note=i.schedule_note or "",
                interest=i.interest or "",
            )
            for i in items
        ],
    )


def latest_plan(session: Session, event_id: int, version: int | None = None) -> MatchList | None:
    query = select(MatchList).where(MatchList.event_id == event_id).options(selectinload(MatchList.items))
    if version is not None:
        query = query.where(MatchList.version == version)
    return session.scalar(query.order_by(MatchList.version.desc()).limit(1))


@router.get("/{event_id}/plan", response_model=PlanPublic, summary="活动对接方案 / the event's plan")
def get_plan(
    event_id: IdPath,
    request: Request,
    session: SessionDep,
    _user: StaffUser,
    version: Annotated[int | None, Query(ge=1, le=MAX_ID, description="版本号，默认最新 / version, default newest")] = None,
) -> PlanPublic:
    if session.get(Event, event_id) is None:
        raise RecordNotFound("活动", event_id)
    match_list = latest_plan(session, event_id, version)
    if match_list is None:
        raise RecordNotFound(f"活动 {event_id} 的对接方案" + (f" 第{version}版" if version else ""), "")
    return plan_public(session, match_list, request)



@router.post(
    "/{event_id}/plan",
    response_model=PlanPublic,
    status_code=status.HTTP_201_CREATED,
    summary="生成活动对接方案 / plan the event",
    description=(
        "按活动范围与约束生成新一版方案；输入未变时返回现有版本（状态码 200）。无法排定时返回 409 及需放宽的约束。"
        " Plans a new version; unchanged inputs return the current one (200). Infeasible: 409 with what to relax."
    ),
    responses={409: {"description": "无法排定 / infeasible"}},
)
def create_plan(
    event_id: IdPath, request: Request, response: Response, session: SessionDep, index: IndexDep, user: StaffUser
) -> PlanPublic:
    match_list, created = runs.plan_event_for(session, index, user, event_id)
    if not created:
        response.status_code = status.HTTP_200_OK
    return plan_public(session, match_list, request)


@router.post(
    "/{event_id}/plan/jobs",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="在后台生成对接方案 / plan the event as a background job",
    description="立即返回任务编号；用 GET /jobs/{id} 查看进度和结果。Returns a job id at once; poll GET /jobs/{id}.",
)
def create_plan_job(event_id: IdPath, session: SessionDep, settings: SettingsDep, user: StaffUser) -> JobPublic:
    if session.get(Event, event_id) is None:
        raise RecordNotFound("活动", event_id)
    return job_public(job_tasks.enqueue(settings, "plan_event", event_id, user.id, user=user.username))


_MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}


@router.get(
    "/{event_id}/plan.{fmt}",
    name="download_plan",
    summary="下载对接方案 / download the plan (xlsx, csv, json)",
    response_class=Response,
)
def download_plan(
    event_id: IdPath,
    fmt: Literal["xlsx", "csv", "json"],
    session: SessionDep,
    _user: StaffUser,
    version: Annotated[int | None, Query(ge=1, le=MAX_ID, description="版本号，默认最新 / version")] = None,
    contacts: Annotated[bool, Query(description="包含联系方式 / include contact data")] = False,
) -> Response:
    from kejie.events.export import export_match_list

    if session.get(Event, event_id) is None:
        raise RecordNotFound("活动", event_id)
    match_list = latest_plan(session, event_id, version)
    if match_list is None:
        raise RecordNotFound(f"活动 {event_id} 的对接方案" + (f" 第{version}版" if version else ""), "")
    with tempfile.TemporaryDirectory(prefix="kejie-export-") as tmp:
        (path,) = export_match_list(session, match_list, Path(tmp), [fmt], include_contacts=contacts)
        content = path.read_bytes()
        name = path.name
    return Response(
        content,
        media_type=_MEDIA[fmt],
        headers={"Content-Disposition": f"attachment; filename=\"{name}\""},
    )
