"""Events: create, plan into a versioned list, read and download the plan."""

from __future__ import annotations

import csv
import io
import json

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.api.conftest import World


def _event(client: TestClient, staff: dict[str, str], **kw: object) -> dict:  # type: ignore[type-arg]
    body = {"name": "院士八闽行·宁德站", "event_type": "院士八闽行", "starts_on": "2030-05-10",
            "max_experts_per_demand": 2, **kw}
    r = client.post("/events", headers=staff, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_create_and_list_events(client: TestClient, staff: dict[str, str], expert: dict[str, str]) -> None:
    ev = _event(client, staff, regions=["宁德市", "宁德市", ""])
    assert ev["regions"] == ["宁德市"]
    assert client.get("/events", headers=staff).json()["total"] == 1
    assert client.get(f"/events/{ev['id']}", headers=expert).status_code == 200
    assert client.post("/events", headers=expert, json={"name": "x", "starts_on": "2030-01-01"}).status_code == 403
    r = client.post("/events", headers=staff, json={
        "name": "x", "starts_on": "2030-05-10", "ends_on": "2030-05-01",
        "min_experts_per_demand": 3, "max_experts_per_demand": 1})
    assert r.status_code == 422
    detail = {d["field"]: d["reason"] for d in r.json()["detail"]}
    assert detail == {"ends_on": "结束日期不能早于开始日期",
                      "max_experts_per_demand": "每个需求最多专家数不能小于最少专家数"}


def test_plan_then_download(client: TestClient, staff: dict[str, str], expert: dict[str, str], world: World) -> None:
    ev = _event(client, staff)
    assert client.get(f"/events/{ev['id']}/plan", headers=staff).status_code == 404
    r = client.post(f"/events/{ev['id']}/plan", headers=staff)
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["version"] == 1 and plan["status"] == "planned" and plan["items"]
    battery = [i for i in plan["items"] if i["demand_id"] == world.battery_demand]
    assert battery and battery[0]["expert_name"] == "李电池" and battery[0]["reasons"]
    assert set(plan["downloads"]) == {"xlsx", "csv", "json"}

    again = client.post(f"/events/{ev['id']}/plan", headers=staff)
    assert again.status_code == 200 and again.json()["version"] == 1  # nothing changed: same version
    assert client.get(f"/events/{ev['id']}/plan", headers=staff).json()["id"] == plan["id"]
    assert client.post(f"/events/{ev['id']}/plan", headers=expert).status_code == 403
    assert client.post("/events/9999/plan", headers=staff).status_code == 404

    xlsx = client.get(plan["downloads"]["xlsx"], headers=staff)
    assert xlsx.status_code == 200
    assert "attachment" in xlsx.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert len(wb.sheetnames) >= 2

    csv_resp = client.get(f"/events/{ev['id']}/plan.csv", headers=staff)
    rows = list(csv.reader(io.StringIO(csv_resp.content.decode("utf-8-sig"))))
    assert len(rows) == len(plan["items"]) + 1
    assert "13912345678" not in csv_resp.text  # no contacts unless asked for
    with_contacts = client.get(f"/events/{ev['id']}/plan.csv?contacts=true", headers=staff)
    assert "13912345678" in with_contacts.content.decode("utf-8-sig")

    data = json.loads(client.get(f"/events/{ev['id']}/plan.json", headers=staff).content)
    assert len(data["items"]) == len(plan["items"])
    assert client.get(f"/events/{ev['id']}/plan.json", headers=expert).status_code == 403
    assert client.get(f"/events/{ev['id']}/plan.pdf", headers=staff).status_code == 422
    assert client.get(f"/events/{ev['id']}/plan.json?version=7", headers=staff).status_code == 404


def test_infeasible_plan_is_409_with_reasons(client: TestClient, staff: dict[str, str]) -> None:
    ev = _event(client, staff, min_experts_per_demand=6, max_experts_per_demand=6)
    r = client.post(f"/events/{ev['id']}/plan", headers=staff)
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["detail"].startswith("无法排定") and body["problems"]
    stored = client.get(f"/events/{ev['id']}/plan", headers=staff).json()
    assert stored["status"] == "infeasible" and stored["version"] == body["version"]
