"""Import use case: an uploaded spreadsheet, saved under its own name so that
every message names the file, imported with :func:`ingest.import_file`, audited,
then the match indexes synced."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy.orm import Session

from kejie.audit import audit
from kejie.errors import FieldProblem
from models import User

if TYPE_CHECKING:
    from kejie.match_service import MatchService
    from kejie.settings import Settings

IMPORT_KINDS = ("demands", "experts", "societies")


MAX_FILENAME = 200


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
    from kejie.import_jobs import synchronous_import
    from kejie.scope import import_row_check, scope_for

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
    from models import ImportLog

    log = session.get(ImportLog, import_id)
    if log is None:
        raise RecordNotFound("导入记录", import_id)
    stem = Path(log.filename).stem or "import"
    content = rejects_xlsx(log.reject_header or [], log.reject_rows or [], title=log.filename)
    return f"{stem}_被拒绝的行.xlsx", content
