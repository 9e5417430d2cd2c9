"""Logging in with a throttle: failed logins are counted per account and per
client address (moving windows of the ``limits`` library, in memory by default,
in a SQLite file shared by the worker processes of ``kejie serve --workers N``
(``sqlite:///…``, :mod:`kejie.throttle_store`), or in Redis with
``KEJIE_RATE_LIMIT_STORAGE=redis://host:6379``), a locked
account or address is refused until its window frees up, and every failed login
is written to the audit log."""

from __future__ import annotations

import logging
import math
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import select
from sqlalchemy.orm import Session

from kejie.accounts import authenticate
from kejie.audit import audit
from kejie.errors import DomainError
from kejie.settings import Settings
from kejie.throttle_store import SQLiteStorage
from models import User

logger = logging.getLogger("kejie.login")
NAMESPACE = "kejie-login"
STORAGES = (SQLiteStorage,)  # importing it registers the sqlite:// scheme with limits


class LoginThrottled(DomainError):
    """Too many failed logins for the account or the address; ``retry_after`` in seconds."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            f"登录失败次数过多，请 {minutes} 分钟后再试 / too many failed logins, retry in {retry_after} s"
        )
        self.retry_after = retry_after


def shared_storage(settings: Settings) -> str:
    """The storage worker processes share: the configured one, unless it is
    in-process memory, then a SQLite file under ``var_dir``."""
    if settings.rate_limit_storage.startswith("memory"):
        return f"sqlite:///{(settings.var_dir / 'login_throttle.db').resolve()}"
    return settings.rate_limit_storage


class LoginThrottle:
    """Counts failed logins; one per app (or shared through Redis by every worker)."""

    def __init__(self, settings: Settings) -> None:
        self.per_account = parse(settings.login_limit_account)
        self.per_address = parse(settings.login_limit_address)
        self.limiter = MovingWindowRateLimiter(storage_from_string(settings.rate_limit_storage))

    def _keys(self, username: str, address: str) -> list[tuple[object, str, str]]:
        keys: list[tuple[object, str, str]] = [(self.per_account, "account", username.strip().lower()[:200])]
        if address:
            keys.append((self.per_address, "address", address))
        return keys

    def retry_after(self, username: str, address: str) -> int:
        """0 when a login may be tried now, else the seconds until it may."""
        wait = 0.0
        for item, kind, key in self._keys(username, address):
            if not self.limiter.test(item, NAMESPACE, kind, key):  # type: ignore[arg-type]
                stats = self.limiter.get_window_stats(item, NAMESPACE, kind, key)  # type: ignore[arg-type]
                wait = max(wait, stats.reset_time - time.time())
        return max(1, math.ceil(wait)) if wait > 0 else 0

    def failed(self, username: str, address: str) -> None:
        for item, kind, key in self._keys(username, address):
            self.limiter.hit(item, NAMESPACE, kind, key)  # type: ignore[arg-type]


def log_in(
    session: Session, throttle: LoginThrottle, username: str, password: str, address: str
) -> User | None:
    """The user, or None for a wrong name or password (audited); raises ``LoginThrottled``."""
    wait = throttle.retry_after(username, address)
    if wait:
        logger.warning("login throttled: %r from %s (%d s)", username[:60], address, wait)
        raise LoginThrottled(wait)
    user = authenticate(session, username, password) if username and password else None
    if user is not None:
        return user
    throttle.failed(username, address)
    known = session.scalar(select(User.id).where(User.username == username.strip()))
    audit(session, None, "login_failed", "user", known, {"username": username[:60], "address": address})
    session.commit()
    return None
