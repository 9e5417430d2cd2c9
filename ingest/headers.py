"""The header of a tabular file (CSV, an XLSX sheet): where it is, what it maps to.

:func:`tabular` finds the real header row below any title and ``填报单位：…``
lines, maps the headers (one or two levels) to canonical fields, and sets up
the :class:`~ingest.table.Table`'s rows.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

from ingest.errors import HeaderNotFound
from ingest.fields import IGNORED, KindSpec
from ingest.normalize import cell_text, clean_line
from ingest.table import SourceRow, Table

HEADER_SCAN_ROWS = 15


_PREAMBLE_BY = re.compile(r"(?:填报单位|报送单位|推荐单位)\s*(?:[（(][^）)]*[）)])?\s*[:：]?\s*(.*?)\s*(?=(?:填报|报送)(?:时间|日期)|联系人|填报人|$)")
_PREAMBLE_ON = re.compile(r"(?:填报|报送)(?:时间|日期)\s*[:：]?\s*(\S+(?:\s*年\s*\d+\s*月(?:\s*\d+\s*日)?)?)")


def _scan_preamble(rows: list[list[Any]]) -> tuple[str, str]:
    submitted_by = submitted_on = ""
    for cells in rows:
        text = " ".join(clean_line(c) for c in cells if cell_text(c).strip())
        if not submitted_by and (m := _PREAMBLE_BY.search(text)):
            submitted_by = m.group(1).strip(" :：_")
        if not submitted_on and (m := _PREAMBLE_ON.search(text)):
            submitted_on = re.sub(r"\s+", "", m.group(1)).strip(" :：_")
    return submitted_by, submitted_on


def _recognised(spec: KindSpec, cells: list[Any]) -> dict[int, str]:
    out: dict[int, str] = {}
    for index, cell in enumerate(cells):
        canonical = spec.field_for(cell)
        if canonical is not None:
            out[index] = canonical
    return out


def has_required(spec: KindSpec, fields: set[str]) -> list[str]:
    """Labels of required columns that are missing."""
    missing = []
    for group in spec.required_columns:
        if not fields.intersection(group):
            missing.append("或".join(spec.label(f) for f in group))
    return missing


def _find_header(spec: KindSpec, rows: list[tuple[int, list[Any]]]) -> int | None:
    """Index into ``rows`` of the header: the first row with three or more known
    headers; failing that, the first row holding the required columns and mostly
    known headers (a two-column file)."""
    for i, (_n, cells) in enumerate(rows):
        fields = {f for f in _recognised(spec, cells).values() if f != IGNORED}
        if len(fields) >= 3:
            return i
    for i, (_n, cells) in enumerate(rows):
        known = _recognised(spec, cells)
        filled = sum(1 for c in cells if cell_text(c).strip())
        fields = {f for f in known.values() if f != IGNORED}
        if fields and not has_required(spec, fields) and len(known) * 2 >= filled:
            return i
    return None


def _is_footnote(values: list[str]) -> bool:
    filled = [v for v in values if v]
    return len(filled) == 1 and bool(re.match(r"^(注|备注|说明|填表说明|附[:：件]|\*)", filled[0]))


def tabular(
    file: str,
    spec: KindSpec,
    raw: Iterator[tuple[int, list[Any]]],
    table: Table,
) -> None:
    head = list(itertools.islice(raw, HEADER_SCAN_ROWS))
    index = _find_header(spec, head)
    if index is None:
        raise HeaderNotFound(file, spec.expected_headers())
    header_number, header_cells = head[index]
    mapping = {i: f for i, f in _recognised(spec, header_cells).items()}
    body_start = index + 1
    if body_start < len(head):
        sub = _recognised(spec, head[body_start][1])
        sub_filled = sum(1 for c in head[body_start][1] if cell_text(c).strip())
        if len({f for f in sub.values() if f != IGNORED}) >= 2 and len(sub) * 5 >= sub_filled * 3:
            # two-level header: 联系人 over 姓名 | 手机 | 办公电话 ...
            header_cells = list(header_cells) + [None] * max(0, len(head[body_start][1]) - len(header_cells))
            for i, f in sub.items():
                mapping[i] = f
                header_cells[i] = head[body_start][1][i]
            body_start += 1
    columns: dict[str, str] = {}
    col_fields: list[tuple[int, str]] = []
    for i in sorted(mapping):
        canonical = mapping[i]
        if canonical == IGNORED:
            continue
        columns.setdefault(canonical, clean_line(header_cells[i]))
        col_fields.append((i, canonical))
    missing = has_required(spec, set(columns))
    if missing:
        raise HeaderNotFound(file, spec.expected_headers(), missing=missing)
    table.header_row = header_number
    table.columns = columns
    table.header = [clean_line(c) for c in header_cells]
    table.unmapped = [clean_line(c) for i, c in enumerate(header_cells) if i not in mapping and cell_text(c).strip()]
    table.submitted_by, table.submitted_on = _scan_preamble([cells for _n, cells in head[:index]])
    header_texts = {cell_text(c).strip() for c in header_cells if cell_text(c).strip()}

    def rows() -> Iterator[SourceRow]:
        for number, cells in itertools.chain(head[body_start:], raw):
            texts = [cell_text(c).strip() for c in cells]
            filled = [t for t in texts if t]
            if not filled or _is_footnote(texts):
                continue
            if len(filled) >= 3 and sum(1 for t in filled if t in header_texts) * 2 > len(filled):
                continue  # the header repeated (pasted tables, page breaks)
            values: dict[str, Any] = {}
            for i, canonical in col_fields:
                value = cells[i] if i < len(cells) else None
                if canonical not in values or (cell_text(values[canonical]).strip() == "" and cell_text(value).strip()):
                    values[canonical] = value
            yield SourceRow(row=number, values=values, cells=list(cells))

    table._rows = rows()
