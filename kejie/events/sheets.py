"""The parts the plan workbook is built of: Chinese dates, valid sheet names,
a table of headed rows, print settings and the 日程 sheet (the day-by-day
itinerary staff take along).

Every sheet prints landscape on A4, fitted to one page wide, with its header
rows repeated on every page. Cells go through :func:`ingest.sanitize.safe_cell`
(via :func:`ingest.sanitize.put_cell`) like the rest of the workbook.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from ingest.sanitize import put_cell, safe_cell, strip_illegal
from kejie.events.export_data import KIND_LABEL, ExportData

CN_SLOT_ORDER = ("全天", "上午", "中午", "下午", "晚上")


def cn_date(value: date | datetime | str | None) -> str:
    """``2026年12月3日``; an ISO string is parsed; empty stays empty."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return f"{value.year}年{value.month}月{value.day}日 {value:%H:%M}"
    return f"{value.year}年{value.month}月{value.day}日"


def cn_when(day: date | str | None, slot: str | None) -> str:
    """``2026年12月3日 上午``."""
    text = cn_date(day)
    return f"{text} {slot}" if text and slot else text


_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
SHEET_NAME_MAX = 31


def sheet_title(name: str, used: set[str]) -> str:
    """A valid, unique (case-insensitively, as Excel compares) sheet name.

    Drops ``[]:*?/\\`` and control characters, leading/trailing apostrophes,
    cuts to 31 characters and appends ``~2``, ``~3`` ... on collisions.
    ``used`` is updated.
    """
    base = _BAD_SHEET_CHARS.sub("", strip_illegal(name)).strip().strip("'").strip() or "Sheet"
    base = base[:SHEET_NAME_MAX]
    title, n = base, 2
    while title.casefold() in used or title.casefold() == "history":
        suffix = f"~{n}"
        title = base[: SHEET_NAME_MAX - len(suffix)].rstrip("'") + suffix
        n += 1
    used.add(title.casefold())
    return title


def cell_value(key: str, value: Any, joiner: str = "\n") -> Any:
    """A row's value as an inert cell: reasons joined (one a line in a sheet),
    the kind as its label."""
    if key == "reasons":
        value = joiner.join(value)
    elif key == "kind":
        value = KIND_LABEL.get(value, value)
    return safe_cell(value)


def write_table(
    ws: Any,
    columns: Sequence[tuple[str, str, int]],
    rows: Iterable[dict[str, Any]],
    title: str | None = None,
    numbered: bool = False,
) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    header_row = 1
    cols = ([("_n", "序号", 6)] if numbered else []) + list(columns)
    if title:
        put_cell(ws, 1, 1, title).font = Font(bold=True, size=13)
        header_row = 2
    fill = PatternFill("solid", fgColor="DDEBF7")
    for c, (_, header, width) in enumerate(cols, 1):
        cell = put_cell(ws, header_row, c, header)
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(c)].width = width
    top = Alignment(vertical="top", wrap_text=True)
    r = header_row
    for n, row in enumerate(rows, 1):
        r += 1
        for c, (key, _, _) in enumerate(cols, 1):
            value = n if key == "_n" else cell_value(key, row.get(key, ""))
            cell = put_cell(ws, r, c, value)
            cell.alignment = top
            if key == "score":
                cell.number_format = "0.000"
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    if r > header_row:
        ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(cols))}{r}"


def visit_sort_key(row: dict[str, Any], slots: list[str]) -> tuple[Any, ...]:
    """Date, slot (in the event's slot order), visit order; unscheduled last."""
    slot = row.get("slot") or ""
    pos = slots.index(slot) if slot in slots else len(slots) + (CN_SLOT_ORDER.index(slot) if slot in CN_SLOT_ORDER else 0)
    return (row.get("visit_day") or "9999-12-31", pos, row.get("visit_order") or 10**6, row.get("demand_id", 0))


def print_setup(ws: Any, header_rows: int) -> None:
    """Landscape A4, one page wide (any number of pages tall), header rows on every page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    if header_rows:
        ws.print_title_rows = f"1:{header_rows}"


SCHEDULE_KEYS = (
    "visit_day_cn",
    "slot",
    "candidate_name",
    "enterprise_name",
    "city",
    "county",
    "address",
    "demand_title",
    "visit_order",
    "interest",
)
SCHEDULE_CONTACTS = ("contact_name", "mobile")
SCHEDULE_EXTRA: list[tuple[str, str, int]] = [
    ("visit_day_cn", "日期", 15),
    ("slot", "时段", 6),
    ("visit_order", "第几站", 7),
    ("interest", "专家意向", 9),
    ("schedule_note", "日程说明", 36),
]


def write_schedule(wb: Any, data: ExportData, used: set[str]) -> None:
    """The 日程 sheet: every placed visit by date and slot, then what could not be placed."""
    ws = wb.create_sheet(sheet_title("日程", used))
    spec = {k: (k, h, w) for k, h, w in [*data.columns, *SCHEDULE_EXTRA]}
    spec["candidate_name"] = ("candidate_name", "专家", 14)
    spec["enterprise_name"] = ("enterprise_name", "企业", 26)
    spec["address"] = ("address", "地址", 28)
    spec["contact_name"] = ("contact_name", "联系人", 9)
    keys = list(SCHEDULE_KEYS) + (list(SCHEDULE_CONTACTS) if data.include_contacts else [])
    cols = [spec[k] for k in keys if k in spec]
    placed = [r for r in data.rows if r.get("visit_day")]
    placed.sort(key=lambda r: (*visit_sort_key(r, data.slots)[:2], r["city"], r["county"], r["candidate_name"]))
    name = data.event.get("name", "")
    title = f"{name} 日程：{len(placed)} 场" + (f"（{data.event.get('dates_cn', '')}）" if data.event.get("dates_cn") else "")
    write_table(ws, cols, placed, title=title, numbered=True)
    print_setup(ws, 2)
    todo = [r for r in data.rows if not r.get("visit_day")]
    if todo:
        from openpyxl.styles import Font

        r = ws.max_row + 2
        put_cell(ws, r, 1, f"未能排入日程的对接 {len(todo)} 场").font = Font(bold=True)
        for n, row in enumerate(todo, 1):
            put_cell(ws, r + n, 2, row["candidate_name"])
            put_cell(ws, r + n, 3, f"{row['enterprise_name']}：{row['demand_title']}")
            put_cell(ws, r + n, 4, row.get("schedule_note", ""))
