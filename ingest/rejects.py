"""Rejected rows as the city association can fix them: each rejected row as it
was read (every column of the uploaded sheet, in order) with its reasons, and
an XLSX laid out like the uploaded sheet plus a 原因 column.

Cells are written through :func:`ingest.sanitize.safe_cell`, so a cell that
looked like a formula in the upload comes back as text, never a live formula.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from typing import Any

from ingest.errors import RowError
from ingest.sanitize import put_cell, safe_cell
from ingest.table import SourceRow, Table

REASON_HEADER = "原因"


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time.min else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def reasons_text(errors: Iterable[RowError]) -> str:
    """``手机：格式不对；E-mail：缺少@`` (a reject's field is the file's own header)."""
    parts = [f"{err.field}：{err.reason}" if err.field else err.reason for err in errors]
    return "；".join(dict.fromkeys(parts))


def reject_row(table: Table, row: SourceRow, errors: Sequence[RowError]) -> dict[str, Any]:
    """A rejected row as stored with the import log: its cells in the file's column
    order (or, for JSON, its values by header) and the reasons."""
    entry: dict[str, Any] = {"row": row.row, "reason": reasons_text(errors)}
    if row.cells is not None:
        entry["cells"] = [_json_safe(c) for c in row.cells]
    else:
        entry["values"] = {table.header_for(k): _json_safe(v) for k, v in row.values.items()}
    return entry


def reject_header(table: Table, rows: Iterable[dict[str, Any]]) -> list[str]:
    """The columns of the rejects sheet: the uploaded header, or for JSON every key seen."""
    if table.header:
        return list(table.header)
    seen: dict[str, None] = {h: None for h in table.columns.values()}
    for r in rows:
        seen.update(dict.fromkeys(r.get("values", {})))
    return list(seen)


def _row_cells(header: Sequence[str], entry: dict[str, Any]) -> list[Any]:
    if "cells" in entry:
        cells = list(entry["cells"])[: len(header)]
        return cells + [None] * (len(header) - len(cells))
    values = entry.get("values", {})
    return [values.get(h) for h in header]


def rejects_xlsx(header: Sequence[str], rows: Iterable[dict[str, Any]], *, title: str = "") -> bytes:
    """The rejected rows as an XLSX: the uploaded columns in order, then 原因.

    ``title`` (e.g. the file name) goes into the sheet name's place only: the
    header is the first row, so the corrected sheet can be imported again."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "被拒绝的行"
    columns = [*header, REASON_HEADER]
    fill = PatternFill("solid", fgColor="FCE4D6")
    for c, name in enumerate(columns, 1):
        cell = ws.cell(row=1, column=c, value=safe_cell(name or ""))
        cell.font = Font(bold=True)
        ws.column_dimensions[get_column_letter(c)].width = 14 if name != REASON_HEADER else 40
    ws.cell(row=1, column=len(columns)).fill = fill
    r = 1
    for entry in rows:
        r += 1
        reason = entry.get("reason", "")
        if entry.get("row") is not None:
            reason = f"第{entry['row']}行：{reason}"
        for c, value in enumerate([*_row_cells(header, entry), reason], 1):
            put_cell(ws, r, c, value)
        ws.cell(row=r, column=len(columns)).alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    if title:
        wb.properties.title = safe_cell(title)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
