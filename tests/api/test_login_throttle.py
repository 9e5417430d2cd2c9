"""Login throttling (issue 12): failed logins per account and per address are
limited, a locked login gets 429 with Retry-After and a Chinese message, and every
failed login is in the audit log."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from kejie.login import LoginThrottle
from kejie.settings import Settings
from models import AuditLog
from tests.api.conftest import World


def _token(client: TestClient, username: str, password: str) -> int:
    return client.post("/auth/token", data={"username": username, "password": password}).status_code


def test_account_locked_after_failures(
    app: FastAPI, client: TestClient, world: World, session_factory: sessionmaker
) -> None:
    statuses = [_token(client, "staff", f"guess{i}") for i in range(5)]
    assert statuses == [401] * 5
    r = client.post("/auth/token", data={"username": "staff", "password": "staff123"})
    assert r.status_code == 429  # even the right password waits now
    assert "登录失败次数过多" in r.json()["detail"] and "分钟后再试" in r.json()["detail"]
    assert 0 < int(r.headers["retry-after"]) <= 15 * 60
    # the lock is per account: another account from the same address still logs in
    assert _token(client, "admin", "admin123") == 200
    with session_factory() as s:
        rows = s.scalars(select(AuditLog).where(AuditLog.action == "login_failed")).all()
    assert len(rows) == 5
    assert {r.entity_id for r in rows} == {world.staff_id}
    assert rows[0].detail == {"username": "staff", "address": "testclient"}


def test_address_throttled_across_accounts(app: FastAPI, client: TestClient) -> None:
    app.state.login_throttle = LoginThrottle(
        Settings(login_limit_account="100/hour", login_limit_address="4/hour")
    )
    assert [_token(client, f"nobody{i}", "x") for i in range(4)] == [401] * 4
    assert _token(client, "staff", "staff123") == 429
    other = TestClient(app, client=("10.9.8.7", 5000))
    assert _token(other, "staff", "staff123") == 200


def test_login_page_throttled(app: FastAPI, client: TestClient, session_factory: sessionmaker) -> None:
    for _ in range(5):
        r = client.post("/login", data={"username": "expert", "password": "wrong"}, follow_redirects=False)
        assert r.status_code == 401
    r = client.post("/login", data={"username": "expert", "password": "expert123"}, follow_redirects=False)
    assert r.status_code == 429
    assert "登录失败次数过多" in r.text and int(r.headers["retry-after"]) > 0
    assert "kejie_session" not in r.cookies
    with session_factory() as s:
        assert len(s.scalars(select(AuditLog).where(AuditLog.action == "login_failed")).all()) == 5


def test_redis_storage_shared_between_workers() -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379", socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings = Settings(rate_limit_storage="redis://127.0.0.1:6379", login_limit_account="2/minute")
    one, two = LoginThrottle(settings), LoginThrottle(settings)  # two workers, one Redis
    name = f"user-{uuid.uuid4().hex}"
    one.failed(name, "")
    assert two.retry_after(name, "") == 0
    two.failed(name, "")
    assert 0 < one.retry_after(name, "") <= 60


def test_two_app_instances_share_the_counts_in_one_sqlite_file(
    api_settings: Settings, session_factory: sessionmaker, match_service: object, world: World, tmp_path: object
) -> None:
    """Two workers of ``kejie serve --workers 2`` (two apps, one database, one throttle
    file): failures in either count towards the same lock."""
    from pathlib import Path

    from api.main import create_app

    assert isinstance(tmp_path, Path)
    shared = api_settings.model_copy(update={"rate_limit_storage": f"sqlite:///{tmp_path / 'throttle.db'}"})
    first, second = (create_app(shared, session_factory=session_factory, match_service=match_service)  # type: ignore[arg-type]
                     for _ in range(2))
    a, b = TestClient(first), TestClient(second)
    assert [_token(a, "staff", "x1"), _token(b, "staff", "x2"), _token(a, "staff", "x3"),
            _token(b, "staff", "x4"), _token(a, "staff", "x5")] == [401] * 5
    assert _token(b, "staff", "staff123") == 429  # the fifth failure was in the other app
    assert _token(a, "staff", "staff123") == 429
    assert _token(b, "admin", "admin123") == 200
    # with memory:// (the single-process default) the same two apps would not share
    alone = [create_app(api_settings, session_factory=session_factory, match_service=match_service)  # type: ignore[arg-type]
             for _ in range(2)]
    c, d = TestClient(alone[0]), TestClient(alone[1])
    assert [_token(c, "expert", f"y{i}") for i in range(5)] == [401] * 5
    assert _token(d, "expert", "expert123") == 200
