"""Imports as jobs. A queued upload (:func:`kejie.imports.start_import_job`) is
imported by the ``import_file`` task (:mod:`kejie.job_tasks`) with
:func:`run_import_job`: it reads the rows, encodes the new texts and updates the
indexes, reporting each stage.

The synchronous path (``?wait=true``, ``kejie ingest``, :func:`kejie.imports.run_import`)
imports in the requesting process, inside :func:`synchronous_import`: its log is
linked to a running ``import_sync`` record in the job storage, with a worker and a
heartbeat like a job's, so if that process is killed the same sweep
(:mod:`kejie.job_recovery`) ends the log ``failed``.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ingest.importlog import fail_running_log
from kejie import jobs
from kejie.audit import audit
from kejie.scope import import_row_check, scope_for
from kejie.settings import Settings
from models import ImportLog, User

REJECTS_IN_RESULT = 20  # the job record keeps the first few; /imports/{id} has them all
SYNC_KIND = "import_sync"  # the record of a synchronous import: never queued, no task runs it
logger = logging.getLogger(__name__)


@dataclass
class SyncImport:
    """A synchronous import under way: its log (``import_id``, for ``ingest.import_file``'s
    ``log_id``) and its record (``job_id``, None when the job storage was unavailable)."""

    import_id: int
    job_id: str | None = None
    running: jobs.Running | None = None

    def progress(self, done: int, total: int) -> None:
        """The import's progress (``ingest.import_file``'s callback), into the record."""
        if self.running is not None:
            try:
                self.running.progress("读取表格", done, total)
            except Exception:  # noqa: BLE001 — the import goes on; the heartbeat keeps trying
                logger.warning("progress of synchronous import %s not written", self.import_id, exc_info=True)


@contextlib.contextmanager
def synchronous_import(session: Session, settings: Settings, kind: str, filename: str,
                       imported_by: str = "") -> Iterator[SyncImport]:
    """Log a synchronous import ``running`` and register it as a running job for the
    block: an ``import_sync`` record (``import_id``, ``worker``, heartbeat, the running
    marker) linked to the log as a queued import's job is, ended ``done`` or ``failed``
    with the block. If the job storage cannot be written the import still runs, as it
    did before, its log without a job (which the sweep leaves alone). A block that
    fails before the file is read (``file_hash`` not written: an unreadable file, no
    header) removes its log, leaving no entry, as before."""
    log = ImportLog(kind=kind, filename=filename[:300], imported_by=imported_by[:60], status="running", rejects=[])
    session.add(log)
    session.commit()
    handle = SyncImport(log.id)
    with contextlib.ExitStack() as stack:
        try:
            h = jobs.queue(settings)
            job_id = uuid.uuid4().hex
            jobs.write(h, job_id, id=job_id, kind=SYNC_KIND, status="running", stage="读取表格", done=0, total=0,
                       user=imported_by, created=time.time(), import_id=log.id)
            jobs.link_import(h, log.id, job_id)
            handle.running, handle.job_id = stack.enter_context(jobs.running(h, job_id)), job_id
        except Exception:  # noqa: BLE001 — e.g. Redis down: the import runs unregistered
            logger.warning("synchronous import %s not registered in the job storage", log.id, exc_info=True)
            with contextlib.suppress(Exception):  # no half-written link a sweep could misjudge
                jobs.queue(settings).storage.pop_data(jobs.import_key(log.id))
        try:
            yield handle
        except BaseException as exc:
            _end_failed(session, handle, exc)
            raise
        _end_done(session, handle)


def _end_done(session: Session, handle: SyncImport) -> None:
    if handle.running is None:
        return
    log = session.get(ImportLog, handle.import_id)
    keep = ("kind", "filename", "rows_total", "inserted", "updated", "unchanged", "duplicates", "rejected")
    result: dict[str, Any] = {k: getattr(log, k, None) for k in keep} | {"import_id": handle.import_id}
    total = max(handle.running.progress.total, 1)
    handle.running.end(status="done", stage="完成", done=total, total=total, eta=0, result=result)


def _end_failed(session: Session, handle: SyncImport, exc: BaseException) -> None:
    error = f"导入失败：{exc}" if str(exc) else f"导入失败：{type(exc).__name__}"
    removed = False
    try:
        session.rollback()
        log = session.get(ImportLog, handle.import_id)
        if log is not None and log.status == "running" and not log.file_hash:  # never read: no entry
            session.delete(log)
            session.commit()
            removed = True
        else:
            fail_running_log(session, handle.import_id, error)
    except Exception:  # noqa: BLE001 — the database is what failed: the sweep ends the log later
        logger.warning("log of failed synchronous import %s not ended", handle.import_id, exc_info=True)
        session.rollback()
    if handle.running is None:
        return
    try:
        if removed:
            h = handle.running.progress.h
            h.storage.pop_data(jobs.import_key(handle.import_id))
        handle.running.end(status="failed", stage="失败", eta=None, error=error,
                           import_id=None if removed else handle.import_id)
    except Exception:  # noqa: BLE001 — the storage is gone: the sweep ends the record later
        logger.warning("record of failed synchronous import %s not ended", handle.import_id, exc_info=True)


def run_import_job(session: Session, service: Any, import_id: int, *, kind: str, path: str,
                   user_id: int | None, progress: jobs.Progress,
                   sync: Callable[[Session, jobs.Progress], dict[str, Any]], **options: Any) -> dict[str, Any]:
    """The job's body: import the stored file into log ``import_id``, audit it, sync
    the indexes (``sync``); the stored file is removed whatever happens."""
    import ingest

    user = session.get(User, user_id) if user_id is not None else None
    file = Path(path)
    try:
        progress("读取表格", 0, 0)
        by = user.username if user is not None else str(options.get("imported_by", ""))
        # the importing account's scope rejects rows of another city or society (kejie.scope)
        row_check = import_row_check(session, scope_for(session, user)) if user is not None else None
        report = ingest.import_file(session, file, kind, imported_by=by, log_id=import_id, row_check=row_check,
                                    progress=lambda d, t: progress("读取表格", max(d, progress.done), t))
    except Exception as exc:
        fail_running_log(session, import_id, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        shutil.rmtree(file.parent, ignore_errors=True)
    if not progress.total:  # a workbook without its dimension: the rows read are the total
        progress("读取表格", report.rows_total, report.rows_total)
    data = report.to_dict()
    audit(session, user, "import", "import_log", import_id,
          {"kind": kind, "filename": report.filename, "rejected": data.get("rejected", 0)})
    session.commit()
    try:
        counts = sync(session, progress)
    except Exception as exc:
        raise RuntimeError(f"数据已导入（导入记录 {import_id}），但匹配索引更新失败：{exc}") from exc
    keep = ("kind", "filename", "rows_total", "inserted", "updated", "unchanged", "duplicates", "rejected")
    result = {k: data.get(k) for k in keep}
    result.update(import_id=import_id, rejects=data.get("rejects", [])[:REJECTS_IN_RESULT],
                  encoded=counts.get("encoded", 0))
    return result


def load_sample_registered(session: Session, settings: Settings) -> Any:
    """``ingest.sample.load_sample`` with each file's import registered as a running
    job (``synchronous_import``), as ``kejie ingest`` registers its import."""
    from ingest.sample import load_sample

    return load_sample(session, register=lambda kind, filename: synchronous_import(
        session, settings, kind, filename, "sample"))
