"""Server-rendered pages for staff (and experts' own recommendations).

Login sets an HttpOnly, SameSite=Lax cookie holding the same signed token the
JSON API accepts; every form carries a CSRF token derived from it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    File,
    Form,
    HTTPException,
    Query,
    Request,
    UploadFile,
    status,
)
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import presenters
from api.deps import (
    SESSION_COOKIE,
    IndexDep,
    SessionDep,
    SettingsDep,
    is_staff,
    load_user,
    token_from_request,
)
from api.errors import plain_errors
from api.presenters import demand_staff, demand_view, match_views
from api.schemas import (
    DemandCreate,
    EventCreate,
    FeedbackCreate,
    OutcomeCreate,
)
from kejie import demands, imports, matching, outcomes, queries
from kejie.accounts import authenticate
from kejie.audit import audit
from kejie.errors import FieldProblem, RecordNotFound
from kejie.events import runs
from kejie.security import check_csrf, csrf_token
from kejie.sessions import revoke_session, start_session
from kejie.settings import Settings
from matcher.types import Match
from models import (
    Demand,
    DemandStatus,
    Event,
    Expert,
    ExpertFeedback,
    ImportLog,
    Outcome,
    Role,
    Society,
    User,
)

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)

router = APIRouter(include_in_schema=False)

CITIES = ["福州市", "厦门市", "莆田市", "三明市", "泉州市", "漳州市", "南平市", "龙岩市", "宁德市", "平潭综合实验区"]
STATUS_LABELS = {
    "open": "待对接",
    "matched": "已匹配",
    "in_progress": "对接中",
    "solved": "已解决",
    "closed": "已关闭",
}
OUTCOME_LABELS = {"contacted": "已联系", "visited": "已走访", "signed": "已签约", "not_a_fit": "不合适"}
FIELD_LABELS = {
    "research_area": "研究方向",
    "achievement": "代表性成果",
    "keyword": "关键词",
    "title": "标题",
    "description": "说明",
    "discipline": "学科",
    "representative_work": "代表性成果",
    "name": "名称",
}
IMPORT_KIND_LABELS = {"demands": "技术需求", "experts": "专家", "societies": "学会"}
NOTICES = {
    "outcome_saved": "对接结果已记录。",
    "demand_saved": "技术需求已保存，下方为匹配结果。",
    "feedback_interested": "已记录：您对该需求感兴趣，工作人员会与您联系。",
    "feedback_declined": "已记录：您婉拒了该需求，它不会再出现在推荐中。",
    "plan_created": "已生成新一版对接方案。",
    "plan_unchanged": "活动范围和数据都没有变化，沿用现有方案。",
    "plan_infeasible": "无法排定方案，原因见下方说明。",
}
templates.env.globals.update(
    STATUS_LABELS=STATUS_LABELS,
    OUTCOME_LABELS=OUTCOME_LABELS,
    FIELD_LABELS=FIELD_LABELS,
    IMPORT_KIND_LABELS=IMPORT_KIND_LABELS,
    CITIES=CITIES,
)


# ---------------------------------------------------------------- auth helpers


class LoginRequired(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def web_user(request: Request, session: SessionDep, settings: SettingsDep) -> User:
    user = load_user(session, settings, token_from_request(request))
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    request.state.user = user  # for the error page's navigation
    return user


WebUser = Annotated[User, Depends(web_user)]


def web_staff(user: WebUser) -> User:
    if not is_staff(user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "此页面仅限工作人员。")
    return user


WebStaff = Annotated[User, Depends(web_staff)]


def require_csrf(request: Request, submitted: str) -> None:
    token = token_from_request(request) or ""
    if not check_csrf(_settings(request).secret_key, token, submitted):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "表单已过期，请刷新页面后重试。")


def render(
    request: Request, name: str, user: User | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    token = token_from_request(request) or ""
    context.update(
        user=user,
        is_staff=user is not None and is_staff(user),
        csrf=csrf_token(_settings(request).secret_key, token) if token else "",
        notice=NOTICES.get(request.query_params.get("notice", ""), ""),
        path=request.url.path,
    )
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)


def _safe_next(target: str | None) -> str:
    # only same-site paths, never //host or scheme URLs
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def install_html_errors(app: FastAPI) -> None:
    """Web paths get HTML error pages and login redirects; the JSON API keeps JSON."""
    from api.errors import _validation_handler

    def is_web(request: Request) -> bool:
        path = request.url.path
        return path == "/" or path.startswith(("/web", "/login", "/logout"))

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return redirect("/login?next=" + quote(exc.next_url, safe=""))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not is_web(request):
            return await http_exception_handler(request, exc)
        detail = exc.detail
        if isinstance(detail, list):
            detail = "；".join(f"{d.get('field')}: {d.get('reason')}" for d in detail)
        user = getattr(request.state, "user", None)
        return render(request, "error.html", user, status_code=exc.status_code, code=exc.status_code, message=detail)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not is_web(request):
            return await _validation_handler(request, exc)
        message = "；".join(f"{e['field']}：{e['reason']}" for e in plain_errors(list(exc.errors())))
        return render(request, "error.html", None, status_code=422, code=422, message=message)

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)


# ---------------------------------------------------------------- login


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", None, next=_safe_next(next), error="")


@router.post("/login")
def login_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    user = authenticate(session, username, password) if username and password else None
    if user is None:
        return render(
            request, "login.html", None, status_code=401, next=_safe_next(next), error="用户名或密码错误。",
            username=username,
        )
    token = start_session(session, settings, user)
    target = _next_for(user, _safe_next(next))
    response = redirect(target)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.token_ttl_minutes * 60,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Revoke the session server-side (a saved cookie stops working) and forget any ``next=``."""
    revoke_session(session, settings, token_from_request(request))
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


