"""Admins create accounts; experts' accounts are tied to an expert."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from models import AuditLog, User
from tests.api.conftest import World


def test_admin_creates_staff_and_expert_accounts(
    client: TestClient, admin: dict[str, str], world: World, session_factory
) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/users", headers=admin, json={"username": "fz_staff", "password": "secret1", "role": "staff"})
    assert r.status_code == 201, r.text
    r = client.post(
        "/users",
        headers=admin,
        json={"username": "zhang", "password": "secret2", "role": "expert", "expert_id": world.academician},
    )
    assert r.status_code == 201, r.text
    assert r.json()["expert_id"] == world.academician
    token = client.post("/auth/token", data={"username": "zhang", "password": "secret2"}).json()["access_token"]
    recs = client.get(f"/experts/{world.academician}/recommendations", headers={"Authorization": f"Bearer {token}"})
    assert recs.status_code == 200
    with session_factory() as s:
        user = s.scalar(select(User).where(User.username == "fz_staff"))
        assert user is not None and user.password_hash.startswith("scrypt$")
        rows = s.scalars(select(AuditLog).where(AuditLog.entity == "user")).all()
        assert {r.entity_id for r in rows} >= {user.id}


def test_account_input_errors(client: TestClient, admin: dict[str, str], world: World) -> None:
    r = client.post("/users", headers=admin, json={"username": "exp1", "password": "secret1", "role": "expert"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "expert_id"
    r = client.post("/users", headers=admin, json={"username": "staff", "password": "secret1", "role": "staff"})
    assert r.status_code == 422
    assert r.json()["detail"] == [{"field": "username", "reason": "用户名 staff 已存在"}]
    r = client.post("/users", headers=admin, json={"username": "ab", "password": "123", "role": "boss"})
    fields = {d["field"]: d["reason"] for d in r.json()["detail"]}
    assert r.status_code == 422
    assert fields["username"] == "至少需要3个字符"
    assert fields["password"] == "至少需要6个字符"
    assert fields["role"].startswith("应为以下之一")
    r = client.post(
        "/users", headers=admin, json={"username": "exp2", "password": "secret1", "role": "expert", "expert_id": 9999}
    )
    assert r.json()["detail"] == [{"field": "expert_id", "reason": "专家 9999 不存在"}]


def test_staff_cannot_create_accounts(client: TestClient, staff: dict[str, str]) -> None:
    r = client.post("/users", headers=staff, json={"username": "x123", "password": "secret1", "role": "admin"})
    assert r.status_code == 403
