"""Background jobs with progress, on Huey.

Long work (imports, index sync, event planning, the nightly run) runs as a job: the request returns at once
with a job id, and the page and the API show its progress and result.

- Embedded default: the queue is a SQLite file under ``var_dir`` and the web
  process runs one consumer thread itself, so nothing else has to be started.
- ``KEJIE_JOB_QUEUE=redis://host:6379/0``: the queue lives in Redis and any
  number of ``kejie jobs worker`` processes, on this machine or others, take
  jobs from it (``KEJIE_JOB_EMBEDDED_WORKER=false`` keeps the web process out).

A job's state is one small record in the queue's own storage, written when the
job is queued and updated by the task as it goes: ``status`` (queued, running,
done, failed), ``stage``, ``done``/``total``, ``eta`` (seconds, from the stage's
pace), ``stages`` (the finished ones, timed), ``result`` or ``error``. The tasks
themselves (import, index sync, planning, the nightly run, encoding shards) are
in :mod:`kejie.job_tasks`.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from huey.constants import EmptyData

from kejie.settings import Settings

JobRecord = dict[str, Any]
_QUEUES: dict[str, Huey] = {}
_QUEUES_LOCK = threading.Lock()
# what a task needs in this process (the DB and the match service); set by the app
# or built from settings by a stand-alone worker
_CONTEXT: dict[str, Any] = {}


def _key(job_id: str) -> str:
    return f"kejie:job:{job_id}"


def queue(settings: Settings) -> Huey:
    """The job queue of these settings (one per process and target)."""
    target = settings.job_queue or str(Path(settings.var_dir) / "jobs.db")
    with _QUEUES_LOCK:
        h = _QUEUES.get(target)
        if h is None:
            if target.startswith(("redis://", "rediss://", "unix://")):
                h = RedisHuey("kejie", url=target)
            else:
                Path(target).parent.mkdir(parents=True, exist_ok=True)
                h = SqliteHuey("kejie", filename=target)
            _register(h, settings)
            _QUEUES[target] = h
        return h


def bind(session_factory: Any, match_service: Any) -> None:
    """Let tasks run in this process use these (the web app calls this at start-up)."""
    _CONTEXT["session_factory"] = session_factory
    _CONTEXT["match_service"] = match_service


def context(settings: Settings) -> tuple[Any, Any]:
    if "session_factory" not in _CONTEXT:  # a stand-alone worker: build what the app would
        from kejie.wiring import match_service
        from models.db import create_db_engine, make_session_factory

        bind(make_session_factory(create_db_engine(settings.resolved_database_url)), match_service(settings))
    return _CONTEXT["session_factory"], _CONTEXT["match_service"]


def record(h: Huey, job_id: str) -> JobRecord | None:
    """A job's record, or None for an unknown id."""
    value = h.storage.peek_data(_key(job_id))
    if value is EmptyData:
        return None
    return h.serializer.deserialize(value)  # type: ignore[no-any-return]


def write(h: Huey, job_id: str, **changes: Any) -> JobRecord:
    """Merge ``changes`` into a job's record (the task is its only writer once it runs)."""
    rec = record(h, job_id) or {}
    rec.update(changes, updated=time.time())
    h.storage.put_data(_key(job_id), h.serializer.serialize(rec))
    return rec


class Progress:
    """A job's progress: ``progress(stage, done, total)`` writes the record (at most
    every ``every`` seconds within a stage), with an ETA from the stage's own pace;
    each finished stage is kept in ``stages`` (name, done, total, seconds)."""

    def __init__(self, h: Huey, job_id: str, every: float = 0.3) -> None:
        self.h, self.job_id, self.every = h, job_id, every
        self.stage, self.done, self.total = "", 0, 0
        self.started = self._written = 0.0
        self.stages: list[dict[str, Any]] = []

    def __call__(self, stage: str, done: int = 0, total: int = 0) -> None:
        now = time.time()
        changed = stage != self.stage
        if changed:
            if self.stage:
                self.stages.append({"stage": self.stage, "done": self.done, "total": self.total,
                                    "seconds": round(now - self.started, 2)})
            self.stage, self.started = stage, now
        self.done, self.total = done, total
        if not changed and now - self._written < self.every and done < total:
            return
        self._written = now
        eta = (now - self.started) / done * (total - done) if total and 0 < done <= total else None
        write(self.h, self.job_id, status="running", stage=stage, done=done, total=total,
              stage_started=self.started, eta=None if eta is None else round(eta, 1), stages=self.stages)

    def add(self, n: int) -> None:
        """``n`` more units of the current stage are done."""
        self(self.stage, min(self.done + n, self.total or self.done + n), self.total)