def _next_for(user: User, target: str) -> str:
    """Where to go after login: ``next=`` only if this user may open it, else the user's home.

    A ``next=`` left by someone else's expired session (a staff page) never sends
    an expert to a 403, nor to another expert's profile.
    """
    if is_staff(user):
        return target
    own = {"/web/me"} | ({f"/web/experts/{user.expert_id}"} if user.expert_id else set())
    path = target.split("?", 1)[0].split("#", 1)[0]
    return target if path in own else "/web/me"


# ---------------------------------------------------------------- dashboard


def _quarter_start(today: date) -> date:
    return date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, user: WebUser) -> Response:
    if not is_staff(user):
        return redirect("/web/me")
    demand_counts = dict(
        session.execute(select(Demand.status, func.count()).group_by(Demand.status)).all()  # type: ignore[arg-type]
    )
    q_start = datetime.combine(_quarter_start(date.today()), datetime.min.time(), tzinfo=UTC)
    stats = {
        "demands": sum(demand_counts.values()),
        "open": demand_counts.get(DemandStatus.open, 0),
        "experts": session.scalar(select(func.count()).select_from(Expert)) or 0,
        "academicians": session.scalar(select(func.count()).where(Expert.is_academician.is_(True))) or 0,
        "societies": session.scalar(select(func.count()).select_from(Society)) or 0,
        "outcomes_quarter": session.scalar(select(func.count()).where(Outcome.recorded_at >= q_start)) or 0,
    }
    recent = session.scalars(
        select(Demand).options(selectinload(Demand.enterprise)).order_by(Demand.id.desc()).limit(8)
    ).all()
    imports = session.scalars(select(ImportLog).order_by(ImportLog.id.desc()).limit(3)).all()
    return render(request, "dashboard.html", user, stats=stats, recent=recent, imports=imports)


# ---------------------------------------------------------------- demands


