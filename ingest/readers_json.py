"""JSON and JSONL tables: an array of objects (or one wrapped under a key), or
one object a line; object keys map to canonical fields like headers do."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import IO, Any

from ingest.errors import HeaderNotFound, UnreadableFile
from ingest.fields import IGNORED, KindSpec
from ingest.headers import HEADER_SCAN_ROWS, has_required
from ingest.normalize import cell_text
from ingest.sources import CountingReader, Opener, detect_encoding, text_stream
from ingest.table import SourceRow, Table


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
    missing = has_required(spec, keys)
    if missing:
        raise HeaderNotFound(file, spec.expected_headers(), missing=missing)


def json_table(file: str, spec: KindSpec, opener: Opener, table: Table) -> None:
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


def jsonl_table(file: str, spec: KindSpec, opener: Opener, table: Table) -> None:
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
        head = list(itertools.islice(parsed(text_stream(fh, encoding)[0]), HEADER_SCAN_ROWS))
    _check_object_keys(file, spec, [obj for _n, obj, _p in head])
    unmapped: set[str] = set()
    counter: list[CountingReader] = []

    def rows() -> Iterator[SourceRow]:
        with opener.open() as fh:
            text, counting = text_stream(fh, encoding)
            counter.append(counting)
            for number, obj, problem in parsed(text):
                if problem or not isinstance(obj, dict):
                    yield SourceRow(row=number, values={}, problem=problem or "该行不是JSON对象")
                    continue
                yield SourceRow(row=number, values=_map_object(spec, obj, table, unmapped))

    table._rows = rows()
    table._position = lambda: counter[0].count if counter else 0
