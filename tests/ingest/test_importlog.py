"""The log entry of an import: ending a ``running`` entry ``failed`` by its id."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ingest.importlog import fail_running_log
from models import ImportLog


def _log(session: Session, status: str, inserted: int = 0) -> int:
    log = ImportLog(kind="demands", filename="需求.csv", imported_by="staff", status=status, rejects=[],
                    inserted=inserted)
    session.add(log)
    session.commit()
    return log.id


def test_a_running_entry_ends_failed_with_its_counts_kept(session: Session) -> None:
    log_id = _log(session, "running", inserted=2000)
    fail_running_log(session, log_id, "导入失败：" + "长" * 3000)
    log = session.get(ImportLog, log_id)
    assert log is not None and log.status == "failed" and log.finished_at is not None
    assert log.inserted == 2000 and len(log.error or "") == 2000  # the error is cut to the column


def test_an_ended_or_unknown_entry_is_left_alone(session: Session) -> None:
    done = _log(session, "done")
    fail_running_log(session, done, "不应写入")
    log = session.get(ImportLog, done)
    assert log is not None and log.status == "done" and not log.error
    fail_running_log(session, 10**9, "没有这条记录")  # no entry: nothing to do
