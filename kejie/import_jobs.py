"""Imports as background jobs: the upload is checked cheaply (file name, kind,
size, format, that it can be stored and that its header is found — for an XLSX
over 512 KB the job finds the header), saved under
``settings.resolved_uploads_dir``, logged as a ``running`` :class:`ImportLog` and
queued as an ``import_file`` job; the job reads the rows, encodes the new texts
and updates the indexes, reporting each stage (:mod:`kejie.job_tasks`).

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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from huey import Huey
from sqlalchemy import select
from sqlalchemy.orm import Session

from kejie import jobs
from kejie.audit import audit
from kejie.errors import FieldProblem
from kejie.imports import IMPORT_KINDS, upload_name
from kejie.scope import import_row_check, scope_for
from kejie.settings import Settings
from models import ImportLog, User

# opening a large workbook (its shared strings, the inflate limits) takes ~1 s:
# beyond this size an XLSX's header is found by the job, which fails naming it
XLSX_HEADER_CHECK_BYTES = 512 * 1024
REJECTS_IN_RESULT = 20  # the job record keeps the first few; /imports/{id} has them all
_CHUNK = 1 << 20
SYNC_KIND = "import_sync"  # the record of a synchronous import: never queued, no task runs it
logger = logging.getLogger(__name__)


def stage_upload(settings: Settings, kind: str, filename: str | None, stream: BinaryIO,
                 max_bytes: int) -> Path:
    """Save the upload as ``<uploads>/<random>/<its own name>`` after the cheap checks;
    raises :class:`FieldProblem` (or an ``IngestError`` for an unreadable header)."""
    from ingest.readers import detect_format, open_table

    if kind not in IMPORT_KINDS:
        raise FieldProblem("kind", f"未知的数据类型：{kind}（应为 {'、'.join(IMPORT_KINDS)}）")
    safe_name = upload_name(filename)
    folder = Path(settings.resolved_uploads_dir) / uuid.uuid4().hex
    path = folder / safe_name
    try:
        folder.mkdir(parents=True)
        size = 0
        with path.open("wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise FieldProblem("file", f"文件超过 {max_bytes // (1024 * 1024)} MB，请拆分后再上传")
                out.write(chunk)
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise FieldProblem("file", f"服务器无法保存上传的文件（{exc.strerror}），请稍后再试或联系管理员") from exc
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        if size == 0:
            raise FieldProblem("file", f"{safe_name} 是空文件")
        with path.open("rb") as fh:
            fmt = detect_format(fh.read(65536), safe_name)  # .xls, binary files ... refused here
        if fmt != "xlsx" or size <= XLSX_HEADER_CHECK_BYTES:
            with open_table(path, kind, filename=safe_name):
                pass  # the header is found: the rows are read by the job
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return path


def start_import_job(session: Session, settings: Settings, user: User | None, kind: str, filename: str | None,
                     stream: BinaryIO, *, max_bytes: int, **options: Any) -> dict[str, Any]:
    """Check and store the upload, log it as ``running`` and queue its job; returns
    ``{"job": <job record>, "import_id": ...}`` at once. ``options`` go to the job
    (``imported_by`` names the importer when there is no ``user``, as from the CLI)."""
    if user is not None:  # a city imports demands only, a society experts only (kejie.scope)
        scope_for(session, user).check_import_kind(kind)
    path = stage_upload(settings, kind, filename, stream, max_bytes)
    by = user.username if user is not None else str(options.get("imported_by", ""))
    log = ImportLog(kind=kind, filename=path.name[:300], imported_by=by[:60], status="running", rejects=[])
    session.add(log)
    session.commit()
    try:
        rec = jobs.enqueue(settings, "import_file", log.id,
                           {"kind": kind, "path": str(path), "user_id": user.id if user else None, **options},
                           user=by, import_id=log.id, upload_dir=str(path.parent))
    except Exception as exc:
        _fail_log(session, log.id, f"任务队列不可用：{exc}")
        shutil.rmtree(path.parent, ignore_errors=True)
        raise
    return {"job": rec, "import_id": log.id}


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
            _fail_log(session, handle.import_id, error)
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


def _fail_log(session: Session, import_id: int, error: str) -> None:
    session.rollback()
    log = session.get(ImportLog, import_id)
    if log is not None and log.status == "running":
        log.status, log.finished_at, log.error = "failed", datetime.now(UTC), error[:2000]
        session.commit()


def fail_abandoned_log(session: Session, import_id: int, reason: str) -> str:
    """End the log of an import whose job was abandoned (:mod:`kejie.job_recovery`)
    ``failed``; the batches it committed stay (the log's counts are those of the last
    one, and re-importing the file finds those rows unchanged). Returns the job's error."""
    from kejie.job_recovery import interrupted

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


def sweep_logs(session: Session, settings: Settings, h: Huey) -> dict[str, list[Any]]:
    """End ``failed`` the import logs left ``running`` (older than ``job_stale_after``)
    whose job failed or was abandoned, or that never got a job (the process died
    between logging the upload and queueing it). A synchronous import (``kejie
    ingest``, ``?wait=true``) has its ``import_sync`` record (:func:`synchronous_import`)
    and is ended like a job's. A log with no job whose ``file_hash`` is written is
    of a synchronous import that could not be registered (its job storage was down)
    or that ran before synchronous imports were: it may still be running, so it is
    left alone. Returns the ids ended."""
    from kejie import job_recovery

    cutoff = datetime.now(UTC) - timedelta(seconds=settings.job_stale_after)
    ended: dict[str, list[Any]] = {"jobs": [], "imports": []}
    running = select(ImportLog.id).where(ImportLog.status == "running", ImportLog.started_at < cutoff)
    for import_id in list(session.scalars(running)):
        rec = job_recovery.import_job(h, import_id)
        if rec is None:
            log = session.get(ImportLog, import_id)
            if log is None or log.file_hash:
                continue
            error = "任务中断：上传的文件已保存，但服务在排队前退出，请重新上传"
        elif rec.get("status") == "failed":
            error = str(rec.get("error") or "导入失败")
        elif reason := job_recovery.abandoned(rec, settings.job_stale_after):  # running, not marked
            job_recovery.abandon(settings, h, rec, reason, session)
            ended["jobs"].append(rec["id"])
            ended["imports"].append(import_id)
            continue
        else:  # queued, running or done: its job ends the log
            continue
        _fail_log(session, import_id, error)
        ended["imports"].append(import_id)
    return ended


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
        _fail_log(session, import_id, f"{type(exc).__name__}: {exc}")
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
