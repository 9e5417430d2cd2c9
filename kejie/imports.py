"""Import use cases: an uploaded spreadsheet, saved under its own name so that
every message names the file, then either imported now with
:func:`ingest.import_file` (:func:`run_import`: audited, then the match indexes
synced) or checked cheaply, stored and queued as an ``import_file`` job
(:func:`start_import_job`; the job's body is :mod:`kejie.import_jobs`); and the
rejected rows of an import as a download."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy.orm import Session

from ingest.importlog import fail_running_log
from kejie import job_tasks
from kejie.audit import audit
from kejie.errors import FieldProblem
from kejie.import_jobs import synchronous_import
from kejie.scope import import_row_check, scope_for
from kejie.settings import Settings
from models import ImportLog, User

if TYPE_CHECKING:
    from kejie.match_service import MatchService

IMPORT_KINDS = ("demands", "experts", "societies")
MAX_FILENAME = 200
# opening a large workbook (its shared strings, the inflate limits) takes ~1 s:
# beyond this size an XLSX's header is found by the job, which fails naming it
XLSX_HEADER_CHECK_BYTES = 512 * 1024
_CHUNK = 1 << 20


def upload_name(filename: str | None) -> str:
    """The uploaded file's own name (no directories), or a :class:`FieldProblem` naming ``file``."""
    from ingest.sanitize import illegal_reason

    raw = (filename or "").replace("\\", "/")
    name = raw.rsplit("/", 1)[-1].strip() or ("upload" if not raw.strip() else "")
    if reason := illegal_reason(name):
        raise FieldProblem("file", f"文件名{reason}")
    if name in {"", ".", ".."}:
        raise FieldProblem("file", f"文件名“{raw[:60]}”无效，请使用普通的文件名（如 技术需求.xlsx）")
    if len(name) > MAX_FILENAME or len(name.encode("utf-8")) > 240:
        raise FieldProblem("file", f"文件名过长（{len(name)}个字符，最多{MAX_FILENAME}个），请改短后再上传")
    return name


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
        rec = job_tasks.enqueue(settings, "import_file", log.id,
                                {"kind": kind, "path": str(path), "user_id": user.id if user else None, **options},
                           user=by, import_id=log.id, upload_dir=str(path.parent))
    except Exception as exc:
        fail_running_log(session, log.id, f"任务队列不可用：{exc}")
        shutil.rmtree(path.parent, ignore_errors=True)
        raise
    return {"job": rec, "import_id": log.id}


def run_import(
    session: Session,
    index: MatchService,
    user: User,
    kind: str,
    filename: str,
    stream: BinaryIO,
    max_bytes: int,
    settings: Settings,
) -> dict[str, Any]:
    """Save the upload under its own name in a temp dir (so messages name the file) and import it.
    A city or society account imports within its scope (``kejie.scope``). While it runs
    the import is registered as a running job (:func:`kejie.import_jobs.synchronous_import`)."""
    import ingest

    scope = scope_for(session, user)
    scope.check_import_kind(kind)

    safe_name = upload_name(filename)
    with tempfile.TemporaryDirectory(prefix="kejie-upload-") as tmp:
        path = Path(tmp) / safe_name
        with path.open("wb") as out:
            shutil.copyfileobj(stream, out)
        if path.stat().st_size > max_bytes:
            raise FieldProblem("file", f"文件超过 {max_bytes // (1024 * 1024)} MB，请拆分后再上传")
        if path.stat().st_size == 0:
            raise FieldProblem("file", f"{safe_name} 是空文件")
        row_check = import_row_check(session, scope)
        with synchronous_import(session, settings, kind, safe_name, user.username) as running:
            report = ingest.import_file(session, path, kind, imported_by=user.username, row_check=row_check,
                                        log_id=running.import_id, progress=running.progress)
    data = report.to_dict()
    log_id = data.get("import_log_id")
    data["import_id"] = log_id
    audit(session, user, "import", "import_log", log_id, {
        "kind": kind, "filename": safe_name, "rejected": data.get("rejected", 0)
    })
    session.commit()
    index.sync(session)  # the service serialises its own writers; queries go on meanwhile
    data.setdefault("filename", safe_name)
    data.setdefault("kind", kind)
    data.setdefault("imported_by", user.username)
    return data


def rejects_download(session: Session, import_id: int) -> tuple[str, bytes]:
    """The rejected rows of import ``import_id`` as an XLSX laid out like the uploaded
    sheet (same columns, in order) plus 原因; returns (file name, bytes)."""
    from ingest.rejects import rejects_xlsx
    from kejie.errors import RecordNotFound

    log = session.get(ImportLog, import_id)
    if log is None:
        raise RecordNotFound("导入记录", import_id)
    stem = Path(log.filename).stem or "import"
    content = rejects_xlsx(log.reject_header or [], log.reject_rows or [], title=log.filename)
    return f"{stem}_被拒绝的行.xlsx", content
