"""Server-side login sessions.

Every token (the web cookie and the API bearer token alike) names a row of
``user_sessions``. A request is let in only while that row exists, is not
revoked, has not passed its absolute expiry (``token_ttl_minutes``) and was
used within ``session_idle_minutes``. Logout revokes the row, so a saved cookie
or token stops working at once.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kejie.security import TokenError, create_token, decode_token
from kejie.settings import Settings
from models import User, UserSession

# last_seen_at is written at most this often per session (not on every request)
TOUCH_EVERY = timedelta(seconds=60)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def start_session(session: Session, settings: Settings, user: User) -> str:
    """Open a session for ``user`` and return its signed token; commits."""
    now = datetime.now(UTC)
    row = UserSession(
        id=secrets.token_urlsafe(24),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(minutes=settings.token_ttl_minutes),
    )
    session.add(row)
    session.commit()
    return create_token(settings.secret_key, user.id, user.role.value, settings.token_ttl_minutes, row.id)


def _live_row(session: Session, settings: Settings, token: str | None
              ) -> tuple[UserSession, User | None] | None:
    """The live session named by ``token`` and its user, read in one query
    (every authenticated request asks)."""
    if not token:
        return None
    try:
        payload = decode_token(settings.secret_key, token)
    except TokenError:
        return None
    if not payload.session_id:
        return None  # tokens from before server-side sessions are not honoured
    found = session.execute(
        select(UserSession, User).outerjoin(User, User.id == UserSession.user_id)
        .where(UserSession.id == payload.session_id)
    ).first()
    if found is None:
        return None
    row, user = found
    if row.user_id != payload.user_id or row.revoked_at is not None:
        return None
    now = datetime.now(UTC)
    if _aware(row.expires_at) <= now:
        return None
    idle = settings.session_idle_minutes
    if idle > 0 and now - _aware(row.last_seen_at) > timedelta(minutes=idle):
        return None
    return row, user


def resolve_user(session: Session, settings: Settings, token: str | None) -> User | None:
    """The active user of a live session, or None; refreshes the idle clock."""
    live = _live_row(session, settings, token)
    if live is None:
        return None
    row, user = live
    if user is None or not user.active:
        return None
    if user.created_at is not None and _aware(user.created_at) > _aware(row.created_at):
        # the account was deleted and its id reused (SQLite does) while the session
        # row survived (deleted without foreign keys enforced): not this user's login
        return None
    now = datetime.now(UTC)
    if now - _aware(row.last_seen_at) >= TOUCH_EVERY:
        row.last_seen_at = now
        session.commit()
    return user


def revoke_session(session: Session, settings: Settings, token: str | None) -> bool:
    """End the session named by ``token``; True if there was a live one."""
    live = _live_row(session, settings, token)
    if live is None:
        return False
    row = live[0]
    row.revoked_at = datetime.now(UTC)
    session.commit()
    return True


def revoke_all(session: Session, user_id: int) -> int:
    """End every open session of a user (e.g. when the account is deactivated)."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
