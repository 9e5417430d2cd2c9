"""Refusing to serve on default secrets.

The placeholder ``secret_key`` is public (it is in the source), so anyone could
sign an admin token with it. ``effective_secret_key`` therefore never uses it:
it reads (or, the first time, creates) a random key in ``var_dir/secret_key``
with 0600 permissions. Listening beyond loopback, or with ``KEJIE_ENV=production``,
is refused while the key is the placeholder or a demo account still has its
demo password (``unsafe_defaults`` says which).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kejie.security import verify_password
from kejie.settings import Settings
from models import User

PLACEHOLDER_SECRET = str(Settings.model_fields["secret_key"].default)
KEY_FILE = "secret_key"


class UnsafeDeployment(RuntimeError):
    """Serving would expose default secrets; the message says which (in Chinese)."""


def _demo_passwords() -> dict[str, tuple[str, str]]:
    fields = Settings.model_fields
    return {
        "admin": (str(fields["admin_username"].default), str(fields["admin_password"].default)),
        "staff": (str(fields["staff_username"].default), str(fields["staff_password"].default)),
        "expert": (str(fields["expert_username"].default), str(fields["expert_password"].default)),
    }


def uses_placeholder_key(settings: Settings) -> bool:
    return settings.secret_key == PLACEHOLDER_SECRET or not settings.secret_key


def effective_secret_key(settings: Settings) -> str:
    """The configured key, or for the placeholder the random key kept under ``var_dir``."""
    if not uses_placeholder_key(settings):
        return settings.secret_key
    path = Path(settings.var_dir) / KEY_FILE
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if len(key) >= 32:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return key


def with_effective_key(settings: Settings) -> Settings:
    """A copy of ``settings`` whose ``secret_key`` is never the public placeholder."""
    if not uses_placeholder_key(settings):
        return settings
    return settings.model_copy(update={"secret_key": effective_secret_key(settings)})


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def unsafe_defaults(settings: Settings, session: Session | None = None) -> list[str]:
    """What is still a default: the placeholder key, demo passwords in settings or in the database."""
    problems: list[str] = []
    if uses_placeholder_key(settings):
        problems.append("KEJIE_SECRET_KEY 仍是默认值")
    configured = {
        "admin": (settings.admin_username, settings.admin_password),
        "staff": (settings.staff_username, settings.staff_password),
        "expert": (settings.expert_username, settings.expert_password),
    }
    for role, (default_user, default_password) in _demo_passwords().items():
        username, password = configured[role]
        if username and password == default_password:
            problems.append(f"KEJIE_{role.upper()}_PASSWORD 仍是演示密码")
            continue
        if session is None:
            continue
        for name in {username, default_user} - {""}:
            user = session.scalar(select(User).where(User.username == name))
            if user is not None and user.active and verify_password(default_password, user.password_hash):
                problems.append(f"账号 {name} 仍在使用演示密码")
    if session is not None:
        from kejie.organisations import DEMO_ORGANISATIONS

        for *_org, name, demo_password in DEMO_ORGANISATIONS:
            user = session.scalar(select(User).where(User.username == name))
            if user is not None and user.active and verify_password(demo_password, user.password_hash):
                problems.append(f"账号 {name} 仍在使用演示密码")
    return problems


def check_serving(settings: Settings, host: str, session: Session | None = None) -> None:
    """Raise ``UnsafeDeployment`` when serving on ``host`` would expose default secrets."""
    production = settings.env.strip().lower() == "production"
    if not production and is_loopback(host):
        return
    problems = unsafe_defaults(settings, session)
    if problems:
        where = "KEJIE_ENV=production" if production else f"非本机地址 {host}"
        raise UnsafeDeployment(
            f"拒绝在{where}上启动：" + "；".join(problems) + "。请设置 KEJIE_SECRET_KEY 并修改演示账号的密码。"
        )