@router.get("/web/demands", response_class=HTMLResponse)
def demands_page(
    request: Request,
    session: SessionDep,
    user: WebStaff,
    q: str = "",
    city: str = "",
    status_: Annotated[str, Query(alias="status")] = "",
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    per_page = 20
    query = queries.demand_query(city or None, None, status_ or None, q or None)
    total, rows = queries.count_and_page(session, query, [Demand.id.desc()], per_page, (page - 1) * per_page)
    params = {"q": q, "city": city, "status": status_}
    return render(
        request,
        "demands.html",
        user,
        demands=rows,
        total=total,
        page=page,
        pages=max(1, (total + per_page - 1) // per_page),
        params=params,
        qs=lambda p: urlencode({**params, "page": p}),
    )


DEMAND_FORM_FIELDS = (
    "enterprise_name", "city", "industry", "title", "description", "keywords",
    "contact_name", "mobile", "office_phone", "email", "submitted_by",
)


@router.get("/web/demands/new", response_class=HTMLResponse)
def new_demand_page(request: Request, user: WebStaff) -> HTMLResponse:
    return render(request, "demand_new.html", user, form={}, errors={})


@router.post("/web/demands/new", response_class=HTMLResponse)
async def new_demand_submit(request: Request, session: SessionDep, index: IndexDep, user: WebStaff) -> Response:
    form = await request.form()
    require_csrf(request, str(form.get("csrf", "")))
    values = {k: str(form.get(k, "")).strip() for k in DEMAND_FORM_FIELDS}
    data: dict[str, Any] = {k: v for k, v in values.items() if k != "keywords"}
    data["keywords"] = queries.split_terms(values["keywords"])
    errors: dict[str, str] = {}
    try:
        body = DemandCreate(**data)
    except ValidationError as exc:
        errors = {e["field"]: e["reason"] for e in plain_errors(list(exc.errors()))}
    else:
        try:
            demand = demands.create_demand(session, index, user, body)
        except FieldProblem as exc:
            session.rollback()
            errors = {exc.field: exc.reason}
        else:
            return redirect(f"/web/demands/{demand.id}?notice=demand_saved")
    return render(request, "demand_new.html", user, status_code=422, form=values, errors=errors)


def _load_candidates(session: Session, matches: list[Match], model: type[Any]) -> dict[int, Any]:
    ids = [int(m.id) for m in matches if str(m.id).isdigit()]
    if not ids:
        return {}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))}


@router.get("/web/demands/{demand_id}", response_class=HTMLResponse)
def demand_page(
    request: Request,
    demand_id: int,
    session: SessionDep,
    index: IndexDep,
    user: WebStaff,
    region: str = "",
    discipline: str = "",
    academician_only: bool = False,
    available_only: bool = False,
    top_k: Annotated[int, Query(ge=1, le=50)] = 10,
) -> HTMLResponse:
    demand = session.get(Demand, demand_id, options=[selectinload(Demand.enterprise)])
    if demand is None:
        raise RecordNotFound("技术需求", demand_id)
    expert_filters = queries.make_filters(region, discipline, academician_only, available_only)
    society_filters = queries.make_filters(None, discipline)
    expert_matches = matching.match_demand(index, session, demand_id, "expert", top_k, expert_filters)
    society_matches = matching.match_demand(index, session, demand_id, "society", top_k, society_filters)
    outcomes = session.scalars(
        select(Outcome).where(Outcome.demand_id == demand_id).order_by(Outcome.recorded_at.desc())
    ).all()
    feedback = session.scalars(
        select(ExpertFeedback).where(ExpertFeedback.demand_id == demand_id).order_by(ExpertFeedback.at.desc())
    ).all()
    return render(
        request,
        "demand_detail.html",
        user,
        feedback=feedback,
        demand=demand_staff(demand),
        expert_matches=match_views(expert_matches, staff=True),
        society_matches=match_views(society_matches, staff=True),
        experts=_load_candidates(session, expert_matches, Expert),
        societies=_load_candidates(session, society_matches, Society),
        outcomes=outcomes,
        expert_names=_names(session, Expert, [o.expert_id for o in outcomes] + [f.expert_id for f in feedback]),
        society_names=_names(session, Society, [o.society_id for o in outcomes]),
        filters={
            "region": region,
            "discipline": discipline,
            "academician_only": academician_only,
            "available_only": available_only,
            "top_k": top_k,
        },
    )


