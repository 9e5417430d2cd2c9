"""The :class:`models.ImportLog` entry of an import: written as ``running``
before any row, kept in step with each committed batch, finished as ``done`` or
``failed``. It keeps the counts, the rejects (by field and as the rows were
read, for the rejects download), the in-file duplicates and the changed fields."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from models import ImportLog

if TYPE_CHECKING:
    from ingest.report import ImportReport

LOG_REJECTS_LIMIT = 10000  # entries of each list kept in the log; the report keeps all


def log_counts(log: ImportLog, report: ImportReport) -> None:
    log.rows_total = report.rows_total
    log.inserted = report.inserted
    log.updated = report.updated
    log.unchanged = report.unchanged
    log.rejected = report.rejected
    log.duplicates = report.duplicates


def _capped(items: list[dict[str, Any]], what: str, filename: str) -> list[dict[str, Any]]:
    kept = items[:LOG_REJECTS_LIMIT]
    if len(items) > LOG_REJECTS_LIMIT and what == "rejects":
        kept.append({"file": filename, "row": None, "field": "", "value": "",
                     "reason": f"另有{len(items) - LOG_REJECTS_LIMIT}条错误未记入日志"})
    return kept


def log_lists(log: ImportLog, report: ImportReport) -> None:
    log.rejects = _capped(report.rejects, "rejects", report.filename)
    log.reject_rows = _capped(report.reject_rows, "reject_rows", report.filename)
    log.reject_header = list(report.reject_header)
    log.duplicate_rows = _capped(report.duplicate_rows, "duplicate_rows", report.filename)
    log.changes = _capped(report.changes, "changes", report.filename)


def start_log(session: Session, report: ImportReport, log_id: int | None = None) -> ImportLog:
    """The log entry, committed as ``running`` before any row is written; ``log_id``
    names an entry written earlier (an upload queued as a background job)."""
    log = session.get(ImportLog, log_id) if log_id is not None else None
    if log is None:
        log = ImportLog(rejects=[])
        session.add(log)
    log.kind = report.kind
    log.filename = report.filename[:300]
    log.file_hash = report.file_hash
    log.imported_by = report.imported_by[:60]
    log.status = "running"
    session.commit()
    report.import_log_id = log.id
    return log


def fail_log(session: Session, log: ImportLog, report: ImportReport, exc: BaseException) -> None:
    """Mark the entry ``failed``; its counts stay those of the last committed batch."""
    try:
        session.rollback()
        log.status = "failed"
        log.finished_at = datetime.now(UTC)
        log.error = f"{type(exc).__name__}: {exc}"[:2000]
        log_lists(log, report)
        session.commit()
    except Exception:  # noqa: BLE001 - the database itself may be what failed; the entry stays "running"
        session.rollback()


def finish_log(session: Session, log: ImportLog, report: ImportReport) -> None:
    log_counts(log, report)
    log_lists(log, report)
    log.status = "done"
    log.finished_at = datetime.now(UTC)
    session.commit()


def fail_running_log(session: Session, import_id: int, error: str) -> None:
    """End entry ``import_id`` ``failed`` with ``error`` if it is still ``running`` (its
    counts stay those of the last committed batch); what the session held is rolled back."""
    session.rollback()
    log = session.get(ImportLog, import_id)
    if log is not None and log.status == "running":
        log.status, log.finished_at, log.error = "failed", datetime.now(UTC), error[:2000]
        session.commit()
