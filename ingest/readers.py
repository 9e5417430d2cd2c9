"""Format detection and lazy row reading.

:func:`open_table` sniffs the format (CSV in UTF-8/UTF-8-BOM/GBK/GB18030/UTF-16,
XLSX, JSON array, JSONL), finds the real header row below any title and
``填报单位：…`` lines, maps the headers to canonical fields and hands back a
:class:`Table` whose :meth:`Table.rows` yields :class:`SourceRow` objects one at
a time, so a 250k-row CSV never sits in memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import os
import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from ingest.errors import HeaderNotFound, UnknownKind, UnreadableFile, UnsupportedFormat
from ingest.fields import IGNORED, KINDS, KindSpec
from ingest.limits import DEFAULT_LIMITS, XlsxLimits, cap_cells, check_archive, check_declared_cells
from ingest.normalize import cell_text, clean_line

HEADER_SCAN_ROWS = 15
_CHUNK = 1 << 20

Source = str | os.PathLike[str] | BinaryIO


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


# ---------------------------------------------------------------- sources


class _CountingReader(io.RawIOBase):
    """Wraps a binary stream and counts the bytes handed out (for progress)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n


class _Opener:
    """Re-openable binary access to a path or to a seekable file object."""

    def __init__(self, source: Source) -> None:
        self.source = source
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            if not path.is_file():
                raise UnreadableFile(str(source), "文件不存在或不是普通文件", hint="请检查文件路径")
            self.size = path.stat().st_size
        else:
            source.seek(0, os.SEEK_END)
            self.size = source.tell()
            source.seek(0)

    @contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        if isinstance(self.source, (str, os.PathLike)):
            with open(self.source, "rb") as fh:
                yield fh
        else:
            self.source.seek(0)
            yield self.source

    def head(self, n: int = 65536) -> bytes:
        with self.open() as fh:
            return fh.read(n)


def _text_stream(fh: IO[bytes], encoding: str, newline: str | None = None) -> tuple[io.TextIOWrapper, _CountingReader]:
    """A text view of ``fh`` that counts bytes and never closes ``fh`` itself."""
    counting = _CountingReader(fh)
    return io.TextIOWrapper(io.BufferedReader(counting), encoding=encoding, newline=newline), counting


def _display_name(source: Source, filename: str | None) -> str:
    if filename:
        return filename
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    return getattr(source, "name", "") or "upload"


# ---------------------------------------------------------------- detection

_EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


def detect_format(head: bytes, filename: str) -> str:
    """``csv`` | ``xlsx`` | ``json`` | ``jsonl``; content signatures win over the extension."""
    ext = Path(filename).suffix.lower()
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnsupportedFormat(filename, "这是旧版Excel(.xls)或其他Office二进制文件", hint="请在Excel中另存为.xlsx或CSV后再导入")
    if ext in {".xls", ".et", ".numbers", ".ods", ".pdf", ".doc", ".docx", ".zip"}:
        raise UnsupportedFormat(filename, f"不支持的文件类型 {ext}", hint="请另存为.xlsx、CSV、JSON或JSONL后再导入")
    if ext in _EXTENSIONS and _EXTENSIONS[ext] != "xlsx":
        return _EXTENSIONS[ext]
    if ext in _EXTENSIONS:
        raise UnreadableFile(filename, "文件扩展名是.xlsx，但内容不是Excel工作簿", hint="文件可能已损坏，请重新导出")
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"["):
        return "json"
    if text.startswith(b"{"):
        first_line = text.split(b"\n", 1)[0].strip()
        try:
            json.loads(first_line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return "json"
        return "jsonl"
    # binary files are full of NUL bytes; a stray one in a text file is rejected row by row
    if head.count(b"\x00") * 50 > len(head) and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnsupportedFormat(filename, "无法识别的二进制文件", hint="请导入.xlsx、CSV、JSON或JSONL文件")
    return "csv"


def detect_encoding(opener: _Opener, filename: str) -> str:
    """Decode the whole file once per candidate so a bad byte on line 200,000 is
    found before anything is written."""
    head = opener.head(4)
    if head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "gb18030"]
    for encoding in candidates:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with opener.open() as fh:
                while chunk := fh.read(_CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise UnreadableFile(filename, "文件编码无法识别（不是UTF-8或GBK/GB18030）", hint="请在Excel中另存为“CSV UTF-8”后再导入")


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


# ---------------------------------------------------------------- raw readers


def _csv_rows(opener: _Opener, encoding: str, filename: str, counter: list[_CountingReader]) -> Iterator[list[Any]]:
    with opener.open() as fh:
        sample = fh.read(65536).decode(encoding, errors="ignore")
    delimiter = _sniff_delimiter(sample, filename)
    csv.field_size_limit(1 << 24)
    with opener.open() as fh:
        text, counting = _text_stream(fh, encoding, newline="")
        counter.append(counting)
        try:
            yield from csv.reader(text, delimiter=delimiter)
        except csv.Error as exc:
            raise UnreadableFile(filename, f"CSV格式错误：{exc}", hint="请检查引号是否成对") from exc


def _merged_ranges(zf: zipfile.ZipFile, member: str) -> list[tuple[int, int, int, int]]:
    """(min_row, min_col, max_row, max_col) of merged cells, found by scanning the
    sheet XML (read-only worksheets do not expose them)."""
    from openpyxl.utils.cell import range_boundaries

    pattern = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+\d+:[A-Z]+\d+)"')
    found: list[tuple[int, int, int, int]] = []
    tail = b""
    try:
        with zf.open(member) as fh:
            while chunk := fh.read(_CHUNK):
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
class _Sheet:
    title: str
    rows: Iterator[tuple[int, list[Any]]]
    max_row: int