def _names(session: Session, model: type[Any], ids: list[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {row.id: row.name for row in session.scalars(select(model).where(model.id.in_(wanted)))}


def _search(
    request: Request,
    session: Session,
    index: Any,
    user: User,
    text: str,
    region: str = "",
    academician_only: bool = False,
) -> HTMLResponse:
    expert_matches: list[Match] = []
    society_matches: list[Match] = []
    if len(text) >= 2:
        expert_matches = matching.match_text(
            index, session, text, "expert", 10, queries.make_filters(region, None, academician_only)
        )
        society_matches = matching.match_text(index, session, text, "society", 10, None)
    return render(
        request,
        "search.html",
        user,
        q=text,
        region=region,
        academician_only=academician_only,
        expert_matches=match_views(expert_matches, staff=True),
        society_matches=match_views(society_matches, staff=True),
        experts=_load_candidates(session, expert_matches, Expert),
        societies=_load_candidates(session, society_matches, Society),
    )


@router.get("/web/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    session: SessionDep,
    index: IndexDep,
    user: WebStaff,
    q: Annotated[str, Query(max_length=5000)] = "",
    region: str = "",
    academician_only: bool = False,
) -> HTMLResponse:
    return _search(request, session, index, user, q.strip(), region, academician_only)


@router.post("/web/search", response_class=HTMLResponse)
async def search_from_form(request: Request, session: SessionDep, index: IndexDep, user: WebStaff) -> HTMLResponse:
    """The “只检索，不保存” button of the demand form: match its title and text only."""
    form = await request.form()
    require_csrf(request, str(form.get("csrf", "")))
    text = f"{str(form.get('title', '')).strip()}\n{str(form.get('description', '')).strip()}".strip()
    return _search(request, session, index, user, text[:5000])


@router.post("/web/outcomes")
async def outcome_submit(request: Request, session: SessionDep, user: WebStaff) -> Response:
    form = await request.form()
    require_csrf(request, str(form.get("csrf", "")))

    def opt_int(name: str) -> int | None:
        value = str(form.get(name, "")).strip()
        return int(value) if value.isdigit() else None

    demand_id = opt_int("demand_id")
    try:
        body = OutcomeCreate(
            demand_id=demand_id or 0,
            expert_id=opt_int("expert_id"),
            society_id=opt_int("society_id"),
            status=str(form.get("status", "")),  # type: ignore[arg-type]
            notes=str(form.get("notes", "")),
        )
    except ValidationError as exc:
        message = "；".join(f"{e['field']}：{e['reason']}" for e in plain_errors(list(exc.errors())))
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, message) from exc
    outcomes.record_outcome(session, user, body)
    anchor = f"#expert-{body.expert_id}" if body.expert_id else f"#society-{body.society_id}"
    return redirect(f"/web/demands/{body.demand_id}?notice=outcome_saved{anchor}")


# ---------------------------------------------------------------- profiles


@router.get("/web/experts/{expert_id}", response_class=HTMLResponse)
def expert_page(
    request: Request, expert_id: int, session: SessionDep, index: IndexDep, user: WebUser
) -> HTMLResponse:
    if not is_staff(user) and user.expert_id != expert_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "只能查看本人的信息。")
    expert = session.get(Expert, expert_id)
    if expert is None:
        raise RecordNotFound("专家", expert_id)
    recs = matching.recommend_for_expert(index, session, expert_id, 10) if is_staff(user) else []
    outcomes = (
        session.scalars(select(Outcome).where(Outcome.expert_id == expert_id).order_by(Outcome.id.desc())).all()
        if is_staff(user)
        else []
    )
    return render(
        request,
        "expert.html",
        user,
        expert=expert,
        recs=match_views(recs, staff=True),
        rec_demands=_load_demands(session, recs),
        outcomes=outcomes,
    )


