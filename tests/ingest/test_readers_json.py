"""JSON arrays (plain and wrapped) and JSONL with a broken line (no database)."""

from __future__ import annotations

import json
from pathlib import Path

from ingest import open_table, read_rows


def test_json_array_and_wrapped(tmp_path: Path) -> None:
    data = [
        {"name": "福建省化学会", "society_id": "X1", "keywords": ["电化学", "催化"], "extra": 1},
        {"name": "福建省海洋学会", "society_id": "X2", "keywords": "海洋；养殖"},
        "not an object",
    ]
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with open_table(path, "societies") as table:
        rows = list(table.rows())
    assert table.format == "json"
    assert [r.row for r in rows] == [1, 2, 3]
    assert rows[0].values["keywords"] == ["电化学", "催化"]
    assert rows[2].problem
    assert table.unmapped == ["extra"]
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"societies": data[:2]}, ensure_ascii=False), encoding="utf-8")
    assert len(list(read_rows(wrapped, "societies"))) == 2


def test_jsonl_with_a_broken_line(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    lines = [
        json.dumps({"姓名": "甲专家", "expert_id": "T1"}, ensure_ascii=False),
        "",
        "{not json",
        json.dumps({"姓名": "乙专家", "expert_id": "T2"}, ensure_ascii=False),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = list(read_rows(path, "experts"))
    assert [r.row for r in rows] == [1, 3, 4]
    assert rows[1].problem == "该行不是合法的JSON"
    assert rows[2].values["name"] == "乙专家"