def _xlsx_sheets(
    fh: IO[bytes], filename: str, closers: list[Any], limits: XlsxLimits = DEFAULT_LIMITS
) -> Iterator[_Sheet]:
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
        yield _Sheet(title=ws.title, rows=_fill_merged(rows, merges), max_row=ws.max_row or 0)


def _numbered(rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[int, list[Any]]]:
    """Pair each row with its sheet row number; an all-empty row has no cell that knows it."""
    last = 0
    for cells in rows:
        number = next((c.row for c in cells if isinstance(getattr(c, "row", None), int)), last + 1)
        last = number
        yield number, [c.value for c in cells]


# ---------------------------------------------------------------- header detection


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


def _has_required(spec: KindSpec, fields: set[str]) -> list[str]:
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
        if fields and not _has_required(spec, fields) and len(known) * 2 >= filled:
            return i
    return None


def _is_footnote(values: list[str]) -> bool:
    filled = [v for v in values if v]
    return len(filled) == 1 and bool(re.match(r"^(注|备注|说明|填表说明|附[:：件]|\*)", filled[0]))


def _tabular(
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
    missing = _has_required(spec, set(columns))
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


def _map_object(spec: KindSpec, obj: dict[str, Any], table: Table, unmapped: set[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in obj.items():
        canonical = spec.field_for(key)
        if canonical is None:
            if key not in unmapped:
                unmapped.add(key)
                table.unmapped.append(str(key))
            continue
        if canonical == IGNORED:
            continue
        table.columns.setdefault(canonical, str(key))
        if canonical not in values or (cell_text(values[canonical]).strip() == "" and cell_text(value).strip()):
            values[canonical] = value
    return values


def _check_object_keys(file: str, spec: KindSpec, objects: list[Any]) -> None:
    keys: set[str] = set()
    for obj in objects:
        if isinstance(obj, dict):
            keys.update(f for f in (spec.field_for(k) for k in obj) if f and f != IGNORED)
    missing = _has_required(spec, keys)
    if missing:
        raise HeaderNotFound(file, spec.expected_headers(), missing=missing)


def _json_table(file: str, spec: KindSpec, opener: _Opener, table: Table) -> None:
    with opener.open() as fh:
        data = fh.read()
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise UnreadableFile(file, "JSON文件应使用UTF-8编码", hint="请另存为UTF-8后再导入") from exc
    except ValueError as exc:
        raise UnreadableFile(file, f"JSON格式错误：{exc}", hint="请检查括号、引号和逗号") from exc
    except RecursionError as exc:
        raise UnreadableFile(file, "JSON嵌套层数过多，无法读取", hint="每条记录应是一层对象：[{...}, {...}]") from exc
    if isinstance(doc, dict):
        lists = [doc[k] for k in (spec.kind, "rows", "data", "items", "records") if isinstance(doc.get(k), list)]
        if not lists:
            raise UnreadableFile(file, "JSON顶层应为对象数组", hint=f"写成 [{{...}}, …] 或 {{\"{spec.kind}\": [...]}}")
        doc = lists[0]
    if not isinstance(doc, list):
        raise UnreadableFile(file, "JSON顶层应为对象数组", hint="写成 [{...}, {...}]")
    _check_object_keys(file, spec, doc[:1000])
    unmapped: set[str] = set()
    table.encoding = "utf-8"
    table.total_units = len(doc)

    def rows() -> Iterator[SourceRow]:
        for number, obj in enumerate(doc, start=1):
            state["pos"] = number
            if not isinstance(obj, dict):
                yield SourceRow(row=number, values={}, problem="该条记录不是JSON对象")
                continue
            yield SourceRow(row=number, values=_map_object(spec, obj, table, unmapped))

    state = {"pos": 0}
    table._rows = rows()
    table._position = lambda: state["pos"]


def _jsonl_table(file: str, spec: KindSpec, opener: _Opener, table: Table) -> None:
    encoding = detect_encoding(opener, file)
    table.encoding = encoding

    def parsed(fh: IO[str]) -> Iterator[tuple[int, Any, str]]:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line), ""
            except ValueError:
                yield number, None, "该行不是合法的JSON"
            except RecursionError:
                yield number, None, "该行JSON嵌套层数过多"

    with opener.open() as fh:
        head = list(itertools.islice(parsed(_text_stream(fh, encoding)[0]), HEADER_SCAN_ROWS))
    _check_object_keys(file, spec, [obj for _n, obj, _p in head])
    unmapped: set[str] = set()
    counter: list[_CountingReader] = []

    def rows() -> Iterator[SourceRow]:
        with opener.open() as fh:
            text, counting = _text_stream(fh, encoding)
            counter.append(counting)
            for number, obj, problem in parsed(text):
                if problem or not isinstance(obj, dict):
                    yield SourceRow(row=number, values={}, problem=problem or "该行不是JSON对象")
                    continue
                yield SourceRow(row=number, values=_map_object(spec, obj, table, unmapped))

    table._rows = rows()
    table._position = lambda: counter[0].count if counter else 0


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
            counter: list[_CountingReader] = []
            raw_rows = _csv_rows(opener, encoding, name, counter)
            closers.append(raw_rows)
            _tabular(name, spec, enumerate(raw_rows, start=1), table)
            table._position = lambda: counter[0].count if counter else 0
        elif fmt == "xlsx":
            with opener.open() as fh:
                last_error: HeaderNotFound | None = None
                for sheet in _xlsx_sheets(fh, name, closers, limits or DEFAULT_LIMITS):
                    try:
                        _tabular(name, spec, sheet.rows, table)
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
            _json_table(name, spec, opener, table)
        else:
            _jsonl_table(name, spec, opener, table)
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