@router.get("/web/societies/{society_id}", response_class=HTMLResponse)
def society_page(
    request: Request, society_id: int, session: SessionDep, index: IndexDep, user: WebStaff
) -> HTMLResponse:
    society = session.get(Society, society_id)
    if society is None:
        raise RecordNotFound("学会", society_id)
    recs = matching.recommend_for_society(index, session, society_id, 10)
    return render(
        request, "society.html", user, society=society, recs=match_views(recs, staff=True),
        rec_demands=_load_demands(session, recs),
    )


def _load_demands(session: Session, matches: list[Match]) -> dict[int, Demand]:
    ids = [int(m.id) for m in matches if str(m.id).isdigit()]
    if not ids:
        return {}
    rows = session.scalars(select(Demand).where(Demand.id.in_(ids)).options(selectinload(Demand.enterprise)))
    return {d.id: d for d in rows}


# ---------------------------------------------------------------- expert's own page


@router.get("/web/me", response_class=HTMLResponse)
def my_recommendations(request: Request, session: SessionDep, index: IndexDep, user: WebUser) -> Response:
    if is_staff(user):
        return redirect("/")
    if user.expert_id is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "此账号未关联专家，请联系管理员。")
    expert = session.get(Expert, user.expert_id)
    if expert is None:
        raise RecordNotFound("专家", user.expert_id)
    recs = matching.recommend_for_expert(index, session, expert.id, 10)
    demands = _load_demands(session, recs)
    feedback = {
        f.demand_id: f.choice
        for f in session.scalars(select(ExpertFeedback).where(ExpertFeedback.expert_id == expert.id))
    }
    return render(
        request,
        "me.html",
        user,
        expert=expert,
        # the same presenter as GET /experts/{id}/recommendations: redacted for the expert
        recs=match_views(recs, staff=False),
        demands={i: demand_view(d, staff=False) for i, d in demands.items()},
        feedback=feedback,
    )


@router.post("/web/me/feedback")
async def my_feedback(request: Request, session: SessionDep, user: WebUser) -> Response:
    form = await request.form()
    require_csrf(request, str(form.get("csrf", "")))
    if user.role != Role.expert or user.expert_id is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "只有专家账号可以反馈。")
    demand = str(form.get("demand_id", ""))
    try:
        body = FeedbackCreate(
            demand_id=int(demand) if demand.isdigit() else -1,
            choice=str(form.get("choice", "")),  # type: ignore[arg-type]
            note=str(form.get("note", "")),
        )
    except ValidationError as exc:
        message = "；".join(f"{e['field']}：{e['reason']}" for e in plain_errors(list(exc.errors())))
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, message) from exc
    outcomes.record_feedback(session, user, user.expert_id, body)
    return redirect(f"/web/me?notice=feedback_{body.choice}")


# ---------------------------------------------------------------- imports


@router.get("/web/imports", response_class=HTMLResponse)
def imports_page(request: Request, session: SessionDep, user: WebStaff) -> HTMLResponse:
    logs = session.scalars(select(ImportLog).order_by(ImportLog.id.desc()).limit(20)).all()
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
    logs = session.scalars(select(ImportLog).order_by(ImportLog.id.desc()).limit(20)).all()
    return render(
        request, "imports.html", user, status_code=422 if error else 200, logs=logs, report=report, error=error
    )


@router.get("/web/imports/{import_id}", response_class=HTMLResponse)
def import_page(request: Request, import_id: int, session: SessionDep, user: WebStaff) -> HTMLResponse:
    log = session.get(ImportLog, import_id)
    if log is None:
        raise RecordNotFound("导入记录", import_id)
    logs = session.scalars(select(ImportLog).order_by(ImportLog.id.desc()).limit(20)).all()
    return render(request, "imports.html", user, logs=logs, report=presenters.import_log_report(log), error="")


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
    return render(request, "event_detail.html", user, event=event, plan=plan)


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


@router.get("/web/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    session: SessionDep,
    user: WebStaff,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
) -> HTMLResponse:
    report = presenters.outcome_report(outcomes.outcome_report(session, date_from, date_to))
    return render(request, "reports.html", user, report=report)

