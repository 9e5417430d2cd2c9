"""``POST /auth/token`` (OAuth2 password form), ``POST /auth/logout`` and ``GET /auth/me``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import CurrentUser, SessionDep, SettingsDep, token_from_request
from api.schemas import Token, UserPublic
from kejie.login import LoginThrottle, LoginThrottled, log_in
from kejie.sessions import revoke_session, start_session

router = APIRouter(prefix="/auth", tags=["auth 登录"])


@router.post(
    "/token",
    response_model=Token,
    summary="登录取得令牌 / log in for a bearer token",
    responses={
        401: {"description": "用户名或密码错误 / wrong username or password"},
        429: {"description": "登录失败次数过多，见 Retry-After / too many failed logins"},
    },
)
def login_for_token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> Token:
    """Failed logins are counted per account and per address: past the limit a 429 with
    ``Retry-After`` (``KEJIE_LOGIN_LIMIT_ACCOUNT``, ``KEJIE_LOGIN_LIMIT_ADDRESS``)."""
    try:
        user = log_in(session, login_throttle(request), form.username, form.password, client_address(request))
    except LoginThrottled as exc:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, str(exc), headers={"Retry-After": str(exc.retry_after)}
        ) from exc
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "用户名或密码错误 / wrong username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = start_session(session, settings, user)
    return Token(access_token=token, expires_in=settings.token_ttl_minutes * 60, role=user.role)


def login_throttle(request: Request) -> LoginThrottle:
    return request.app.state.login_throttle


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else ""


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="退出登录，令牌立即失效 / log out: the token stops working at once",
)
def logout(request: Request, session: SessionDep, settings: SettingsDep, _user: CurrentUser) -> Response:
    revoke_session(session, settings, token_from_request(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserPublic, summary="当前用户 / who am I")
def me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)
