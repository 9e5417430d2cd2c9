"""Exports of a stored plan: the workbook opens, is readable and keeps contacts
out unless asked; CSV and JSON parse."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from kejie.events import plan_event
from kejie.events.export import collect, export_match_list
from kejie.events.sheets import sheet_title
from matcher.errors import InfeasiblePlan
from models import Event, MatchList
from tests.factories import make_demand, make_enterprise, make_expert, make_society

PHONE = "13911112222"
EXPERT_PHONE = "13700001111"


def scorer(
    session: Session, demand_ids: list[int], kind: str, cand_ids: list[int]
) -> tuple[np.ndarray, Callable[[int, int], list[str]]]:
    s = np.array([[0.5 + ((d * 7 + c * 3) % 10) / 25 for c in cand_ids] for d in demand_ids])

    def reasons(i: int, j: int) -> list[str]:
        return ["研究方向“表面包覆改性”与需求相符", f"共同关键词：正极材料（{kind}#{cand_ids[j]}）"]

    return s, reasons


@pytest.fixture
def planned(session: Session) -> MatchList:
    long_name = "福建[测试]:新材料*科技?有限/公司\\超长名称用于检验工作表名称截断是否正确处理"
    ent1 = make_enterprise(
        session,
        name="福州锂电新材料有限公司",
        city="福州市",
        county="闽侯县",
        address="闽侯县上街镇1号",
    )
    ent2 = make_enterprise(session, name=long_name, city="福州市")
    for ent in (ent1, ent1, ent2):
        make_demand(
            session, ent, mobile=PHONE, office_phone="0591-8888888", email="rd@corp.example"
        )
    make_expert(
        session, name="张三", affiliation="福州大学", mobile=EXPERT_PHONE, is_academician=True
    )
    make_expert(session, name="张三", affiliation="厦门大学", mobile=EXPERT_PHONE)
    make_expert(session, name="李四", affiliation="福建师范大学")
    make_society(session, name="福建省材料学会")
    ev = Event(
        name="院士八闽行·福州站",
        starts_on=date(2025, 6, 1),
        ends_on=date(2025, 6, 3),
        regions=["福州市"],
        include_societies=True,
        max_experts_per_demand=2,
    )
    session.add(ev)
    session.commit()
    return plan_event(session, ev.id, scorer)


def _all_text(path: Path) -> str:
    wb = load_workbook(path)
    return "\n".join(
        str(c.value)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.value is not None
    )


def test_xlsx_has_readable_sheets(session: Session, planned: MatchList, tmp_path: Path) -> None:
    (path,) = export_match_list(session, planned, tmp_path, ["xlsx"])
    assert path.name == f"event{planned.event_id}_v1.xlsx"
    wb = load_workbook(path)
    names = wb.sheetnames
    assert names[:2] == ["汇总", "对接总表"]
    assert "专家-张三" in names and "专家-张三~2" in names and "专家-李四" in names
    assert "学会-福建省材料学会" in names
    assert "企业-福州锂电新材料有限公司" in names
    for name in names:
        assert len(name) <= 31 and not re.search(r"[\[\]:*?/\\]", name)
    assert len({n.casefold() for n in names}) == len(names)
    long_sheet = [n for n in names if n.startswith("企业-福建测试")]
    assert len(long_sheet) == 1 and len(long_sheet[0]) == 31

    flat = wb["对接总表"]
    headers = [c.value for c in flat[1]]
    assert headers[:4] == ["需求编号", "技术需求名称", "企业名称", "设区市"]
    assert "匹配理由" in headers and "企业联系人" not in headers and "联系人手机" not in headers
    assert flat.freeze_panes == "A2"
    assert flat.max_row - 1 == len(planned.items)

    expert_sheet = wb["专家-李四"]
    assert expert_sheet["A1"].value.startswith("专家 李四（福建师范大学")
    assert [c.value for c in expert_sheet[2]][:4] == [
        "序号",
        "日程",
        "企业名称",
        "需求编号",
    ]
    assert expert_sheet.freeze_panes == "A3"
    reason_col = [c.value for c in expert_sheet[2]].index("匹配理由") + 1
    cell = expert_sheet.cell(row=3, column=reason_col)
    assert cell.value.split("\n")[0] == "研究方向“表面包覆改性”与需求相符"
    assert cell.alignment.wrap_text
    letter = cell.column_letter
    assert expert_sheet.column_dimensions[letter].width >= 40

    ent_sheet = wb["企业-福州锂电新材料有限公司"]
    assert "闽侯县上街镇1号" in ent_sheet["A1"].value
    ent_headers = [c.value for c in ent_sheet[2]]
    assert {"专家/学会", "工作单位", "院士", "匹配度", "匹配理由"} <= set(ent_headers)
    academician_rows = [
        r
        for r in flat.iter_rows(min_row=2, values_only=True)
        if r[headers.index("工作单位")] == "福州大学"
    ]
    assert academician_rows and all(r[headers.index("院士")] == "是" for r in academician_rows)

    summary = wb["汇总"]
    facts = {r[0].value: r[1].value for r in summary.iter_rows(min_row=2, max_row=15)}
    assert facts["活动"] == "院士八闽行·福州站"
    assert facts["日期"] == "2025年6月1日 至 2025年6月3日"
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d", facts["生成时间"])
    assert facts["对接总数"] == len(planned.items)
    assert facts["状态"] == "已排定"


def test_every_planned_pair_is_on_its_expert_and_enterprise_sheet(
    session: Session, planned: MatchList, tmp_path: Path
) -> None:
    (path,) = export_match_list(session, planned, tmp_path, ["xlsx"])
    wb = load_workbook(path)
    data = collect(session, planned)
    on_candidate_sheets = sum(
        ws.max_row - 2 for ws in wb.worksheets if ws.title.startswith(("专家-", "学会-"))
    )
    on_enterprise_sheets = sum(
        ws.max_row - 2 for ws in wb.worksheets if ws.title.startswith("企业-")
    )
    assert on_candidate_sheets == on_enterprise_sheets == len(data.rows) == len(planned.items)


def test_contacts_only_when_asked(session: Session, planned: MatchList, tmp_path: Path) -> None:
    public = export_match_list(session, planned, tmp_path / "pub", ["xlsx", "csv", "json"])
    for path in public:
        text = _all_text(path) if path.suffix == ".xlsx" else path.read_text(encoding="utf-8-sig")
        assert PHONE not in text and EXPERT_PHONE not in text and "rd@corp.example" not in text, (
            path
        )
    staff = export_match_list(
        session, planned, tmp_path / "staff", ["xlsx", "csv", "json"], include_contacts=True
    )
    assert all("_staff" in p.name for p in staff)
    for path in staff:
        text = _all_text(path) if path.suffix == ".xlsx" else path.read_text(encoding="utf-8-sig")
        assert PHONE in text and "rd@corp.example" in text, path
    wb = load_workbook(staff[0])
    flat_headers = [c.value for c in wb["对接总表"][1]]
    assert {"企业联系人", "联系人手机", "办公电话", "电子邮箱", "专家手机"} <= set(flat_headers)
    visit_headers = [c.value for c in wb["专家-李四"][2]]
    assert "联系人手机" in visit_headers


def test_csv_has_bom_and_parses(session: Session, planned: MatchList, tmp_path: Path) -> None:
    (path,) = export_match_list(session, planned, tmp_path, ["csv"])
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(planned.items)
    assert rows[0]["活动编号"] == str(planned.event_id) and rows[0]["清单版本"] == "1"
    assert {r["对接方类型"] for r in rows} == {"专家", "学会"}
    assert all(
        r["匹配理由"].startswith("研究方向“表面包覆改性”与需求相符；共同关键词") for r in rows
    )
    assert {int(r["需求编号"]) for r in rows} == {it.demand_id for it in planned.items}


def test_json_parses(session: Session, planned: MatchList, tmp_path: Path) -> None:
    (path,) = export_match_list(session, planned, tmp_path, ["json"])
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["event"]["name"] == "院士八闽行·福州站"
    assert doc["match_list"]["version"] == 1 and doc["include_contacts"] is False
    assert len(doc["items"]) == len(planned.items)
    first = doc["items"][0]
    assert isinstance(first["reasons"], list) and first["kind"] in ("expert", "society")
    assert "mobile" not in first
    pairs = {(i["demand_id"], i["kind"], i["candidate_id"]) for i in doc["items"]}
    expected = {
        (it.demand_id, "expert" if it.expert_id else "society", it.expert_id or it.society_id)
        for it in planned.items
    }
    assert pairs == expected


def test_infeasible_list_exports_its_message(session: Session, tmp_path: Path) -> None:
    make_demand(session, make_enterprise(session))
    ev = Event(name="无人可派", starts_on=date(2025, 6, 1), min_experts_per_demand=1)
    session.add(ev)
    session.commit()
    with pytest.raises(InfeasiblePlan) as err:
        plan_event(session, ev.id, scorer)
    xlsx, js = export_match_list(session, err.value.match_list_id, tmp_path, ["xlsx", "json"])  # type: ignore[arg-type]
    wb = load_workbook(xlsx)
    facts = {r[0].value: r[1].value for r in wb["汇总"].iter_rows(min_row=2, max_row=15)}
    assert facts["状态"] == "无法排定" and facts["说明"] == str(err.value)
    assert json.loads(js.read_text(encoding="utf-8"))["items"] == []


def test_unknown_format_is_rejected(session: Session, planned: MatchList, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pdf"):
        export_match_list(session, planned, tmp_path, ["pdf"])


def test_sheet_title_rules() -> None:
    used: set[str] = set()
    assert sheet_title("a[b]c:d*e?f/g\\h", used) == "abcdefgh"
    assert sheet_title("ABCDEFGH", used) == "ABCDEFGH~2"  # Excel compares case-insensitively
    long = "很" * 40
    first, second = sheet_title(long, used), sheet_title(long, used)
    assert first == "很" * 31 and second == "很" * 29 + "~2" and len(second) == 31
    assert sheet_title("'引号'", used) == "引号"
    assert sheet_title("[]:*?", used) == "Sheet"
    assert sheet_title("History", used) == "History~2"
