"""存在不足 written by staff on the 报表 page or through the API: stored per quarter,
form and row (report_notes), shown on the next visit, used by every export,
audited; bad text is a 422 naming the field (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from models import AuditLog, ReportNote
from tests.api.conftest import World
from tests.api.test_reports import QUARTER, _planned_event
from tests.api.test_web_pages import csrf_of, web_login

NOTE = "部分专家行程冲突，两家企业的走访推迟到下季度。"


def _api_xlsx_e5(client: TestClient, staff: dict[str, str]) -> Any:
    got = client.get("/reports/quarterly.xlsx", headers=staff, params={"quarter": QUARTER.key, "form": "附件2"})
    assert got.status_code == 200, got.text
    return load_workbook(io.BytesIO(got.content)).active["E5"].value


def test_saved_shortfall_is_kept_exported_and_audited(
    client: TestClient, staff: dict[str, str], world: World, session_factory: Any
) -> None:
    plan = _planned_event(client, staff)
    generated = f"尚有{len(plan['items'])}对计划对接未走访。"
    key = f"event:{plan['event_id']}"
    web_login(client, "staff", "staff123")
    page = client.get("/web/reports", params={"quarter": QUARTER.key})
    assert f'name="row_key_0" value="{key}"' in page.text and generated in page.text
    r = client.post("/web/reports/notes", follow_redirects=False, data={
        "csrf": csrf_of(page.text), "quarter": QUARTER.key, "form": "附件2", "unit": "",
        "filled_on": "", "row_key_0": key, "shortfall_0": f"  {NOTE}\r\n"})
    assert r.status_code == 303 and "saved=1" in r.headers["location"], r.headers
    again = client.get(r.headers["location"])
    assert again.status_code == 200
    assert f">{NOTE}</textarea>" in again.text and "存在不足已保存" in again.text
    assert "staff 保存于" in again.text and f"按数据生成：{generated}" in again.text
    # the API export and the JSON read use the saved text
    assert _api_xlsx_e5(client, staff) == NOTE
    rows = client.get("/reports/quarterly", headers=staff, params={"quarter": QUARTER.key}).json()["rows"]
    assert (rows[0]["key"], rows[0]["shortfall"], rows[0]["generated"], rows[0]["saved_by"]) == (
        key, NOTE, generated, "staff")
    with session_factory() as s:
        notes = s.scalars(select(ReportNote)).all()
        assert [(n.quarter, n.form, n.row_key, n.text, n.updated_by) for n in notes] == [
            (QUARTER.key, "附件2", key, NOTE, "staff")]
        log = s.scalars(select(AuditLog).where(AuditLog.entity == "report_note")).all()
        assert [(a.action, a.entity_id, a.detail["row_key"]) for a in log] == [("update", notes[0].id, key)]
    # saving the same text again writes nothing; the generated text removes the note
    client.post("/web/reports/notes", data={"csrf": csrf_of(again.text), "quarter": QUARTER.key,
                                            "row_key_0": key, "shortfall_0": NOTE})
    client.post("/web/reports/notes", data={"csrf": csrf_of(again.text), "quarter": QUARTER.key,
                                            "row_key_0": key, "shortfall_0": generated})
    assert _api_xlsx_e5(client, staff) == generated
    with session_factory() as s:
        assert s.scalars(select(ReportNote)).all() == []
        assert [a.action for a in s.scalars(select(AuditLog).where(AuditLog.entity == "report_note")
                                            .order_by(AuditLog.id))] == ["update", "delete"]


def test_export_saves_what_it_exports(client: TestClient, staff: dict[str, str], world: World) -> None:
    plan = _planned_event(client, staff)
    web_login(client, "staff", "staff123")
    page = client.get("/web/reports", params={"quarter": QUARTER.key})
    r = client.post("/web/reports/quarterly.xlsx", data={
        "csrf": csrf_of(page.text), "quarter": QUARTER.key, "form": "附件2", "unit": "宁德市科协",
        "filled_on": "2026-12-19", "row_key_0": f"event:{plan['event_id']}", "shortfall_0": NOTE})
    assert r.status_code == 200
    assert load_workbook(io.BytesIO(r.content)).active["E5"].value == NOTE
    assert _api_xlsx_e5(client, staff) == NOTE
    assert f">{NOTE}</textarea>" in client.get("/web/reports", params={"quarter": QUARTER.key}).text


def test_api_writes_notes_and_refuses_bad_text(
    client: TestClient, staff: dict[str, str], expert: dict[str, str], world: World, session_factory: Any
) -> None:
    plan = _planned_event(client, staff)
    key = f"event:{plan['event_id']}"
    body = {"quarter": QUARTER.key, "form": "附件2", "notes": {key: NOTE}}
    assert client.put("/reports/quarterly/notes", headers=expert, json=body).status_code == 403
    ok = client.put("/reports/quarterly/notes", headers=staff, json=body)
    assert ok.status_code == 200, ok.text
    assert ok.json()["rows"][0]["shortfall"] == NOTE and ok.json()["title"].endswith("院士专家服务活动统计表")
    assert _api_xlsx_e5(client, staff) == NOTE

    too_long = client.put("/reports/quarterly/notes", headers=staff,
                          json={**body, "notes": {key: "字" * 2001}})
    assert too_long.status_code == 422
    assert too_long.json()["detail"][0]["field"] == f"notes.{key}" and "2000" in too_long.text
    control = client.put("/reports/quarterly/notes", headers=staff, json={**body, "notes": {key: "推迟\x07"}})
    assert control.status_code == 422 and "控制字符" in control.text and "notes" in control.text
    unknown = client.put("/reports/quarterly/notes", headers=staff, json={**body, "notes": {"event:999999": "x"}})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["field"] == "notes.event:999999"
    bad_q = client.put("/reports/quarterly/notes", headers=staff, json={**body, "quarter": "2026Q9"})
    assert bad_q.status_code == 422 and bad_q.json()["detail"][0]["field"] == "quarter"
    assert _api_xlsx_e5(client, staff) == NOTE  # nothing of the refused writes was stored

    # on the page: the same checks, the page again with what was typed and the field named
    web_login(client, "staff", "staff123")
    page = client.get("/web/reports", params={"quarter": QUARTER.key})
    r = client.post("/web/reports/quarterly.xlsx", data={
        "csrf": csrf_of(page.text), "quarter": QUARTER.key, "unit": "福建省科协", "row_key_0": key,
        "shortfall_0": "走访\x0b推迟"})
    assert r.status_code == 422 and "shortfall_0" in r.text and "控制字符" in r.text
    assert 'aria-invalid="true"' in r.text and 'value="福建省科协"' in r.text
    long_page = client.post("/web/reports/notes", data={
        "csrf": csrf_of(page.text), "quarter": QUARTER.key, "row_key_0": key, "shortfall_0": "字" * 2500})
    assert long_page.status_code == 422 and "不能超过2000个字符" in long_page.text
    with session_factory() as s:
        assert [n.text for n in s.scalars(select(ReportNote))] == [NOTE]
