"""Background jobs with progress, on Huey.

Long work (today: planning an event) runs as a job: the request returns at once
with a job id, and the page and the API show its progress and result.

- Embedded default: the queue is a SQLite file under ``var_dir`` and the web
  process runs one consumer thread itself, so nothing else has to be started.
- ``KEJIE_JOB_QUEUE=redis://host:6379/0``: the queue lives in Redis and any
  number of ``kejie jobs worker`` processes, on this machine or others, take
  jobs from it (``KEJIE_JOB_EMBEDDED_WORKER=false`` keeps the web process out).

A job's state is one small record in the queue's own storage, written when the
job is queued and updated by the task as it goes: ``status`` (queued, running,
done, failed), ``stage``, ``done``/``total``, ``result`` or ``error``.
"""

from __future__ import annotations

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


def _context(settings: Settings) -> tuple[Any, Any]:
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


def _write(h: Huey, job_id: str, **changes: Any) -> JobRecord:
    rec = record(h, job_id) or {}
    rec.update(changes, updated=time.time())
    h.storage.put_data(_key(job_id), h.serializer.serialize(rec))
    return rec


def _runner(h: Huey, job_id: str) -> Callable[..., None]:
    def progress(stage: str, done: int = 0, total: int = 0) -> None:
        _write(h, job_id, status="running", stage=stage, done=done, total=total)
    return progress


def _register(h: Huey, settings: Settings) -> None:
    @h.task(context=True, name="plan_event")
    def plan_event_task(event_id: int, user_id: int, task: Any = None) -> None:
        from kejie.events.runs import plan_event_for
        from models import User

        job_id = task.id
        progress = _runner(h, job_id)
        progress("载入活动与候选")
        try:
            factory, service = _context(settings)
            with factory() as session:
                user = session.get(User, user_id)
                progress("评分与求解", 1, 3)
                match_list, created = plan_event_for(session, service, user, event_id)
                progress("保存方案", 2, 3)
                result = {"event_id": event_id, "match_list_id": match_list.id, "version": match_list.version,
                          "status": str(getattr(match_list.status, "value", match_list.status)),
                          "created": created}
            _write(h, job_id, status="done", stage="完成", done=3, total=3, result=result)
        except Exception as exc:  # noqa: BLE001 — every failure is the job's result, shown to staff
            _write(h, job_id, status="failed", stage="失败", error=str(exc) or type(exc).__name__,
                   trace=traceback.format_exc(limit=5))

    h.kejie_tasks = {"plan_event": plan_event_task}  # type: ignore[attr-defined]


def enqueue(settings: Settings, kind: str, *args: Any, user: str = "") -> JobRecord:
    """Queue a job; returns its record (with ``id``) before any worker can touch it."""
    h = queue(settings)
    signature = h.kejie_tasks[kind].s(*args)  # type: ignore[attr-defined]
    rec = _write(h, signature.id, id=signature.id, kind=kind, status="queued", stage="排队中", done=0,
                 total=0, user=user, created=time.time())
    h.enqueue(signature)
    return rec


class EmbeddedWorker:
    """One thread in this process that takes jobs from the queue and runs them (the
    embedded default). Huey's own consumer installs signal handlers, which only the
    main thread may do; a web app starts in whatever thread its server gives it."""

    def __init__(self, h: Huey, idle: float = 0.2) -> None:
        self.h = h
        self.idle = idle
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kejie-jobs", daemon=True)

    def start(self) -> EmbeddedWorker:
        self._thread.start()
        return self

    def _run(self) -> None:
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
