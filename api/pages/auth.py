"""Pages: log in, log out and the dashboard."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import (
    APIRouter,
    Form,
    Request,
)
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from api.deps import (
    SESSION_COOKIE,
    SessionDep,
    SettingsDep,
    is_staff,
    token_from_request,
)
from api.pages.common import (
    WebUser,
    _safe_next,
    redirect,
    render,
)
from api.routers.auth import client_address, login_throttle
from kejie.login import LoginThrottled, log_in
from kejie.scope import scope_for
from kejie.sessions import revoke_session, start_session
from models import (
    Demand,
    DemandStatus,
    Expert,
    ImportLog,
    OrgKind,
    Outcome,
    Society,
    User,
)

router = APIRouter(include_in_schema=False)


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
    try:
        user = log_in(session, login_throttle(request), username, password, client_address(request))
    except LoginThrottled as exc:
        response = render(
            request, "login.html", None, status_code=429, next=_safe_next(next), error=str(exc).split(" / ")[0] + "。",
            username=username,
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
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
    scope = scope_for(session, user)
    if scope.kind == OrgKind.society and scope.society_id is not None:
        return redirect(f"/web/societies/{scope.society_id}")
    demand_counts = dict(
        session.execute(scope.demands(
            select(Demand.status, func.count()).group_by(Demand.status)  # type: ignore[arg-type]
        )).all()
    )
    q_start = datetime.combine(_quarter_start(date.today()), datetime.min.time(), tzinfo=UTC)
    stats = {
        "demands": sum(demand_counts.values()),
        "open": demand_counts.get(DemandStatus.open, 0),
        "experts": session.scalar(select(func.count()).select_from(Expert)) or 0,
        "academicians": session.scalar(select(func.count()).where(Expert.is_academician.is_(True))) or 0,
        "societies": session.scalar(select(func.count()).select_from(Society)) or 0,
        "outcomes_quarter": session.scalar(
            scope.outcomes(select(func.count()).select_from(Outcome).where(Outcome.recorded_at >= q_start))
        ) or 0,
    }
    recent = session.scalars(
        scope.demands(select(Demand)).options(selectinload(Demand.enterprise)).order_by(Demand.id.desc()).limit(8)
    ).all()
    imports = session.scalars(scope.imports(select(ImportLog)).order_by(ImportLog.id.desc()).limit(3)).all()
    return render(request, "dashboard.html", user, stats=stats, recent=recent, imports=imports)
