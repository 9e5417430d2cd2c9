"""存在不足 staff write on the quarterly 统计表, kept per quarter, form and row
(:class:`models.ReportNote`) so that the next visit and every export show it.

A text equal to the generated one is not stored (and an earlier note for that
row is removed), so an untouched row keeps following the figures. Every change
is audited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.sanitize import illegal_reason
from kejie.audit import audit
from kejie.errors import FieldProblem
from kejie.reports.quarterly import Quarter, ReportRow, check_form, quarterly_rows
from models import ReportNote, User

MAX_NOTE_CHARS = 2000


def _saved(session: Session, quarter: Quarter, form: str) -> dict[str, ReportNote]:
    notes = session.scalars(select(ReportNote).where(ReportNote.quarter == quarter.key, ReportNote.form == form))
    return {n.row_key: n for n in notes}


def apply_notes(session: Session, quarter: Quarter, form: str, rows: Sequence[ReportRow]) -> list[ReportRow]:
    """``rows`` with the saved 存在不足 in place of the generated one."""
    saved = _saved(session, quarter, form)
    for row in rows:
        note = saved.get(row.key)
        if note is not None:
            row.shortfall, row.saved_by, row.saved_at = note.text, note.updated_by, note.updated_at
    return list(rows)


def report_rows(session: Session, quarter: Quarter, form: str) -> list[ReportRow]:
    """The quarter's rows of ``form`` as staff last left them."""
    return apply_notes(session, quarter, form, quarterly_rows(session, quarter, form))


def check_note(field: str, text: str) -> str:
    """``text`` stripped, or :class:`FieldProblem` naming ``field`` when too long or
    holding a control character."""
    text = text.replace("\r\n", "\n").strip()
    if len(text) > MAX_NOTE_CHARS:
        raise FieldProblem(field, f"存在不足不能超过{MAX_NOTE_CHARS}个字符（现有{len(text)}个）")
    reason = illegal_reason(text)
    if reason:
        raise FieldProblem(field, f"存在不足{reason}")
    return text


def save_notes(
    session: Session, user: User, quarter: Quarter, form: str, texts: Mapping[str, str],
    fields: Mapping[str, str] | None = None,
) -> list[ReportRow]:
    """Store ``texts`` (row key → 存在不足) for the quarter's ``form``; returns the rows
    with the notes applied. Every text is checked before anything is written; a key
    that is not a row of this table is a :class:`FieldProblem`. ``fields`` names the
    input field of each key for the messages (default: ``notes.<key>``). Commits."""
    check_form(form)
    fields = fields or {}
    rows = quarterly_rows(session, quarter, form)
    by_key = {r.key: r for r in rows}
    clean: dict[str, str] = {}
    for key, text in texts.items():
        field = fields.get(key, f"notes.{key}")
        if key not in by_key:
            raise FieldProblem(field, f"{quarter.label}{form}没有这一行（{key[:80]}），请刷新页面后重试")
        clean[key] = check_note(field, text)
    saved = _saved(session, quarter, form)
    for key, text in clean.items():
        note = saved.get(key)
        if text == by_key[key].generated:
            if note is not None:
                audit(session, user, "delete", "report_note", note.id,
                      {"quarter": quarter.key, "form": form, "row_key": key})
                session.delete(note)
            continue
        if note is not None and note.text == text:
            continue
        if note is None:
            note = ReportNote(quarter=quarter.key, form=form, row_key=key)
            session.add(note)
        note.text, note.updated_by = text, user.username[:60]
        session.flush()
        audit(session, user, "update", "report_note", note.id,
              {"quarter": quarter.key, "form": form, "row_key": key, "chars": len(text)})
    session.commit()
    return apply_notes(session, quarter, form, rows)
