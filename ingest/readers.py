"""Format detection and lazy row reading.

:func:`open_table` sniffs the format (CSV in UTF-8/UTF-8-BOM/GBK/GB18030/UTF-16,
XLSX, JSON array, JSONL), finds the real header row below any title and
``填报单位：…`` lines, maps the headers to canonical fields and hands back a
:class:`Table` whose :meth:`Table.rows` yields :class:`SourceRow` objects one at
a time, so a 250k-row CSV never sits in memory.

The pieces live beside it: the byte source and its sniffing in
:mod:`ingest.sources`, the header in :mod:`ingest.headers`, XLSX in
:mod:`ingest.readers_xlsx`, JSON/JSONL in :mod:`ingest.readers_json`, the row
types in :mod:`ingest.table`; CSV, the default, is read here.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ingest.errors import HeaderNotFound, UnknownKind, UnreadableFile
from ingest.fields import KINDS
from ingest.headers import tabular
from ingest.limits import DEFAULT_LIMITS, XlsxLimits
from ingest.readers_json import json_table, jsonl_table
from ingest.readers_xlsx import xlsx_sheets

# ingest.importer and kejie.import_jobs take Source, SourceRow, Table, _Opener
# and detect_format from this module.
from ingest.sources import CountingReader, Source, detect_encoding, detect_format, text_stream
from ingest.sources import Opener as _Opener
from ingest.table import SourceRow, Table


def _display_name(source: Source, filename: str | None) -> str:
    if filename:
        return filename
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    return getattr(source, "name", "") or "upload"


def _sniff_delimiter(sample: str, filename: str) -> str:
    if filename.lower().endswith(".tsv"):
        return "\t"
    best, best_score = ",", 0
    lines = sample.splitlines()[:40]
    for delimiter in (",", "\t", ";", "|"):
        try:
            widths = [len(r) for r in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:
            continue
        score = max(widths, default=0)
        if score > best_score:
            best, best_score = delimiter, score
    return best


# ---------------------------------------------------------------- CSV


def _csv_rows(opener: _Opener, encoding: str, filename: str, counter: list[CountingReader]) -> Iterator[list[Any]]:
    with opener.open() as fh:
        sample = fh.read(65536).decode(encoding, errors="ignore")
    delimiter = _sniff_delimiter(sample, filename)
    csv.field_size_limit(1 << 24)
    with opener.open() as fh:
        text, counting = text_stream(fh, encoding, newline="")
        counter.append(counting)
        try:
            yield from csv.reader(text, delimiter=delimiter)
        except csv.Error as exc:
            raise UnreadableFile(filename, f"CSV格式错误：{exc}", hint="请检查引号是否成对") from exc


# ---------------------------------------------------------------- entry points


@contextmanager
def open_table(
    source: Source, kind: str, *, filename: str | None = None, limits: XlsxLimits | None = None
) -> Iterator[Table]:
    """Open an import file and locate its header; raises an :class:`IngestError`
    subclass for whole-file problems (an XLSX beyond ``limits`` among them)."""
    name = _display_name(source, filename)
    if kind not in KINDS:
        raise UnknownKind(name, f"未知的导入类型“{kind}”", hint="应为 demands、experts 或 societies")
    spec = KINDS[kind]
    opener = _Opener(source)
    if opener.size == 0:
        raise UnreadableFile(name, "文件是空的", hint="请选择填写好的文件")
    fmt = detect_format(opener.head(), name)
    table = Table(file=name, kind=kind, format=fmt, total_units=opener.size)
    closers: list[Any] = []
    try:
        if fmt == "csv":
            encoding = detect_encoding(opener, name)
            table.encoding = encoding
            counter: list[CountingReader] = []
            raw_rows = _csv_rows(opener, encoding, name, counter)
            closers.append(raw_rows)
            tabular(name, spec, enumerate(raw_rows, start=1), table)
            table._position = lambda: counter[0].count if counter else 0
        elif fmt == "xlsx":
            with opener.open() as fh:
                last_error: HeaderNotFound | None = None
                for sheet in xlsx_sheets(fh, name, closers, limits or DEFAULT_LIMITS):
                    try:
                        tabular(name, spec, sheet.rows, table)
                    except HeaderNotFound as exc:
                        last_error = last_error or exc
                        continue
                    table.sheet = sheet.title
                    table.total_units = sheet.max_row
                    break
                else:
                    raise last_error or HeaderNotFound(name, spec.expected_headers())
                progress = {"row": 0}
                rows = table._rows
                assert rows is not None

                def tracked() -> Iterator[SourceRow]:
                    for row in rows:
                        progress["row"] = row.row
                        yield row

                table._rows = tracked()
                table._position = lambda: progress["row"]
                yield table
                return
        elif fmt == "json":
            json_table(name, spec, opener, table)
        else:
            jsonl_table(name, spec, opener, table)
        yield table
    finally:
        for rows in (table._handed, table._rows):
            close = getattr(rows, "close", None)
            if close is not None:
                close()  # a half-read generator releases its file now, not at garbage collection
        for obj in reversed(closers):
            obj.close()


def read_rows(source: Source, kind: str, *, filename: str | None = None) -> Iterator[SourceRow]:
    """Yield the data rows of an import file lazily, mapped to canonical fields."""
    with open_table(source, kind, filename=filename) as table:
        yield from table.rows()
