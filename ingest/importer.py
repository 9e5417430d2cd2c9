"""Upsert import files into the database in batches.

Per batch of up to ``batch_size`` good rows the existing records are looked up
with one ``IN`` query per table, then inserted, updated (only the fields that
differ, so ``updated_at`` moves only for real changes) or left alone, and the
batch is committed.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ingest.errors import RowError
from ingest.importlog import fail_log, finish_log, log_counts, start_log
from ingest.limits import XlsxLimits
from ingest.readers import Source, SourceRow, Table, _Opener, open_table
from ingest.rejects import reject_header, reject_row
from ingest.report import Counts, ImportReport
from ingest.validate import CLEANERS, CleanRow, illegal_characters
from models import Demand, Enterprise, Expert, ImportLog, Society

BATCH_SIZE = 1000

Progress = Callable[[int, int], None]


_MODEL: dict[str, type[Demand] | type[Expert] | type[Society]] = {
    "demands": Demand,
    "experts": Expert,
    "societies": Society,
}
_ENTITY = {"demands": "demand", "experts": "expert", "societies": "society"}


def file_sha256(opener: _Opener) -> str:
    digest = hashlib.sha256()
    with opener.open() as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _given(value: Any) -> bool:
    return value is not None and value != "" and value != []


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, date) and isinstance(new, date):
        return old != new
    if isinstance(old, list) or isinstance(new, list):
        return list(old or []) != list(new or [])
    return old != new


def _apply(
    record: Any, values: dict[str, Any], *, only_blank: bool = False, skip: Iterable[str] = ()
) -> list[str]:
    """Set the given values that differ on an ORM object or a pending row dict;
    returns the names of the changed fields. Blank values never overwrite."""
    is_dict = isinstance(record, dict)
    changed = []
    for name, value in values.items():
        if name in skip or not _given(value):
            continue
        old = record.get(name) if is_dict else getattr(record, name)
        if only_blank and _given(old):
            continue
        if _differs(old, value):
            if is_dict:
                record[name] = value
            else:
                setattr(record, name, value)
            changed.append(name)
    return changed


def _conflicts(record: Any, values: dict[str, Any], ignore: Iterable[str] = ()) -> list[str]:
    """Fields given in ``values`` that already hold a different non-blank value."""
    is_dict = isinstance(record, dict)
    out = []
    for name, value in values.items():
        if name in ignore or not _given(value):
            continue
        old = record.get(name) if is_dict else getattr(record, name)
        if _given(old) and _differs(old, value):
            out.append(name)
    return out


_DEFAULTS: dict[type[Any], dict[str, Any]] = {}


def _column_default(model: type[Any], name: str) -> Any:
    defaults = _DEFAULTS.setdefault(model, {})
    if name not in defaults:
        default = model.__table__.columns[name].default
        if default is None:
            defaults[name] = None
        elif default.is_callable:
            defaults[name] = default.arg(None)
        else:
            defaults[name] = default.arg
    value = defaults[name]
    return list(value) if isinstance(value, list) else value


def _new_row(model: type[Any], key: str, values: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A row for a bulk INSERT; every row has the same columns (defaults filled in)
    so a batch goes to the database as one executemany."""
    row = {k: (v if _given(v) else _column_default(model, k)) for k, v in values.items()}
    row["dedup_key"] = key
    row.update(extra)
    return row


def _lookup(session: Session, model: type[Any], keys: Iterable[str]) -> dict[str, Any]:
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    rows = session.scalars(select(model).where(model.dedup_key.in_(wanted)))
    return {obj.dedup_key: obj for obj in rows}


