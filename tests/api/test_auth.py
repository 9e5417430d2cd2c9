"""Login, tokens, password hashing and role checks."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from kejie.security import (
    TokenError,
    check_csrf,
    create_token,
    csrf_token,
    decode_token,
    hash_password,
    verify_password,
)


def test_password_hash_round_trip_and_salt() -> None:
    a = hash_password("staff123")
    b = hash_password("staff123")
    assert a != b  # per-user salt
    assert verify_password("staff123", a)
    assert not verify_password("staff124", a)
    assert not verify_password("staff123", "garbage")


def test_token_signature_and_expiry() -> None:
    token = create_token("k1", 7, "staff", ttl_minutes=5)
    payload = decode_token("k1", token)
    assert (payload.user_id, payload.role) == (7, "staff")
    with pytest.raises(TokenError):
        decode_token("other-key", token)
    body, sig = token.split(".")
    with pytest.raises(TokenError):
        decode_token("k1", body[:-2] + "xx." + sig)
    expired = create_token("k1", 7, "staff", ttl_minutes=-1)
    with pytest.raises(TokenError):
        decode_token("k1", expired)
    assert time.time() < payload.expires_at


def test_csrf_token_is_bound_to_session() -> None:
    t = csrf_token("k", "session-a")
    assert check_csrf("k", "session-a", t)
    assert not check_csrf("k", "session-b", t)
    assert not check_csrf("k", "session-a", "")


def test_login_and_me(client: TestClient) -> None:
    r = client.post("/auth/token", data={"username": "staff", "password": "staff123"})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["role"] == "staff" and body["expires_in"] > 0
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "staff"
    assert "password_hash" not in me.json()


def test_wrong_password_and_unknown_user(client: TestClient) -> None:
    for username, password in (("staff", "nope"), ("nobody", "staff123")):
        r = client.post("/auth/token", data={"username": username, "password": password})
        assert r.status_code == 401
        assert "用户名或密码错误" in r.json()["detail"]


def test_missing_or_bad_token_is_401(client: TestClient) -> None:
    assert client.get("/demands").status_code == 401
    r = client.get("/demands", headers={"Authorization": "Bearer not.a-token"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


def test_login_form_missing_field_is_422_with_field(client: TestClient) -> None:
    r = client.post("/auth/token", data={"username": "staff"})
    assert r.status_code == 422
    assert {"field": "password", "reason": "必填项，不能缺少"} in r.json()["detail"]


def test_deactivated_user_token_stops_working(client: TestClient, staff: dict[str, str], session_factory) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from models import User

    assert client.get("/auth/me", headers=staff).status_code == 200
    with session_factory() as s:
        s.execute(update(User).where(User.username == "staff").values(active=False))
        s.commit()
    assert client.get("/auth/me", headers=staff).status_code == 401


def test_roles(client: TestClient, staff: dict[str, str], expert: dict[str, str], admin: dict[str, str]) -> None:
    # staff-only endpoints refuse experts
    for path in ("/experts", "/outcomes", "/reports/outcomes", "/imports", "/search?q=电池"):
        assert client.get(path, headers=expert).status_code == 403, path
        assert client.get(path, headers=staff).status_code == 200, path
    # admin-only
    assert client.get("/users", headers=staff).status_code == 403
    assert client.get("/users", headers=admin).status_code == 200
    # admins are staff too
    assert client.get("/experts", headers=admin).status_code == 200
