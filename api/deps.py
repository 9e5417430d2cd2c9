"""FastAPI dependencies: settings, DB session, the match index, the current user.

Everything is read from ``app.state`` (filled by the lifespan in ``api.main``), so
tests can either pass their own objects to ``create_app`` or swap a dependency
with ``app.dependency_overrides[get_session] = ...``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from sqlalchemy.orm import Session

from kejie.settings import Settings
from kejie.visibility import sees_everything
from models import Role, User

if TYPE_CHECKING:
    from kejie.match_service import MatchService

SESSION_COOKIE = "kejie_session"

# Dependencies that do no I/O are ``async``: FastAPI runs a plain ``def``
# dependency in the thread pool, and each hop there costs the event loop more
# than the work itself (a match request used to make a dozen of them).


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    factory = getattr(request.app.state, "session_factory", None)
    if factory is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "数据库尚未就绪 / database not ready")
    # opening a session does no I/O; closing hands its connection back to the
    # pool with a rollback, which is short enough for the event loop
    with factory() as session:
        yield session


async def get_index(request: Request) -> MatchService:
    service = getattr(request.app.state, "match_service", None)
    if service is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "匹配索引尚未就绪 / index not ready")
    return service


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
IndexDep = Annotated["MatchService", Depends(get_index)]


def token_from_request(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(SESSION_COOKIE) or None


def load_user(session: Session, settings: Settings, token: str | None) -> User | None:
    """The user of a live server-side session (see ``kejie.sessions``), or None."""
    from kejie.sessions import resolve_user

    return resolve_user(session, settings, token)


def get_optional_user(request: Request, session: SessionDep, settings: SettingsDep) -> User | None:
    return load_user(session, settings, token_from_request(request))


async def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "未登录或登录已过期 / not authenticated",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]


def is_staff(user: User) -> bool:
    return sees_everything(user)  # the role rule lives in kejie.visibility


async def require_staff(user: CurrentUser) -> User:
    if not is_staff(user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅限工作人员 / staff only")
    return user


async def require_admin(user: CurrentUser) -> User:
    if user.role != Role.admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅限管理员 / admin only")
    return user


StaffUser = Annotated[User, Depends(require_staff)]
AdminUser = Annotated[User, Depends(require_admin)]


def require_expert_self_or_staff(user: User, expert_id: int) -> None:
    """Experts may only act on their own profile; staff on any."""
    if is_staff(user):
        return
    if user.role == Role.expert and user.expert_id == expert_id:
        return
    raise HTTPException(status.HTTP_403_FORBIDDEN, "只能查看本人的信息 / you may only access your own profile")


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int


async def page_params(
    limit: Annotated[int, Query(ge=1, le=200, description="每页条数 / page size")] = 20,
    offset: Annotated[int, Query(ge=0, le=2_147_483_647, description="跳过的条数 / records to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]
