"""Reading the stateless inputs of ``kejie rank`` / ``kejie eval``.

Candidate files (experts or societies, CSV/XLSX/JSON/JSONL) are read with the
ingest package's lazy row reader, which maps Chinese/English headers to
canonical fields. Query files are JSONL with ``id`` and ``text`` (or ``title``
+ ``content``). Qrels are TSV ``query_id  candidate_id  grade``.

A bad row is reported (file, row, field, reason) and skipped; the good rows
are kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from matcher import rules
from matcher.errors import BadInput
from matcher.types import Candidate

FileKind = Literal["expert", "society"]

def parse_bool(value: Any, default: bool) -> bool:
    """Lenient yes/no for candidate files: blank or unknown -> ``default`` (rule: :mod:`matcher.rules`)."""
    return bool(rules.parse_bool(value, default))


@dataclass
class CandidateFile:
    kind: FileKind
    candidates: list[Candidate]
    problems: list[str] = field(default_factory=list)


_DISTINCT = {
    "expert": {"research_areas", "achievements", "affiliation", "title", "is_academician"},
    "society": {"representative_works", "category", "description"},
}


def _detect_kind(path: Path) -> FileKind:
    from ingest.errors import IngestError
    from ingest.readers import open_table

    best: tuple[int, FileKind] | None = None
    errors: list[str] = []
    for kind, ingest_kind in (("society", "societies"), ("expert", "experts")):
        try:
            with open_table(path, ingest_kind) as table:
                cols = set(table.columns)
                raw_id = str(table.columns.get("external_id", "")).lower()
        except IngestError as exc:
            errors.append(str(exc))
            continue
        score = 2 * len(cols & _DISTINCT[kind])  # type: ignore[index]
        if kind in raw_id:
            score += 5
        if best is None or score > best[0]:
            best = (score, kind)  # type: ignore[assignment]
    if best is None:
        raise BadInput("；".join(errors) or f"{path}: 无法识别的候选文件")
    return best[1]


def read_candidates(path: Path | str, kind: FileKind | Literal["auto"] = "auto") -> CandidateFile:
    from ingest.errors import IngestError
    from ingest.readers import read_rows
    from matcher.profiles import expert_from_row, society_from_row

    path = Path(path)
    if kind == "auto":
        kind = _detect_kind(path)
    build: Callable[[dict[str, Any], str], Candidate] = (
        expert_from_row if kind == "expert" else society_from_row
    )
    out = CandidateFile(kind=kind, candidates=[])
    seen: set[str] = set()
    try:
        for row in read_rows(path, "experts" if kind == "expert" else "societies"):
            if row.problem:
                out.problems.append(f"{path.name} 第{row.row}行：{row.problem}")
                continue
            values = row.values
            name = str(values.get("name") or "").strip()
            if not name:
                out.problems.append(f"{path.name} 第{row.row}行：名称为空，已跳过")
                continue
            cid = str(values.get("external_id") or "").strip() or f"row{row.row}"
            if cid in seen:
                out.problems.append(f"{path.name} 第{row.row}行：编号 {cid} 重复，已跳过")
                continue
            seen.add(cid)
            out.candidates.append(build(values, cid))
    except IngestError as exc:
        raise BadInput(str(exc)) from exc
    return out


@dataclass
class QueryFile:
    queries: list[tuple[str, str | tuple[str, str]]]  # id, text or (title, content)
    problems: list[str] = field(default_factory=list)


def read_queries(path: Path | str, limit: int | None = None) -> QueryFile:
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"{path}: 文件不存在")
    out = QueryFile(queries=[])
    with path.open(encoding="utf-8-sig") as fh:
        for lineno, line in enumerate(fh, start=1):
            if limit is not None and len(out.queries) >= limit:
                break
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                out.problems.append(f"{path.name} 第{lineno}行：不是合法的JSON（{exc.msg}）")
                continue
            if not isinstance(obj, dict):
                out.problems.append(f"{path.name} 第{lineno}行：应为JSON对象")
                continue
            qid = obj.get("id")
            if qid is None or str(qid).strip() == "":
                out.problems.append(f"{path.name} 第{lineno}行：缺少字段 id")
                continue
            text = obj.get("text")
            title = str(obj.get("title") or "").strip()
            body = str(obj.get("content") or "").strip()
            if not str(text or "").strip() and not (title or body):
                out.problems.append(f"{path.name} 第{lineno}行：缺少字段 text（或 title/content）")
                continue
            # a demand with a title keeps it apart: the title is a signal of its own
            out.queries.append((str(qid), str(text) if text else (title, body)))
    return out


def read_qrels(path: Path | str) -> dict[str, dict[str, float]]:
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"{path}: 文件不存在")
    qrels: dict[str, dict[str, float]] = {}
    with path.open(encoding="utf-8-sig") as fh:
        for lineno, line in enumerate(fh, start=1):
            parts = line.strip().split("\t") if "\t" in line else line.split()
            if not parts or not parts[0]:
                continue
            if len(parts) < 2:
                raise BadInput(f"{path.name} 第{lineno}行：应为 query_id<TAB>candidate_id[<TAB>grade]")
            if lineno == 1 and parts[0].lower() in {"query_id", "qid", "query"}:
                continue
            try:
                grade = float(parts[2]) if len(parts) > 2 else 1.0
            except ValueError:
                raise BadInput(f"{path.name} 第{lineno}行：相关度 {parts[2]!r} 不是数字") from None
            qrels.setdefault(parts[0], {})[parts[1]] = grade
    return qrels
