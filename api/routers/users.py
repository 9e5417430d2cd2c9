"""Accounts, managed by admins."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy import func, select

from api.deps import AdminUser, PageDep, SessionDep
from api.errors import field_error
from api.schemas import Page, UserCreate, UserPublic
from kejie.accounts import AccountError, create_user
from kejie.audit import audit
from models import User

router = APIRouter(prefix="/users", tags=["users 账号"])


@router.post(
    "", response_model=UserPublic, status_code=status.HTTP_201_CREATED, summary="新建账号 / create an account"
)
def create(body: UserCreate, session: SessionDep, admin: AdminUser) -> UserPublic:
    try:
        user = create_user(
            session,
            body.username,
            body.password,
            body.role,
            expert_id=body.expert_id,
            display_name=body.display_name,
            organisation_id=body.organisation_id,
        )
    except AccountError as exc:
        session.rollback()
        raise field_error(exc.field, exc.reason) from exc
    audit(session, admin, "create", "user", user.id, {
        "username": user.username, "role": user.role.value, "organisation_id": user.organisation_id,
    })
    session.commit()
    return UserPublic.model_validate(user)


@router.get("", response_model=Page[UserPublic], summary="账号列表 / list accounts")
def list_users(session: SessionDep, _admin: AdminUser, page: PageDep) -> Page[UserPublic]:
    total = session.scalar(select(func.count()).select_from(User)) or 0
    rows = session.scalars(select(User).order_by(User.id).limit(page.limit).offset(page.offset)).all()
    return Page(
        items=[UserPublic.model_validate(u) for u in rows], total=total, limit=page.limit, offset=page.offset
    )
