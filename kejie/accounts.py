"""Accounts: creating, authenticating and seeding the demo users."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kejie.security import hash_password, verify_password
from kejie.settings import Settings
from models import Expert, Organisation, OrgKind, Role, User

# Compared against when the username is unknown, so a wrong username costs the
# same time as a wrong password.
_DUMMY_HASH = hash_password("not-a-real-password")


class AccountError(ValueError):
    """A user cannot be created; ``field`` names the offending input."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        verify_password(password, _DUMMY_HASH)
        return None
    if not verify_password(password, user.password_hash) or not user.active:
        return None
    return user


def create_user(
    session: Session,
    username: str,
    password: str,
    role: Role | str,
    *,
    expert_id: int | None = None,
    display_name: str = "",
    organisation_id: int | None = None,
) -> User:
    """Add a user to ``session`` (flushed, not committed). Staff of a city
    association or society name their ``organisation_id``; none is the provincial
    association (sees everything)."""
    role = Role(role)
    username = username.strip()
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError("username", f"用户名 {username} 已存在")
    if role == Role.expert:
        if expert_id is None:
            raise AccountError("expert_id", "专家账号必须关联一位专家（expert_id）")
        if session.get(Expert, expert_id) is None:
            raise AccountError("expert_id", f"专家 {expert_id} 不存在")
    elif expert_id is not None:
        raise AccountError("expert_id", "只有专家账号可以关联专家")
    if organisation_id is not None:
        org = session.get(Organisation, organisation_id)
        if org is None:
            raise AccountError("organisation_id", f"机构 {organisation_id} 不存在")
        if role == Role.expert:
            raise AccountError("organisation_id", "专家账号不属于机构；学会的工作人员请用 staff 账号")
        if role == Role.admin and org.kind != OrgKind.province:
            raise AccountError("organisation_id", "管理员只能属于省科协")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        expert_id=expert_id,
        display_name=display_name or username,
        organisation_id=organisation_id,
    )
    session.add(user)
    session.flush()
    return user


def seed_users(session: Session, settings: Settings) -> list[str]:
    """Create the admin, staff and demo expert accounts named in settings if missing.

    The expert account needs an expert to link to, so it is only created once
    experts exist (after an import or the sample). Returns the usernames created.
    """
    created: list[str] = []
    for username, password, role, display in (
        (settings.admin_username, settings.admin_password, Role.admin, "管理员"),
        (settings.staff_username, settings.staff_password, Role.staff, "工作人员"),
    ):
        if username and session.scalar(select(User.id).where(User.username == username)) is None:
            create_user(session, username, password, role, display_name=display)
            created.append(username)
    if settings.expert_username and (
        session.scalar(select(User.id).where(User.username == settings.expert_username)) is None
    ):
        query = select(Expert).order_by(Expert.id).limit(1)
        if settings.expert_external_id:
            query = select(Expert).where(Expert.external_id == settings.expert_external_id)
        expert = session.scalar(query)
        if expert is not None:
            create_user(
                session,
                settings.expert_username,
                settings.expert_password,
                Role.expert,
                expert_id=expert.id,
                display_name=expert.name,
            )
            created.append(settings.expert_username)
    session.commit()
    return created
