"""``POST /auth/token`` (OAuth2 password form), ``POST /auth/logout`` and ``GET /auth/me``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import CurrentUser, SessionDep, SettingsDep, token_from_request
from api.schemas import Token, UserPublic
from kejie.accounts import authenticate
from kejie.sessions import revoke_session, start_session

router = APIRouter(prefix="/auth", tags=["auth 登录"])


@router.post("/token", response_model=Token, summary="登录取得令牌 / log in for a bearer token")
def login_for_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep, settings: SettingsDep
) -> Token:
    user = authenticate(session, form.username, form.password)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "用户名或密码错误 / wrong username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = start_session(session, settings, user)
    return Token(access_token=token, expires_in=settings.token_ttl_minutes * 60, role=user.role)


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
