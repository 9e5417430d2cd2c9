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
pace), ``stages`` (the finished ones, timed), ``result`` or ``error``. This is
the queue's core and knows no task: the tasks (import, index sync, planning, the
nightly run, encoding shards) are in :mod:`kejie.job_tasks`, which defines them on
a queue and queues them (``job_tasks.enqueue``); the embedded worker thread is in
:mod:`kejie.job_worker`.

A running job's record also names its ``worker`` (``host:pid``, with the
process's start time against pid reuse: :mod:`kejie.job_process`) and keeps a
``heartbeat`` fresh every few seconds. A job whose worker is gone (kill -9, a
crash, a lost machine) is *abandoned*: ``abandoned`` is the one rule, applied
when a worker starts and every ``job_stale_after`` seconds after (``sweep``) and
whenever a record is read for display (``current``, ``wait``) — all in
:mod:`kejie.job_recovery`; the job ends ``failed`` telling staff to re-upload or
re-run, and an import's log ends ``failed`` too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from huey.constants import EmptyData

from kejie.job_process import process_start, worker_id
from kejie.settings import Settings

JobRecord = dict[str, Any]
HEARTBEAT_SECONDS = 5.0  # a running job's record is rewritten at least this often
RUNNING = "kejie:running:"  # one marker key per running job, so a sweep need not read every record
logger = logging.getLogger(__name__)
_QUEUES: dict[str, Huey] = {}
_QUEUES_LOCK = threading.Lock()
# what a task needs in this process (the DB and the match service); set by the app
# or built from settings by a stand-alone worker
_CONTEXT: dict[str, Any] = {}


def _key(job_id: str) -> str:
    return f"kejie:job:{job_id}"


def import_key(import_id: int) -> str:
    return f"kejie:import:{import_id}"


def link_import(h: Huey, import_id: int, job_id: str) -> None:
    """Name ``job_id`` as the job of import log ``import_id``, for the sweep of running logs."""
    h.storage.put_data(import_key(import_id), h.serializer.serialize(job_id))


def queue(settings: Settings) -> Huey:
    """The job queue of these settings (one per process and target), its tasks not yet
    defined: :func:`kejie.job_tasks.task_queue` defines them, for whoever queues a job
    or runs a worker; the records below need none."""
    target = settings.job_queue or str(Path(settings.var_dir) / "jobs.db")
    with _QUEUES_LOCK:
        h = _QUEUES.get(target)
        if h is None:
            if target.startswith(("redis://", "rediss://", "unix://")):
                h = RedisHuey("kejie", url=target)
            else:
                Path(target).parent.mkdir(parents=True, exist_ok=True)
                h = SqliteHuey("kejie", filename=target)
            _QUEUES[target] = h
        return h


def bind(session_factory: Any, match_service: Any) -> None:
    """Let tasks run in this process use these (the web app calls this at start-up)."""
    _CONTEXT["session_factory"] = session_factory
    _CONTEXT["match_service"] = match_service


def bound_sessions() -> Any | None:
    """The session factory bound in this process, if any."""
    return _CONTEXT.get("session_factory")


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
        # the heartbeat thread writes the record too: one read-modify-write at a time
        self.lock = threading.Lock()

    def write(self, **changes: Any) -> JobRecord:
        with self.lock:
            return write(self.h, self.job_id, **changes)

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
        self.write(status="running", stage=stage, done=done, total=total,
                   stage_started=self.started, eta=None if eta is None else round(eta, 1), stages=self.stages)

    def add(self, n: int) -> None:
        """``n`` more units of the current stage are done."""
        self(self.stage, min(self.done + n, self.total or self.done + n), self.total)


class _Heartbeat:
    """Rewrites a running job's ``heartbeat`` every ``every`` seconds, whether or not
    its progress moves (a long stage, one big batch), so a live job never looks stale."""

    def __init__(self, progress: Progress, every: float | None = None) -> None:
        self.progress, self.every = progress, HEARTBEAT_SECONDS if every is None else every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"kejie-heartbeat-{progress.job_id[:8]}",
                                        daemon=True)

    def start(self) -> _Heartbeat:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.progress.write(heartbeat=time.time())
            except Exception:  # noqa: BLE001 — a queue hiccup: the next beat tries again
                logger.warning("heartbeat of job %s not written", self.progress.job_id, exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)


class Running:
    """A job's record while it runs (:func:`running`): its :class:`Progress`, and
    :meth:`end`, which stops the heartbeat and writes the record's last state."""

    def __init__(self, h: Huey, job_id: str) -> None:
        self.progress = Progress(h, job_id)
        self.beat = _Heartbeat(self.progress)

    def end(self, **changes: Any) -> JobRecord:
        self.beat.stop()
        return self.progress.write(**changes)


@contextlib.contextmanager
def running(h: Huey, job_id: str) -> Iterator[Running]:
    """Mark job ``job_id`` running for the block: its record names this process as its
    ``worker`` (with the process's start time), a thread keeps its ``heartbeat`` fresh,
    and the running marker lets a sweep find it (see :mod:`kejie.job_recovery`); the
    marker is removed at the end, however the block ends."""
    job = Running(h, job_id)
    # the record first, then the marker: a marked job always names its worker
    job.progress.write(status="running", worker=worker_id(), worker_started=process_start(os.getpid()),
                       heartbeat=time.time())
    h.storage.put_data(RUNNING + job_id, b"1")
    job.beat.start()
    try:
        yield job
    finally:
        job.beat.stop()
        h.storage.pop_data(RUNNING + job_id)


def run(h: Huey, job_id: str, body: Callable[[Progress], dict[str, Any]], failed: str = "任务失败") -> None:
    """Run a task's ``body`` and end its record ``done`` with the result, or ``failed``
    with ``failed：<reason>`` (shown to staff). While it runs the record names this
    process as its ``worker`` and gets a heartbeat (:func:`running`)."""
    with running(h, job_id) as job:
        progress = job.progress
        progress("开始")
        try:
            result = body(progress)
        except Exception as exc:  # noqa: BLE001 — every failure is the job's result, shown to staff
            progress("失败")
            job.end(status="failed", stage="失败", eta=None, stages=progress.stages,
                    error=f"{failed}：{exc}" if str(exc) else f"{failed}：{type(exc).__name__}",
                    trace=traceback.format_exc(limit=5))
            return
        total = progress.total or 1
        progress("完成", total, total)
        job.end(status="done", stage="完成", done=total, total=total, eta=0, stages=progress.stages,
                result=result)
