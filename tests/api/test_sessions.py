"""Server-side sessions: logout revokes, idle sessions end, next= does not outlive a user."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from api.deps import SESSION_COOKIE
from kejie.security import create_token
from models import UserSession
from tests.api.conftest import World


def _web_login(client: TestClient, username: str, password: str, next_: str = "/") -> str:
    r = client.post("/login", data={"username": username, "password": password, "next": next_},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return r.headers["location"]


def test_api_logout_revokes_the_bearer_token(client: TestClient, staff: dict[str, str]) -> None:
    assert client.get("/auth/me", headers=staff).status_code == 200
    assert client.post("/auth/logout", headers=staff).status_code == 204
    assert client.get("/auth/me", headers=staff).status_code == 401
    assert client.get("/demands", headers=staff).status_code == 401


def test_web_logout_revokes_a_saved_cookie(client: TestClient, world: World) -> None:
    _web_login(client, "staff", "staff123")
    saved = client.cookies.get(SESSION_COOKIE)
    assert saved
    assert client.get("/web/demands").status_code == 200
    r = client.post("/logout", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    client.cookies.clear()
    # a copy of the cookie kept from before the logout no longer opens anything
    replay = TestClient(client.app, cookies={SESSION_COOKIE: saved})
    r = replay.get("/web/demands", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert replay.get("/auth/me", headers={"Authorization": f"Bearer {saved}"}).status_code == 401


def test_idle_session_ends(client: TestClient, staff: dict[str, str], session_factory: sessionmaker) -> None:
    assert client.get("/auth/me", headers=staff).status_code == 200
    with session_factory() as s:
        s.execute(update(UserSession).values(last_seen_at=datetime.now(UTC) - timedelta(minutes=31)))
        s.commit()
    assert client.get("/auth/me", headers=staff).status_code == 401


def test_active_session_keeps_going(
    client: TestClient, staff: dict[str, str], session_factory: sessionmaker
) -> None:
    with session_factory() as s:
        s.execute(update(UserSession).values(last_seen_at=datetime.now(UTC) - timedelta(minutes=20)))
        s.commit()
    assert client.get("/auth/me", headers=staff).status_code == 200
    with session_factory() as s:
        seen = s.scalars(select(UserSession.last_seen_at)).one()
        seen = seen if seen.tzinfo else seen.replace(tzinfo=UTC)
        assert datetime.now(UTC) - seen < timedelta(minutes=1)  # the idle clock was reset


def test_token_without_a_server_session_is_refused(client: TestClient, world: World) -> None:
    forged_old_style = create_token("test-secret-key", world.staff_id, "staff", 60)
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {forged_old_style}"}).status_code == 401
    unknown_sid = create_token("test-secret-key", world.staff_id, "staff", 60, session_id="nope")
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {unknown_sid}"}).status_code == 401


def test_next_is_not_inherited_by_the_next_user(client: TestClient, world: World) -> None:
    # staff's session ran out on a staff page; an expert logs in from that login page
    r = client.get(f"/web/demands/{world.tcm_demand}", follow_redirects=False)
    assert r.status_code == 303 and "next=" in r.headers["location"]
    target = f"/web/demands/{world.tcm_demand}"
    assert _web_login(client, "expert", "expert123", next_=target) == "/web/me"
    client.post("/logout")
    client.cookies.clear()
    assert _web_login(client, "expert", "expert123", next_=f"/web/experts/{world.tcm_expert}") == "/web/me"
    client.post("/logout")
    client.cookies.clear()
    own = f"/web/experts/{world.battery_expert}"
    assert _web_login(client, "expert", "expert123", next_=own) == own
    client.post("/logout")
    client.cookies.clear()
    assert _web_login(client, "staff", "staff123", next_=target) == target
    # the login page after logout carries no next=
    r = client.post("/logout", follow_redirects=True)
    assert 'name="next" value="/"' in r.text
