"""A ``limits`` storage in one SQLite file, so the login counters are shared by
every worker process of ``kejie serve --workers N`` on a machine without Redis.

``limits`` ships memory, Redis, Memcached and MongoDB storages; none is shared
between processes without a server. This one registers the ``sqlite`` scheme
(``KEJIE_RATE_LIMIT_STORAGE=sqlite:////srv/kejie/var/login_throttle.db``) and
supports the moving window that :class:`kejie.login.LoginThrottle` uses (plus
fixed-window counters). Every hit is one row; a write takes SQLite's write lock
(``BEGIN IMMEDIATE``), so two processes never both take the last free slot.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from limits.storage import MovingWindowSupport, Storage

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, at REAL NOT NULL, expires REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_hits_key_at ON hits (key, at)",
    "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires REAL NOT NULL)",
)


def path_of(uri: str) -> Path:
    """``sqlite:////abs/file.db`` or ``sqlite:///rel/file.db`` -> the file."""
    rest = uri.split("://", 1)[1] if "://" in uri else uri
    return Path(rest[1:] if rest.startswith("/") else rest)


class SQLiteStorage(Storage, MovingWindowSupport):
    """Rate-limit counters in a SQLite file (WAL), shared between processes."""

    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: float | str | bool) -> None:
        self.path = path_of(uri or "sqlite:///login_throttle.db")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            for statement in _SCHEMA:
                db.execute(statement)
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sqlite3.Error

    def _connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:  # one connection per thread; autocommit, transactions are explicit
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            self._local.db = db
        return db

    # ---------------------------------------------------------------- moving window
    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = time.time()
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM hits WHERE key = ? AND at < ?", (key, now - expiry))
            (count,) = db.execute("SELECT COUNT(*) FROM hits WHERE key = ?", (key,)).fetchone()
            if count + amount > limit:
                db.execute("COMMIT")
                return False
            db.executemany("INSERT INTO hits (key, at, expires) VALUES (?, ?, ?)",
                           [(key, now, now + expiry)] * amount)
            db.execute("COMMIT")
            return True
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = time.time()
        oldest, count = self._connect().execute(
            "SELECT MIN(at), COUNT(*) FROM hits WHERE key = ? AND at >= ?", (key, now - expiry)
        ).fetchone()
        return (oldest if oldest is not None else now), int(count)

    # ---------------------------------------------------------------- fixed window (the base interface)
    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM counters WHERE key = ? AND expires <= ?", (key, now))
            db.execute(
                "INSERT INTO counters (key, value, expires) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = value + excluded.value",
                (key, amount, now + expiry),
            )
            (value,) = db.execute("SELECT value FROM counters WHERE key = ?", (key,)).fetchone()
            db.execute("COMMIT")
            return int(value)
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def get(self, key: str) -> int:
        row = self._connect().execute(
            "SELECT value FROM counters WHERE key = ? AND expires > ?", (key, time.time())
        ).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._connect().execute("SELECT expires FROM counters WHERE key = ?", (key,)).fetchone()
        return float(row[0]) if row else time.time()

    def check(self) -> bool:
        try:
            self._connect().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        db = self._connect()
        (n,) = db.execute("SELECT (SELECT COUNT(*) FROM hits) + (SELECT COUNT(*) FROM counters)").fetchone()
        db.execute("DELETE FROM hits")
        db.execute("DELETE FROM counters")
        return int(n)

    def clear(self, key: str) -> None:
        db = self._connect()
        db.execute("DELETE FROM hits WHERE key = ?", (key,))
        db.execute("DELETE FROM counters WHERE key = ?", (key,))