class _Importer:
    def __init__(self, session: Session, table: Table, report: ImportReport, log: ImportLog | None = None) -> None:
        self.session = session
        self.table = table
        self.report = report
        self.log = log  # kept in step with every committed batch
        self.kind = table.kind
        # enterprises this file already wrote: key -> "inserted" | "updated" | "unchanged"
        self.touched: dict[str, str] = {}
        if self.kind == "demands":
            report.enterprises = Counts()

    def flush_batch(self, batch: Sequence[CleanRow]) -> None:
        if not batch:
            return
        enterprise_ids = self._enterprises(batch) if self.kind == "demands" else {}
        model = _MODEL[self.kind]
        existing = _lookup(self.session, model, (r.key for r in batch))
        new_rows: list[dict[str, Any]] = []
        for row in batch:
            obj = existing.get(row.key)
            if obj is None:
                extra: dict[str, Any] = {}
                if self.kind == "demands":
                    extra = {
                        "enterprise_id": enterprise_ids[row.enterprise_key],
                        "source_file": self.table.file[:300],
                        "source_row": row.row,
                    }
                new_rows.append(_new_row(model, row.key, row.fields, **extra))
                continue
            changed = _apply(obj, row.fields)
            if changed:
                self.report.updated += 1
                self._record_change(row, _ENTITY[self.kind], obj.id, row.label, changed)
            else:
                self.report.unchanged += 1
        if new_rows:
            self.session.execute(insert(model), new_rows)
            self.report.inserted += len(new_rows)
        if self.log is not None:
            log_counts(self.log, self.report)
        self.session.commit()

    def _enterprises(self, batch: Sequence[CleanRow]) -> dict[str, int]:
        """Insert or update the enterprises named in ``batch``; returns key -> id."""
        assert self.report.enterprises is not None
        counts = self.report.enterprises
        found = _lookup(self.session, Enterprise, (r.enterprise_key for r in batch))
        pending: dict[str, dict[str, Any]] = {}
        for row in batch:
            key, values = row.enterprise_key, row.enterprise_fields
            record: Any = pending.get(key) or found.get(key)
            if record is None:
                pending[key] = _new_row(Enterprise, key, values)
                self.touched[key] = "inserted"
                counts.inserted += 1
                continue
            status = self.touched.get(key)
            if status is None:  # first row of this file naming an enterprise already stored
                changed = _apply(record, values)
                self.touched[key] = "updated" if changed else "unchanged"
                if changed:
                    counts.updated += 1
                    self._record_change(row, "enterprise", record.id, record.name, changed)
                else:
                    counts.unchanged += 1
                continue
            # named again in this file: the first non-blank value wins, later rows only fill gaps.
            # 所属行业 describes the demand as often as the firm, so differing values are expected.
            conflicting = _conflicts(record, values, ignore=("industry",))
            if conflicting:
                self.report.warnings.append(
                    {
                        "file": self.table.file,
                        "row": row.row,
                        "field": "、".join(self.table.header_for(_ENTERPRISE_COLUMN.get(n, n)) for n in conflicting),
                        "value": values["name"],
                        "reason": "同一单位在本文件前面的行中信息不同，保留先出现的内容",
                    }
                )
            filled = _apply(record, values, only_blank=True)
            if filled and status == "unchanged":
                self.touched[key] = "updated"
                counts.unchanged -= 1
                counts.updated += 1
            if filled and status != "inserted":
                self._record_change(row, "enterprise", record.id, record.name, filled)
        ids = {key: ent.id for key, ent in found.items()}
        if pending:
            self.session.execute(insert(Enterprise), list(pending.values()))
            created = self.session.execute(
                select(Enterprise.dedup_key, Enterprise.id).where(Enterprise.dedup_key.in_(list(pending)))
            )
            ids.update({key: ent_id for key, ent_id in created})
        return ids

    def _record_change(self, row: CleanRow, entity: str, record_id: int, label: str, fields: list[str]) -> None:
        self.report.changes.append({"row": row.row, "entity": entity, "id": record_id, "label": label, "fields": fields})


_ENTERPRISE_COLUMN = {"name": "enterprise_name", "city": "region"}


