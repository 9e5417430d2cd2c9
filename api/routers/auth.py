"""``POST /auth/token`` (OAuth2 password form) and ``GET /auth/me``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm

from api.accounts import authenticate
from api.deps import CurrentUser, SessionDep, SettingsDep
from api.schemas import Token, UserPublic
from api.security import create_token

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
    token = create_token(settings.secret_key, user.id, user.role.value, settings.token_ttl_minutes)
    return Token(access_token=token, expires_in=settings.token_ttl_minutes * 60, role=user.role)


@router.get("/me", response_model=UserPublic, summary="当前用户 / who am I")
def me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)
