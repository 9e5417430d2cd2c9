"""Abandoned jobs: the recovery rule, in one place.

A job whose process was killed (kill -9, an OOM kill, a lost machine) never
writes its end, so its record would say ``running`` for ever and so would an
import's log. :func:`abandoned` decides when a ``running`` job's worker is gone:
its ``worker`` (``host:pid``, written by :func:`kejie.jobs.running`, see
:mod:`kejie.job_process`) is on this host
and that process no longer exists, or its pid now names another process (the
start time differs), or its ``heartbeat`` (rewritten every few seconds while
the job runs) is older than ``settings.job_stale_after`` seconds.

The rule runs when a worker starts and every ``job_stale_after`` seconds after
(:func:`sweep`: the embedded worker, ``kejie jobs worker``) and whenever a
record is read for display (:func:`current`: the job page and API, ``kejie jobs
status``; :func:`wait` reads so too, ``kejie jobs status --wait``). An
abandoned job ends ``failed`` saying it was interrupted; an import's log ends
``failed`` too, keeping the batches it committed (:func:`fail_abandoned_log`), and
so does one left ``running`` by a job that failed or was never queued
(:func:`sweep_logs`). A synchronous import (``kejie ingest``, ``?wait=true``) runs
as such a job too, its record of kind ``import_sync``
(:func:`kejie.import_jobs.synchronous_import`).

A job misjudged while alive (its process frozen past ``job_stale_after``) that
later resumes writes its record again: the last writer is the live task.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from huey import Huey
from huey.constants import EmptyData
from huey.storage import RedisStorage, SqliteStorage
from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.importlog import fail_running_log
from kejie import jobs
from kejie.job_process import pid_alive, process_start
from kejie.jobs import JobRecord
from kejie.settings import Settings
from models import ImportLog

logger = logging.getLogger(__name__)
_LOCK = threading.Lock()
_SWEEP_SESSIONS: dict[str, Any] = {}  # database url -> session factory, for a worker without the app's


def abandoned(rec: JobRecord, stale_after: float, *, now: float | None = None,
              host: str | None = None) -> str | None:
    """Why a ``running`` job is abandoned (in Chinese, for staff), or None while it is
    not: its worker is on this host and that process is gone (or its pid now names
    another process), or its heartbeat is older than ``stale_after`` seconds."""
    if rec.get("status") != "running":
        return None
    worker = str(rec.get("worker") or "")
    name, _, pid_text = worker.rpartition(":")
    if name and name == (host or socket.gethostname()) and pid_text.isdigit():
        pid = int(pid_text)
        if not pid_alive(pid):
            return f"进程 {worker} 已不存在"
        started, now_started = rec.get("worker_started"), process_start(pid)
        if started and now_started and started != now_started:
            return f"进程 {worker} 已退出，其进程号已被另一个进程使用"
    beat = rec.get("heartbeat") or rec.get("updated") or rec.get("created") or 0.0
    age = (time.time() if now is None else now) - float(beat)
    if age > stale_after:
        return f"进程 {worker or '未知'} 已 {age:.0f} 秒没有心跳"
    return None


def interrupted(reason: str) -> str:
    """The error staff see on an abandoned job."""
    return f"任务中断：处理它的进程已退出（{reason}），请重新上传或重新运行"


def _sessions(settings: Settings) -> Any:
    """A session factory for the sweep: the one bound in this process, else one from settings."""
    bound = jobs.bound_sessions()
    if bound is not None:
        return bound
    from models.db import create_db_engine, make_session_factory

    url = settings.resolved_database_url
    with _LOCK:
        factory = _SWEEP_SESSIONS.get(url)
        if factory is None:
            factory = _SWEEP_SESSIONS[url] = make_session_factory(create_db_engine(url))
    return factory


@contextlib.contextmanager
def _session(settings: Settings, session: Any = None) -> Any:
    if session is not None:
        yield session
        return
    with _sessions(settings)() as own:
        yield own


def abandon(settings: Settings, h: Huey, rec: JobRecord, reason: str, session: Any = None) -> JobRecord:
    """End an abandoned job ``failed`` (and its import's log, keeping the rows it committed)."""
    error = interrupted(reason)
    if rec.get("import_id") is not None:
        try:
            with _session(settings, session) as s:
                error = fail_abandoned_log(s, int(rec["import_id"]), reason)
        except Exception:  # noqa: BLE001 — the database is down: the job ends now, a later sweep ends its log
            logger.warning("import log %s of abandoned job %s not updated", rec["import_id"], rec["id"],
                           exc_info=True)
        _remove_upload(settings, rec.get("upload_dir"))
    new = jobs.write(h, rec["id"], status="failed", stage="中断", eta=None, error=error, abandoned=reason)
    h.storage.pop_data(jobs.RUNNING + rec["id"])
    logger.warning("job %s (%s) abandoned: %s", rec["id"], rec.get("kind"), reason)
    return new


def _remove_upload(settings: Settings, folder: str | None) -> None:
    """The stored upload of an abandoned import (its job would have removed it), when it
    is under this host's uploads folder."""
    if not folder:
        return
    path, uploads = Path(folder).resolve(), Path(settings.resolved_uploads_dir).resolve()
    if path.parent == uploads and path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


def fail_abandoned_log(session: Session, import_id: int, reason: str) -> str:
    """End the log of an import whose job was abandoned ``failed``; the batches it
    committed stay (the log's counts are those of the last one, and re-importing the
    file finds those rows unchanged). Returns the job's error."""
    session.rollback()
    log = session.get(ImportLog, import_id)
    if log is None:
        return interrupted(reason)
    if log.status != "running":  # the rows were all imported: the index sync was cut short
        return (f"任务中断：处理它的进程已退出（{reason}）。数据已全部导入（导入记录 {import_id}），"
                "匹配索引将在服务重启或下次同步（kejie index sync）时更新")
    kept = log.inserted + log.updated + log.unchanged
    error = (f"任务中断：处理它的进程已退出（{reason}）。已导入的 {kept} 行已保存（重新上传同一文件时"
             f"它们显示为未变化），请重新上传")
    log.status, log.finished_at, log.error = "failed", datetime.now(UTC), error[:2000]
    session.commit()
    return error


def current(settings: Settings, job_id: str, session: Any = None, h: Huey | None = None) -> JobRecord | None:
    """A job's record for display: an abandoned job is ended ``failed`` first, so no
    page shows a dead job as running."""
    h = h or jobs.queue(settings)
    rec = jobs.record(h, job_id)
    reason = abandoned(rec, settings.job_stale_after) if rec is not None else None
    return abandon(settings, h, rec, reason, session) if rec is not None and reason else rec


def wait(settings: Settings, job_id: str, timeout: float = 3600, every: float = 0.2,
         on_change: Callable[[JobRecord], None] | None = None) -> JobRecord | None:
    """Poll a job until it ends (or ``timeout``); ``on_change`` sees each new record."""
    h = jobs.queue(settings)
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        rec = current(settings, job_id, h=h)  # a job whose worker died ends failed, not awaited forever
        if rec is None or rec["status"] in ("done", "failed") or time.monotonic() > deadline:
            if rec is not None and on_change is not None and rec.get("updated") != last:
                on_change(rec)
            return rec
        if on_change is not None and rec.get("updated") != last:
            on_change(rec)
        last = rec.get("updated")
        time.sleep(every)


def import_job(h: Huey, import_id: int) -> JobRecord | None:
    """The record of the job queued for import log ``import_id``, if any."""
    value = h.storage.peek_data(jobs.import_key(import_id))
    return None if value is EmptyData else jobs.record(h, h.serializer.deserialize(value))


def _running_ids(h: Huey) -> list[str]:
    """The ids of the jobs marked running, by a prefix scan of the storage's keys."""
    storage = h.storage
    if isinstance(storage, SqliteStorage):
        rows = storage.sql("select key from kv where queue = ? and key like ?",
                           (storage.name, jobs.RUNNING + "%"), results=True)
        keys = [str(k) for (k,) in rows]
    elif isinstance(storage, RedisStorage):
        # (HSCAN NOVALUES needs Redis 7.4: the markers' values are one byte anyway)
        keys = [k.decode() if isinstance(k, bytes) else str(k)
                for k, _v in storage.conn.hscan_iter(storage.result_key, match=jobs.RUNNING + "*")]
    else:
        keys = [k for k in storage.result_items() if k.startswith(jobs.RUNNING)]
    return [k[len(jobs.RUNNING):] for k in keys if k.startswith(jobs.RUNNING)]


def sweep_logs(session: Session, settings: Settings, h: Huey) -> dict[str, list[Any]]:
    """End ``failed`` the import logs left ``running`` (older than ``job_stale_after``)
    whose job failed or was abandoned, or that never got a job (the process died
    between logging the upload and queueing it). A synchronous import (``kejie
    ingest``, ``?wait=true``) has its ``import_sync`` record
    (:func:`kejie.import_jobs.synchronous_import`)
    and is ended like a job's. A log with no job whose ``file_hash`` is written is
    of a synchronous import that could not be registered (its job storage was down)
    or that ran before synchronous imports were: it may still be running, so it is
    left alone. Returns the ids ended."""
    cutoff = datetime.now(UTC) - timedelta(seconds=settings.job_stale_after)
    ended: dict[str, list[Any]] = {"jobs": [], "imports": []}
    running = select(ImportLog.id).where(ImportLog.status == "running", ImportLog.started_at < cutoff)
    for import_id in list(session.scalars(running)):
        rec = import_job(h, import_id)
        if rec is None:
            log = session.get(ImportLog, import_id)
            if log is None or log.file_hash:
                continue
            error = "任务中断：上传的文件已保存，但服务在排队前退出，请重新上传"
        elif rec.get("status") == "failed":
            error = str(rec.get("error") or "导入失败")
        elif reason := abandoned(rec, settings.job_stale_after):  # running, not marked
            abandon(settings, h, rec, reason, session)
            ended["jobs"].append(rec["id"])
            ended["imports"].append(import_id)
            continue
        else:  # queued, running or done: its job ends the log
            continue
        fail_running_log(session, import_id, error)
        ended["imports"].append(import_id)
    return ended


def sweep(settings: Settings, session: Any = None) -> dict[str, list[Any]]:
    """End every abandoned job ``failed``, and every import log left ``running`` by a
    job that ended or never got queued; returns the ids ended (``jobs``, ``imports``)."""
    h = jobs.queue(settings)
    ended: dict[str, list[Any]] = {"jobs": [], "imports": []}
    with _session(settings, session) as s:
        for job_id in _running_ids(h):
            rec = jobs.record(h, job_id)
            if rec is None or rec.get("status") != "running":  # killed between its last write and unmarking
                h.storage.pop_data(jobs.RUNNING + job_id)
                continue
            reason = abandoned(rec, settings.job_stale_after)
            if reason:
                abandon(settings, h, rec, reason, s)
                ended["jobs"].append(job_id)
                if rec.get("import_id") is not None:
                    ended["imports"].append(rec["import_id"])
        for kind, ids in sweep_logs(s, settings, h).items():
            ended[kind] += [i for i in ids if i not in ended[kind]]
    return ended


def safe_sweep(settings: Settings) -> None:
    """:func:`sweep`, logging instead of raising: a worker starts even if it fails."""
    try:
        sweep(settings)
    except Exception:  # noqa: BLE001 — e.g. the database not migrated yet; the next sweep tries again
        logger.warning("sweep of abandoned jobs failed", exc_info=True)


def start_sweeper(settings: Settings) -> threading.Event:
    """Sweep now, then every ``job_stale_after`` seconds in a daemon thread (for a
    stand-alone worker, whose consumer Huey runs); set the returned event to stop."""
    safe_sweep(settings)
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(settings.job_stale_after):
            safe_sweep(settings)

    threading.Thread(target=loop, name="kejie-jobs-sweeper", daemon=True).start()
    return stop