def import_file(
    session: Session,
    source: Source,
    kind: str,
    imported_by: str = "",
    *,
    filename: str | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
    limits: XlsxLimits | None = None,
    row_check: Callable[[Table, CleanRow], list[RowError] | None] | None = None,
    log_id: int | None = None,
) -> ImportReport:
    """Import ``source`` (a path or a seekable binary file) as ``kind``
    (demands | experts | societies) and return what happened.

    Whole-file problems raise :class:`ingest.errors.IngestError`; bad rows end up
    in ``report.rejects`` and the good rows are stored. Commits every batch.
    ``limits`` bounds what an XLSX may inflate to (:class:`ingest.limits.XlsxLimits`).
    ``row_check`` (the importing account's scope, ``kejie.scope``) may reject a
    valid row with its own errors, or fill in its fields, before it is stored.
    ``log_id`` is an :class:`models.ImportLog` entry written earlier to reuse.
    """
    started = time.perf_counter()
    with open_table(source, kind, filename=filename, limits=limits) as table:
        report = ImportReport(
            kind=kind,
            filename=table.file,
            imported_by=imported_by,
            format=table.format,
            encoding=table.encoding,
            sheet=table.sheet,
            header_row=table.header_row,
            columns=dict(table.columns),
            submitted_by=table.submitted_by,
            submitted_on=table.submitted_on,
        )
        report.file_hash = file_sha256(_Opener(source))
        clean = CLEANERS[kind]
        log = start_log(session, report, log_id)
        importer = _Importer(session, table, report, log)
        seen: dict[str, CleanRow] = {}
        batch: list[CleanRow] = []
        try:
            for source_row in table.rows():
                report.rows_total += 1
                errors: list[RowError] = []
                if source_row.problem:
                    errors = [RowError("", "", source_row.problem, file=table.file, row=source_row.row)]
                else:
                    errors = illegal_characters(table, source_row)
                result = errors if errors else clean(table, source_row)
                if not isinstance(result, list) and row_check is not None:
                    result = row_check(table, result) or result
                if isinstance(result, list):
                    _reject(report, table, source_row, result)
                    continue
                report.warnings.extend(result.warnings)
                first = seen.get(result.key)
                if first is not None:
                    report.duplicates += 1
                    report.duplicate_rows.append(_duplicate(table, result, first))
                    continue
                seen[result.key] = result
                batch.append(result)
                if len(batch) >= batch_size:
                    importer.flush_batch(batch)
                    batch = []
                    if progress is not None:
                        progress(table.position(), table.total_units)
            importer.flush_batch(batch)
        except BaseException as exc:
            report.reject_header = reject_header(table, report.reject_rows)
            fail_log(session, log, report, exc)
            raise
        report.unmapped_columns = list(table.unmapped)
        report.reject_header = reject_header(table, report.reject_rows)
        if progress is not None:
            progress(table.total_units, table.total_units)

    report.seconds = round(time.perf_counter() - started, 3)
    finish_log(session, log, report)
    return report


def _reject(report: ImportReport, table: Table, row: SourceRow, errors: list[RowError]) -> None:
    report.rejected += 1
    report.rejects.extend(err.to_dict() for err in errors)
    report.reject_rows.append(reject_row(table, row, errors))


def _duplicate(table: Table, row: CleanRow, first: CleanRow) -> dict[str, Any]:
    """An in-file duplicate (same key as an earlier row): skipped, and reported with
    the columns where it differs from the row that was kept."""
    differs = [table.header_for(n) for n, v in row.fields.items() if _given(v) and _differs(first.fields.get(n), v)]
    reason = f"与第{first.row}行是同一条记录，已保留第{first.row}行"
    if differs:
        reason += "；本行不同的列未导入：" + "、".join(differs)
    return {"file": table.file, "row": row.row, "duplicate_of": first.row, "label": row.label,
            "differs": differs, "reason": reason}
