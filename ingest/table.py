"""The rows of an import file, as read: :class:`Table` and :class:`SourceRow`.

The format readers (:mod:`ingest.readers` and its helpers) fill them; the
validation and the importer consume them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ingest.fields import KINDS


@dataclass
class SourceRow:
    row: int  # 1-based row number as a spreadsheet shows it (object index for JSON)
    values: dict[str, Any]  # canonical field -> raw cell value
    problem: str = ""  # set when the row could not be parsed at all (bad JSONL line ...)
    cells: list[Any] | None = None  # the row as read, column by column (tabular formats)


@dataclass
class Table:
    file: str
    kind: str
    format: str
    encoding: str = ""
    sheet: str = ""
    header_row: int | None = None
    columns: dict[str, str] = field(default_factory=dict)  # canonical field -> header as written
    unmapped: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)  # every header cell in order (tabular formats)
    submitted_by: str = ""  # from a 填报单位：… line above the header
    submitted_on: str = ""  # from a 填报时间：… line above the header
    total_units: int = 0  # for progress: bytes for text formats, rows for XLSX
    _rows: Iterator[SourceRow] | None = None
    _handed: Iterator[SourceRow] | None = None
    _position: Callable[[], int] = lambda: 0

    def rows(self) -> Iterator[SourceRow]:
        if self._rows is None:
            raise RuntimeError("table rows already consumed")
        rows, self._rows = self._rows, None
        self._handed = rows
        return rows

    def position(self) -> int:
        """How far reading has got, in the same units as ``total_units``."""
        return self._position()

    def header_for(self, canonical: str) -> str:
        return self.columns.get(canonical) or KINDS[self.kind].label(canonical)
