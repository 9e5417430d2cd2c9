"""XLSX of the reports: the quarterly 统计表 and plain lists. Every cell goes
through :func:`ingest.sanitize.safe_cell`; sheets print landscape, one page wide,
header rows repeated."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from ingest.sanitize import put_cell
from kejie.events.sheets import cn_date, print_setup
from kejie.reports.quarterly import COLUMNS, FORMS, Quarter, ReportRow

WIDTHS = (6, 24, 48, 48, 32)


def quarterly_xlsx(
    form: str, quarter: Quarter, rows: Sequence[ReportRow], unit: str, filled_on: date,
) -> bytes:
    """附件2/附件3: row 1 the form's name, row 2 the title, row 3 填报单位 and
    填报时间, row 4 the header, then one row per activity (存在不足 as the rows
    carry it: generated, or what staff saved, :mod:`kejie.reports.notes`)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = form
    last = get_column_letter(len(COLUMNS))
    put_cell(ws, 1, 1, form).font = Font(bold=True)
    put_cell(ws, 2, 1, f"{quarter.label}{FORMS[form]}").font = Font(bold=True, size=14)
    ws.merge_cells(f"A2:{last}2")
    ws["A2"].alignment = Alignment(horizontal="center")
    put_cell(ws, 3, 1, f"填报单位：{unit}")
    ws.merge_cells("A3:C3")
    put_cell(ws, 3, 4, f"填报时间：{cn_date(filled_on)}")
    ws.merge_cells(f"D3:{last}3")
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    for c, (name, width) in enumerate(zip(COLUMNS, WIDTHS, strict=True), 1):
        cell = put_cell(ws, 4, c, name)
        cell.font = Font(bold=True)
        cell.border = box
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(c)].width = width
    top = Alignment(vertical="top", wrap_text=True)
    for i, row in enumerate(rows):
        values = [i + 1, row.name, row.content, row.results, row.shortfall]
        for c, value in enumerate(values, 1):
            cell = put_cell(ws, 5 + i, c, value)
            cell.border = box
            cell.alignment = top
    print_setup(ws, header_rows=4)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def list_xlsx(
    title: str, columns: Sequence[tuple[str, str, int]], rows: Iterable[Mapping[str, Any]], sheet: str = "清单"
) -> bytes:
    """A titled list: row 1 ``title``, row 2 the headers of ``columns`` (key, header, width)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    put_cell(ws, 1, 1, title).font = Font(bold=True, size=13)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for c, (_key, header, width) in enumerate(columns, 1):
        cell = put_cell(ws, 2, c, header)
        cell.font = Font(bold=True)
        cell.fill = fill
        ws.column_dimensions[get_column_letter(c)].width = width
    top = Alignment(vertical="top", wrap_text=True)
    for r, row in enumerate(rows, 3):
        for c, (key, _header, _width) in enumerate(columns, 1):
            value = row.get(key, "")
            if isinstance(value, list):
                value = "；".join(str(v) for v in value)
            put_cell(ws, r, c, value).alignment = top
    ws.freeze_panes = "A3"
    print_setup(ws, header_rows=2)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
