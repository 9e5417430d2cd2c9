"""XLSX specifics: the sheets of a workbook as numbered rows, merged cells filled.

Read-only openpyxl worksheets, within the archive and cell limits of
:mod:`ingest.limits`.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from ingest.errors import UnreadableFile
from ingest.limits import DEFAULT_LIMITS, XlsxLimits, cap_cells, check_archive, check_declared_cells
from ingest.sources import CHUNK


def _merged_ranges(zf: zipfile.ZipFile, member: str) -> list[tuple[int, int, int, int]]:
    """(min_row, min_col, max_row, max_col) of merged cells, found by scanning the
    sheet XML (read-only worksheets do not expose them)."""
    from openpyxl.utils.cell import range_boundaries

    pattern = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+\d+:[A-Z]+\d+)"')
    found: list[tuple[int, int, int, int]] = []
    tail = b""
    try:
        with zf.open(member) as fh:
            while chunk := fh.read(CHUNK):
                data = tail + chunk
                for m in pattern.finditer(data):
                    min_col, min_row, max_col, max_row = range_boundaries(m.group(1).decode())
                    found.append((min_row, min_col, max_row, max_col))
                tail = data[-200:]
    except KeyError:
        return []
    # the overlap between chunks may report a range twice
    return sorted(set(found))


def _fill_merged(rows: Iterator[tuple[int, list[Any]]], merges: list[tuple[int, int, int, int]]) -> Iterator[tuple[int, list[Any]]]:
    """Copy the value of a vertically merged cell into every row it spans
    (the same enterprise merged over two demand rows)."""
    vertical = [m for m in merges if m[2] > m[0]]
    if not vertical:
        yield from rows
        return
    starts: dict[int, list[tuple[int, int, int, int]]] = {}
    for m in vertical:
        starts.setdefault(m[0], []).append(m)
    active: list[tuple[int, int, Any]] = []  # (max_row, col, value)
    for number, cells in rows:
        active = [a for a in active if a[0] >= number]
        for _max_row, col, value in active:
            while len(cells) < col:
                cells.append(None)
            if cells[col - 1] in (None, ""):
                cells[col - 1] = value
        for _min_row, min_col, max_row, _max_col in starts.get(number, []):
            value = cells[min_col - 1] if len(cells) >= min_col else None
            active.append((max_row, min_col, value))
        yield number, cells


@dataclass
class Sheet:
    title: str
    rows: Iterator[tuple[int, list[Any]]]
    max_row: int


def xlsx_sheets(
    fh: IO[bytes], filename: str, closers: list[Any], limits: XlsxLimits = DEFAULT_LIMITS
) -> Iterator[Sheet]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    check_archive(fh, filename, limits)
    try:
        wb = load_workbook(fh, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise UnreadableFile(filename, f"Excel文件无法打开：{exc}", hint="请确认文件未损坏，或另存为.xlsx/CSV") from exc
    closers.append(wb)
    archive = getattr(wb, "_archive", None)
    for ws in wb.worksheets:
        member = getattr(ws, "_worksheet_path", None)
        merges = _merged_ranges(archive, member) if archive is not None and member else []
        check_declared_cells(ws, filename, limits)
        rows = cap_cells(_numbered(ws.iter_rows()), filename, ws.title, limits)
        yield Sheet(title=ws.title, rows=_fill_merged(rows, merges), max_row=ws.max_row or 0)


def _numbered(rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[int, list[Any]]]:
    """Pair each row with its sheet row number; an all-empty row has no cell that knows it."""
    last = 0
    for cells in rows:
        number = next((c.row for c in cells if isinstance(getattr(c, "row", None), int)), last + 1)
        last = number
        yield number, [c.value for c in cells]