def run(h: Huey, job_id: str, body: Callable[[Progress], dict[str, Any]], failed: str = "任务失败") -> None:
    """Run a task's ``body`` and end its record ``done`` with the result, or ``failed``
    with ``failed：<reason>`` (shown to staff)."""
    progress = Progress(h, job_id)
    progress("开始")
    try:
        result = body(progress)
    except Exception as exc:  # noqa: BLE001 — every failure is the job's result, shown to staff
        progress("失败")
        write(h, job_id, status="failed", stage="失败", eta=None, stages=progress.stages,
              error=f"{failed}：{exc}" if str(exc) else f"{failed}：{type(exc).__name__}",
              trace=traceback.format_exc(limit=5))
        return
    total = progress.total or 1
    progress("完成", total, total)
    write(h, job_id, status="done", stage="完成", done=total, total=total, eta=0, stages=progress.stages,
          result=result)


def _register(h: Huey, settings: Settings) -> None:
    from kejie import job_tasks

    h.kejie_tasks = job_tasks.register(h, settings)  # type: ignore[attr-defined]


def enqueue(settings: Settings, kind: str, *args: Any, user: str = "", **extra: Any) -> JobRecord:
    """Queue a job; returns its record (with ``id``) before any worker can touch it.
    ``extra`` fields (e.g. ``import_id``) are kept in the record."""
    h = queue(settings)
    signature = h.kejie_tasks[kind].s(*args)  # type: ignore[attr-defined]
    rec = write(h, signature.id, id=signature.id, kind=kind, status="queued", stage="排队中", done=0,
                total=0, user=user, created=time.time(), **extra)
    h.enqueue(signature)
    return rec


def wait(settings: Settings, job_id: str, timeout: float = 3600, every: float = 0.2,
         on_change: Callable[[JobRecord], None] | None = None) -> JobRecord | None:
    """Poll a job until it ends (or ``timeout``); ``on_change`` sees each new record."""
    h = queue(settings)
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        rec = record(h, job_id)
        if rec is None or rec["status"] in ("done", "failed") or time.monotonic() > deadline:
            if rec is not None and on_change is not None and rec.get("updated") != last:
                on_change(rec)
            return rec
        if on_change is not None and rec.get("updated") != last:
            on_change(rec)
        last = rec.get("updated")
        time.sleep(every)


class EmbeddedWorker:
    """One thread in this process that takes jobs from the queue and runs them (the
    embedded default). Huey's own consumer installs signal handlers, which only the
    main thread may do; a web app starts in whatever thread its server gives it.
    The thread runs at ``nice`` (Linux), so the requests of the process go first."""

    _count = 0

    def __init__(self, h: Huey, idle: float = 0.2, nice: int = 10) -> None:
        self.h = h
        self.idle = idle
        self.nice = nice
        self._stop = threading.Event()
        EmbeddedWorker._count += 1
        self._thread = threading.Thread(target=self._run, name=f"kejie-jobs-{EmbeddedWorker._count}", daemon=True)

    def start(self) -> EmbeddedWorker:
        self._thread.start()
        return self

    def _run(self) -> None:
        if self.nice and hasattr(os, "setpriority"):
            # Linux: a thread has its own nice value; requests in this process go first
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.nice)
        while not self._stop.is_set():
            try:
                task = self.h.dequeue()
            except Exception:  # noqa: BLE001 — a queue hiccup (locked SQLite file, Redis restart): try again
                task = None
            if task is None:
                self._stop.wait(self.idle)
                continue
            self.h.execute(task)  # the task writes its own record, failures included

    def stop(self, graceful: bool = True) -> None:
        self._stop.set()
        if graceful:
            self._thread.join(timeout=60)


def start_embedded_worker(settings: Settings) -> EmbeddedWorker:
    """The embedded job worker of these settings, started; ``stop()`` it at shutdown."""
    return EmbeddedWorker(queue(settings)).start()
