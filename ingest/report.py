"""What one import did: the :class:`ImportReport` that :func:`ingest.import_file`
returns (counts, rejects, in-file duplicates, changed fields) and that
:mod:`ingest.importlog` copies into the database's log entry."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Counts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportReport:
    kind: str
    filename: str
    file_hash: str = ""
    imported_by: str = ""
    format: str = ""
    encoding: str = ""
    sheet: str = ""
    header_row: int | None = None
    columns: dict[str, str] = field(default_factory=dict)  # canonical field -> header in the file
    unmapped_columns: list[str] = field(default_factory=list)
    submitted_by: str = ""
    submitted_on: str = ""
    rows_total: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    rejected: int = 0  # rows; ``rejects`` has one entry per bad field
    rejects: list[dict[str, Any]] = field(default_factory=list)
    reject_rows: list[dict[str, Any]] = field(default_factory=list)  # rows as read, with 原因
    reject_header: list[str] = field(default_factory=list)  # the file's columns, for the rejects XLSX
    duplicate_rows: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    enterprises: Counts | None = None  # demands imports also upsert enterprises
    import_log_id: int | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def ok(self) -> bool:
        return self.rejected == 0
