"""Imports as background jobs: the upload is checked cheaply (file name, kind,
size, format, that it can be stored and that its header is found — for an XLSX
over 512 KB the job finds the header), saved under
``settings.resolved_uploads_dir``, logged as a ``running`` :class:`ImportLog` and
queued as an ``import_file`` job; the job reads the rows, encodes the new texts
and updates the indexes, reporting each stage (:mod:`kejie.job_tasks`).

The synchronous path (``?wait=true``, ``kejie ingest``) is :func:`kejie.imports.run_import`.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

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
                           user=by, import_id=log.id)
    except Exception as exc:
        _fail_log(session, log.id, f"任务队列不可用：{exc}")
        shutil.rmtree(path.parent, ignore_errors=True)
        raise
    return {"job": rec, "import_id": log.id}


def _fail_log(session: Session, import_id: int, error: str) -> None:
    session.rollback()
    log = session.get(ImportLog, import_id)
    if log is not None and log.status == "running":
        log.status, log.finished_at, log.error = "failed", datetime.now(UTC), error[:2000]
        session.commit()


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
