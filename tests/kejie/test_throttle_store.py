"""The SQLite ``limits`` storage (kejie/throttle_store.py): the login counters of
``kejie serve --workers N`` shared between processes without Redis."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from kejie.login import shared_storage
from kejie.settings import Settings
from kejie.throttle_store import SQLiteStorage, path_of


def _hit_many(uri: str, tries: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    limiter = MovingWindowRateLimiter(storage_from_string(uri))
    item = parse("25/hour")
    out.put(sum(limiter.hit(item, "kejie-login", "account", "staff") for _ in range(tries)))


def test_the_scheme_is_registered_and_the_window_moves(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'throttle.db'}"
    storage = storage_from_string(uri)
    assert isinstance(storage, SQLiteStorage) and path_of(uri) == tmp_path / "throttle.db"
    limiter = MovingWindowRateLimiter(storage)
    item = parse("3/hour")
    assert [limiter.hit(item, "k") for _ in range(4)] == [True, True, True, False]
    assert not limiter.test(item, "k") and limiter.test(item, "other")
    stats = limiter.get_window_stats(item, "k")
    assert stats.remaining == 0 and stats.reset_time > 0
    # a second storage object on the same file (another worker) sees the same counts
    again = MovingWindowRateLimiter(storage_from_string(uri))
    assert not again.test(item, "k")
    storage.clear(item.key_for("k"))
    assert again.test(item, "k")
    # the fixed-window part of the interface
    assert storage.incr("c", 60) == 1 and storage.incr("c", 60, 2) == 3 and storage.get("c") == 3
    assert storage.check() and storage.reset() is not None and storage.get("c") == 0


def test_processes_never_take_more_than_the_limit_together(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'throttle.db'}"
    SQLiteStorage(uri)  # the schema exists before the workers race
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    workers = [ctx.Process(target=_hit_many, args=(uri, 20, out)) for _ in range(3)]
    for w in workers:
        w.start()
    taken = [out.get(timeout=60) for _ in workers]
    for w in workers:
        w.join(timeout=60)
    assert sum(taken) == 25, taken  # 60 tries in three processes, 25 allowed in all


def test_workers_share_a_file_unless_redis_is_configured(tmp_path: Path) -> None:
    assert shared_storage(Settings(var_dir=tmp_path)) == f"sqlite:///{(tmp_path / 'login_throttle.db').resolve()}"
    redis = Settings(var_dir=tmp_path, rate_limit_storage="redis://127.0.0.1:6379")
    assert shared_storage(redis) == "redis://127.0.0.1:6379"
