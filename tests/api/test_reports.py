"""Quarterly 附件2/附件3 统计表 as XLSX (checked cell by cell), due dates and the
editable 存在不足 on the 报表 page, demand and match lists as XLSX, and a reversed
date range as a 422 naming the field (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from kejie.reports.quarterly import Quarter
from tests.api.conftest import World
from tests.api.test_web_pages import csrf_of, web_login

TODAY = date.today()
QUARTER = Quarter(TODAY.year, (TODAY.month - 1) // 3 + 1)


def _planned_event(client: TestClient, staff: dict[str, str], **kw: Any) -> dict[str, Any]:
    body = {"name": "院士八闽行·宁德站", "event_type": "院士八闽行", "starts_on": QUARTER.start.isoformat(),
            "ends_on": QUARTER.start.isoformat(), "max_experts_per_demand": 1, **kw}
    ev = client.post("/events", headers=staff, json=body)
    assert ev.status_code == 201, ev.text
    plan = client.post(f"/events/{ev.json()['id']}/plan", headers=staff)
    assert plan.status_code == 201, plan.text
    return plan.json()


def _outcome(client: TestClient, staff: dict[str, str], item: dict[str, Any], status: str) -> None:
    r = client.post("/outcomes", headers=staff, json={
        "demand_id": item["demand_id"], "expert_id": item["expert_id"], "match_item_id": item["id"], "status": status})
    assert r.status_code == 201, r.text


def _sheet(content: bytes) -> Any:
    return load_workbook(io.BytesIO(content)).active


def test_quarterly_form_cell_by_cell(client: TestClient, staff: dict[str, str], world: World) -> None:
    plan = _planned_event(client, staff)
    items = [i for i in plan["items"] if i["expert_id"]]
    planned = len(plan["items"])
    assert planned >= 2
    _outcome(client, staff, items[0], "visited")
    _outcome(client, staff, items[0], "signed")
    # an outcome of a pair outside any plan goes to its own row
    r = client.post("/outcomes", headers=staff, json={
        "demand_id": world.tcm_demand, "society_id": world.materials_society, "status": "contacted"})
    assert r.status_code == 201
    got = client.get("/reports/quarterly.xlsx", headers=staff, params={
        "quarter": QUARTER.key, "form": "附件2", "unit": "宁德市科协", "filled_on": "2026-12-18"})
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = _sheet(got.content)
    assert ws["A1"].value == "附件2"
    assert ws["A2"].value == f"{QUARTER.label}院士专家服务活动统计表"
    assert ws["A3"].value == "填报单位：宁德市科协" and ws["D3"].value == "填报时间：2026年12月18日"
    assert [c.value for c in ws[4]] == ["序号", "活动名称", "活动内容", "主要成效（含宣传工作情况）", "存在不足"]
    assert [ws.cell(5, c).value for c in (1, 2)] == [1, "院士八闽行·宁德站"]
    assert ws["C5"].value.startswith("院士八闽行，") and "全省" in ws["C5"].value and "对接方案第1版" in ws["C5"].value
    assert ws["D5"].value == f"计划对接{planned}对，已联系0次，走访1次，签约1项。"
    assert ws["E5"].value == f"尚有{planned - 1}对计划对接未走访。"
    assert [ws.cell(6, c).value for c in (1, 2)] == [2, "日常供需对接（不属于活动）"]
    assert ws["D6"].value == "已联系1次，走访0次，签约0项。"
    assert ws.max_row == 6
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$1:$4"
    # 附件3 holds only 学会服务站 days
    station = client.get("/reports/quarterly.xlsx", headers=staff, params={"quarter": QUARTER.key, "form": "附件3"})
    ws3 = _sheet(station.content)
    assert ws3["A2"].value == f"{QUARTER.label}学会服务站活动统计表" and ws3.max_row == 4


def test_report_page_edits_shortfalls_and_shows_due_dates(client: TestClient, staff: dict[str, str],
                                                         world: World) -> None:
    _planned_event(client, staff)
    web_login(client, "staff", "staff123")
    page = client.get("/web/reports", params={"quarter": QUARTER.key})
    assert page.status_code == 200
    assert "3月20日" in page.text and "6月20日" in page.text and "9月20日" in page.text and "12月20日" in page.text
    assert 'name="shortfall_0"' in page.text and "未走访" in page.text
    r = client.post("/web/reports/quarterly.xlsx", data={
        "csrf": csrf_of(page.text), "quarter": QUARTER.key, "form": "附件2", "unit": "福建省科协",
        "filled_on": "2026-12-19", "shortfall_0": "=部分专家行程冲突，走访推迟到下季度。"})
    assert r.status_code == 200
    ws = _sheet(r.content)
    assert ws["E5"].value == "'=部分专家行程冲突，走访推迟到下季度。" and ws["E5"].data_type == "s"
    assert ws["A3"].value == "填报单位：福建省科协"
    assert client.post("/web/reports/quarterly.xlsx", data={"csrf": "x", "quarter": QUARTER.key}).status_code == 403


def test_bad_quarter_and_reversed_range_are_422_naming_the_field(client: TestClient, staff: dict[str, str]) -> None:
    bad = client.get("/reports/quarterly.xlsx", headers=staff, params={"quarter": "2026Q5"})
    assert bad.status_code == 422 and "quarter" in bad.text
    rev = client.get("/reports/outcomes", headers=staff, params={"from": "2026-12-31", "to": "2026-10-01"})
    assert rev.status_code == 422
    assert "to" in str(rev.json()) and "不能早于" in rev.text
    web_login(client, "staff", "staff123")
    page = client.get("/web/reports", params={"from": "2026-12-31", "to": "2026-10-01"})
    assert page.status_code == 422 and "不能早于" in page.text


def test_demand_and_match_lists_as_xlsx(client: TestClient, staff: dict[str, str], expert: dict[str, str],
                                       world: World) -> None:
    r = client.get("/reports/demands.xlsx", headers=staff, params={"city": "宁德市"})
    assert r.status_code == 200
    ws = _sheet(r.content)
    assert ws["A1"].value == "技术需求清单"
    header = [c.value for c in ws[2]]
    assert header[:3] == ["编号", "单位名称", "设区市"] and "手机" in header
    assert ws.max_row == 3 and ws["F3"].value == "高镍三元正极材料循环寿命提升"
    assert ws.cell(3, header.index("手机") + 1).value == "13912345678"
    m = client.get(f"/reports/demands/{world.battery_demand}/matches.xlsx", headers=staff, params={"top_k": 3})
    assert m.status_code == 200
    ws = _sheet(m.content)
    assert [c.value for c in ws[2]][:3] == ["排名", "名称", "匹配分"] and ws["B3"].value == "李电池"
    assert client.get("/reports/demands.xlsx", headers=expert).status_code == 403
    assert client.get("/reports/demands/999999/matches.xlsx", headers=staff).status_code == 404
