"""Import technical demands, experts and societies from CSV/XLSX/JSON/JSONL.

Entry points::

    from ingest import read_rows, import_file
    report = import_file(session, "demands.xlsx", "demands", imported_by="staff")
    report.to_dict()  # counts, rejects [{file,row,field,value,reason}], changes ...
"""

from ingest.errors import (
    HeaderNotFound,
    IngestError,
    RowError,
    UnknownKind,
    UnreadableFile,
    UnsupportedFormat,
)
from ingest.importer import import_file
from ingest.keys import demand_key, enterprise_key, expert_key, society_key
from ingest.readers import open_table, read_rows
from ingest.report import ImportReport
from ingest.table import SourceRow, Table

KINDS = ("demands", "experts", "societies")

__all__ = [
    "KINDS",
    "HeaderNotFound",
    "ImportReport",
    "IngestError",
    "RowError",
    "SourceRow",
    "Table",
    "UnknownKind",
    "UnreadableFile",
    "UnsupportedFormat",
    "demand_key",
    "enterprise_key",
    "expert_key",
    "import_file",
    "open_table",
    "read_rows",
    "society_key",
]
