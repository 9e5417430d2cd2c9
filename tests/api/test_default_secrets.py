"""Default secrets (issue 12): the public placeholder key never signs a token, and the
service refuses to listen beyond loopback (or in production) on default secrets."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from api.main import create_app
from kejie.deployment import (
    PLACEHOLDER_SECRET,
    UnsafeDeployment,
    check_serving,
    effective_secret_key,
    unsafe_defaults,
)
from kejie.security import create_token, decode_token
from kejie.settings import Settings
from models import UserSession


def _safe(tmp_path: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "var_dir": tmp_path / "var",
        "secret_key": "a-real-secret-key-of-some-length",
        "admin_password": "Adm1n-not-demo",
        "staff_password": "St4ff-not-demo",
        "expert_password": "Exp3rt-not-demo",
    }
    return Settings(**(values | extra))


def test_placeholder_key_never_signs(session_factory: sessionmaker, tmp_path: Path, tiny_encoder: Any) -> None:
    settings = Settings(var_dir=tmp_path / "var", expert_username="")
    assert settings.secret_key == PLACEHOLDER_SECRET
    with TestClient(create_app(settings, session_factory=session_factory, encoder=tiny_encoder)) as client:
        token = client.post("/auth/token", data={"username": "admin", "password": "admin123"}).json()
        real = token["access_token"]
        with session_factory() as s:
            sid = s.scalars(select(UserSession.id)).one()
        payload = decode_token(effective_secret_key(settings), real)
        # an attacker who knows the placeholder (it is in the source) and even a session id
        forged = create_token(PLACEHOLDER_SECRET, payload.user_id, "admin", 60, sid)
        assert client.get("/users", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
        assert client.get("/users", headers={"Authorization": f"Bearer {real}"}).status_code == 200
    key_file = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 48 and key != PLACEHOLDER_SECRET
    # kept: a restart (a new app) accepts the tokens of the previous one
    assert effective_secret_key(settings) == key
    with TestClient(create_app(settings, session_factory=session_factory, encoder=tiny_encoder)) as client:
        assert client.get("/users", headers={"Authorization": f"Bearer {real}"}).status_code == 200


def test_serving_beyond_loopback_refused_on_defaults(session_factory: sessionmaker, tmp_path: Path) -> None:
    defaults = Settings(var_dir=tmp_path / "var")
    check_serving(defaults, "127.0.0.1")
    check_serving(defaults, "localhost")
    check_serving(defaults, "::1")
    for host in ("0.0.0.0", "::", "10.1.2.3"):
        with pytest.raises(UnsafeDeployment, match="KEJIE_SECRET_KEY"):
            check_serving(defaults, host)
    with pytest.raises(UnsafeDeployment, match="KEJIE_ENV=production"):
        check_serving(Settings(var_dir=tmp_path / "var", env="production"), "127.0.0.1")
    # a real key but a demo password in settings
    with pytest.raises(UnsafeDeployment, match="KEJIE_STAFF_PASSWORD"):
        check_serving(_safe(tmp_path, staff_password="staff123"), "0.0.0.0")
    with session_factory() as s:
        check_serving(_safe(tmp_path), "0.0.0.0", s)
        # settings changed, but the account seeded earlier still has its demo password
        from kejie.accounts import create_user

        create_user(s, "staff", "staff123", "staff")
        s.commit()
        assert unsafe_defaults(_safe(tmp_path), s) == ["账号 staff 仍在使用演示密码"]
        with pytest.raises(UnsafeDeployment, match="staff"):
            check_serving(_safe(tmp_path), "0.0.0.0", s)


def test_production_app_refuses_to_start_on_defaults(
    session_factory: sessionmaker, tmp_path: Path, tiny_encoder: Any
) -> None:
    ok = create_app(_safe(tmp_path, env="production", expert_username=""), session_factory=session_factory,
                    encoder=tiny_encoder)
    with TestClient(ok) as client:
        assert client.get("/healthz").status_code == 200
    app = create_app(
        Settings(var_dir=tmp_path / "var", env="production", expert_username=""),
        session_factory=session_factory,
        encoder=tiny_encoder,
    )
    with pytest.raises(UnsafeDeployment, match="KEJIE_SECRET_KEY"), TestClient(app):
        pass
