"""User ids are reused (SQLite hands a deleted last id to the next row): a token of a
deleted user must never work for the new user with that id (issue 12)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from kejie.accounts import create_user
from models import Role, User, UserSession


def _token(client: TestClient, username: str, password: str) -> str:
    r = client.post("/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def _delete_user(session: Session, user_id: int, *, enforce_foreign_keys: bool) -> None:
    if not enforce_foreign_keys:
        # as an operator's sqlite3 shell or a careless script would: no cascade
        if session.get_bind().dialect.name == "sqlite":
            session.execute(text("PRAGMA foreign_keys=OFF"))
        else:
            session.execute(text("SET session_replication_role = replica"))
    session.execute(delete(User).where(User.id == user_id))
    session.commit()
    if not enforce_foreign_keys:
        if session.get_bind().dialect.name == "sqlite":
            session.execute(text("PRAGMA foreign_keys=ON"))
        else:
            session.execute(text("SET session_replication_role = DEFAULT"))
        session.commit()


def _reuse(client: TestClient, session_factory: sessionmaker, *, enforce: bool) -> tuple[int, int, str]:
    with session_factory() as s:
        old = create_user(s, "temp", "temp-pass-1", Role.staff)
        s.commit()
        old_id = old.id
    token = _token(client, "temp", "temp-pass-1")
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with session_factory() as s:
        _delete_user(s, old_id, enforce_foreign_keys=enforce)
        if s.get_bind().dialect.name == "postgresql":
            # PostgreSQL never reuses a serial; force the id to show the rule holds anyway
            newcomer = User(id=old_id, username="newcomer", password_hash="x", role=Role.admin)
            s.add(newcomer)
        else:
            newcomer = create_user(s, "newcomer", "other-pass-2", Role.admin)
        s.commit()
        return old_id, newcomer.id, token


def test_deleted_users_token_dies_with_it(
    client: TestClient, session_factory: sessionmaker, admin: dict[str, str]
) -> None:
    old_id, new_id, token = _reuse(client, session_factory, enforce=True)
    assert new_id == old_id
    with session_factory() as s:
        assert s.scalar(select(func.count()).where(UserSession.user_id == old_id)) == 0
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_orphaned_session_not_inherited(
    client: TestClient, session_factory: sessionmaker, login: Callable[[str, str], dict[str, str]]
) -> None:
    login("admin", "admin123")  # so the deleted user is not the last row either way
    old_id, new_id, token = _reuse(client, session_factory, enforce=False)
    assert new_id == old_id
    with session_factory() as s:
        assert s.scalar(select(func.count()).where(UserSession.user_id == old_id)) == 1  # the orphan
    r = client.get("/users", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    client.cookies.set("kejie_session", token)
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")
