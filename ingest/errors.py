"""Typed ingest errors.

Whole-file problems (unknown format, no header row, undecodable bytes) raise one
of these; a problem confined to one row is a :class:`RowError` that the importer
collects into the rejects report instead of raising.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class IngestError(Exception):
    """Base class: something about an import file is wrong."""

    def __init__(self, file: str, reason: str, *, hint: str = "") -> None:
        self.file = file
        self.reason = reason
        self.hint = hint
        message = f"{file}: {reason}"
        if hint:
            message = f"{message}；{hint}"
        super().__init__(message)


class UnsupportedFormat(IngestError):
    """The file is neither CSV, XLSX, JSON nor JSONL."""


class UnreadableFile(IngestError):
    """The bytes cannot be decoded or parsed (bad encoding, corrupt workbook, invalid JSON)."""


class HeaderNotFound(IngestError):
    """No row in the first lines looks like the expected header."""

    def __init__(self, file: str, expected: Iterable[str], *, missing: Iterable[str] = ()) -> None:
        self.expected = list(expected)
        self.missing = list(missing)
        if self.missing:
            reason = "表头缺少必需的列：" + "、".join(self.missing)
        else:
            reason = "在前15行中没有找到表头行"
        super().__init__(
            file,
            reason,
            hint="表头应包含：" + "、".join(self.expected),
        )


class UnknownKind(IngestError):
    """The caller asked for a kind the importer does not know."""


class RowError(Exception):
    """One field of one row is invalid; the importer turns it into a reject."""

    def __init__(self, field: str, value: Any, reason: str, *, file: str = "", row: int | None = None) -> None:
        self.file = file
        self.row = row
        self.field = field
        self.value = value
        self.reason = reason
        where = f"{file} 第{row}行" if row is not None else file
        super().__init__(f"{where} [{field}] {reason}".strip())

    def to_dict(self) -> dict[str, Any]:
        value = self.value
        if value is not None and not isinstance(value, (str, int, float, bool)):
            value = str(value)
        return {"file": self.file, "row": self.row, "field": self.field, "value": value, "reason": self.reason}
