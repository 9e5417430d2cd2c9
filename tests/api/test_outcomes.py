"""Outcomes of pairings, expert feedback, and the quarterly report."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from models import AuditLog, ExpertFeedback, Outcome
from tests.api.conftest import World


def test_record_outcome_is_attributed_and_audited(
    client: TestClient, staff: dict[str, str], world: World, session_factory
) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/outcomes", headers=staff, json={
        "demand_id": world.battery_demand, "expert_id": world.battery_expert, "status": "visited",
        "notes": "  已到企业现场交流  "})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "visited" and body["notes"] == "已到企业现场交流"
    assert body["recorded_by"] == world.staff_id
    with session_factory() as s:
        outcome = s.get(Outcome, body["id"])
        assert outcome is not None and outcome.expert_id == world.battery_expert
        log = s.scalar(select(AuditLog).where(AuditLog.entity == "outcome"))
        assert log is not None
        assert (log.user_id, log.action, log.entity_id) == (world.staff_id, "create", body["id"])
        assert log.detail["status"] == "visited"

    listed = client.get(f"/outcomes?demand_id={world.battery_demand}", headers=staff).json()
    assert [o["id"] for o in listed["items"]] == [body["id"]]
    assert client.get("/outcomes?status=signed", headers=staff).json()["total"] == 0


def test_outcome_with_a_society(client: TestClient, staff: dict[str, str], world: World) -> None:
    r = client.post("/outcomes", headers=staff, json={
        "demand_id": world.tcm_demand, "society_id": world.tcm_society, "status": "contacted"})
    assert r.status_code == 201
    assert r.json()["society_id"] == world.tcm_society and r.json()["expert_id"] is None


def test_outcome_errors(client: TestClient, staff: dict[str, str], expert: dict[str, str], world: World) -> None:
    both = client.post("/outcomes", headers=staff, json={
        "demand_id": world.tcm_demand, "expert_id": world.tcm_expert, "society_id": world.tcm_society,
        "status": "signed"})
    assert both.status_code == 422
    assert both.json()["detail"][0]["field"] == "expert_id"
    neither = client.post("/outcomes", headers=staff, json={"demand_id": world.tcm_demand, "status": "signed"})
    assert neither.status_code == 422
    bad_status = client.post("/outcomes", headers=staff, json={
        "demand_id": world.tcm_demand, "expert_id": world.tcm_expert, "status": "married"})
    assert bad_status.status_code == 422
    [err] = bad_status.json()["detail"]
    assert err["field"] == "status" and "contacted" in err["reason"] and "not_a_fit" in err["reason"]
    missing = client.post("/outcomes", headers=staff, json={
        "demand_id": 9999, "expert_id": world.tcm_expert, "status": "signed"})
    assert missing.status_code == 404
    assert missing.json()["detail"] == [{"field": "demand_id", "reason": "技术需求 9999 不存在"}]
    no_expert = client.post("/outcomes", headers=staff, json={
        "demand_id": world.tcm_demand, "expert_id": 9999, "status": "signed"})
    assert no_expert.status_code == 404
    forbidden = client.post("/outcomes", headers=expert, json={
        "demand_id": world.battery_demand, "expert_id": world.battery_expert, "status": "signed"})
    assert forbidden.status_code == 403


def test_quarterly_report(
    client: TestClient, staff: dict[str, str], world: World, session_factory
) -> None:  # type: ignore[no-untyped-def]
    plan = [
        (world.battery_demand, world.battery_expert, "signed", datetime(2024, 2, 10, tzinfo=UTC)),
        (world.battery_demand, world.academician, "visited", datetime(2024, 3, 31, 23, 0, tzinfo=UTC)),
        (world.tcm_demand, world.tcm_expert, "signed", datetime(2024, 4, 1, 8, 0, tzinfo=UTC)),
        (world.software_demand, world.other_expert, "not_a_fit", datetime(2024, 11, 5, tzinfo=UTC)),
    ]
    for demand_id, expert_id, status, at in plan:
        r = client.post("/outcomes", headers=staff, json={
            "demand_id": demand_id, "expert_id": expert_id, "status": status})
        assert r.status_code == 201
        with session_factory() as s:
            s.execute(update(Outcome).where(Outcome.id == r.json()["id"]).values(recorded_at=at))
            s.commit()

    report = client.get("/reports/outcomes", headers=staff).json()
    assert report["total"] == 4
    assert report["by_status"] == {"contacted": 0, "visited": 1, "signed": 2, "not_a_fit": 1}
    quarters = {q["key"]: q for q in report["by_quarter"]}
    assert list(quarters) == ["2024Q1", "2024Q2", "2024Q4"]
    assert quarters["2024Q1"]["total"] == 2 and quarters["2024Q1"]["by_status"]["signed"] == 1
    cities = {c["key"]: c["total"] for c in report["by_city"]}
    assert cities == {"宁德市": 2, "漳州市": 1, "厦门市": 1}
    assert report["by_city"][0]["key"] == "宁德市"

    q1 = client.get("/reports/outcomes?from=2024-01-01&to=2024-03-31", headers=staff).json()
    assert q1["total"] == 2 and [q["key"] for q in q1["by_quarter"]] == ["2024Q1"]
    bad = client.get("/reports/outcomes?from=2024-05-01&to=2024-04-01", headers=staff)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "to"
    bad = client.get("/reports/outcomes?from=yesterday", headers=staff)
    assert bad.json()["detail"] == [{"field": "from", "reason": "日期格式应为 YYYY-MM-DD"}]


def test_expert_feedback(
    client: TestClient, expert: dict[str, str], staff: dict[str, str], world: World, session_factory
) -> None:  # type: ignore[no-untyped-def]
    recs = client.get(f"/experts/{world.battery_expert}/recommendations", headers=expert).json()["items"]
    assert recs[0]["id"] == str(world.battery_demand)
    r = client.post(f"/experts/{world.battery_expert}/feedback", headers=expert,
                    json={"demand_id": world.battery_demand, "choice": "declined", "note": "方向不符"})
    assert r.status_code == 201, r.text
    again = client.get(f"/experts/{world.battery_expert}/recommendations", headers=expert).json()["items"]
    assert str(world.battery_demand) not in [m["id"] for m in again]
    # changing one's mind updates the same row
    r = client.post(f"/experts/{world.battery_expert}/feedback", headers=expert,
                    json={"demand_id": world.battery_demand, "choice": "interested"})
    assert r.status_code == 201
    with session_factory() as s:
        rows = s.scalars(select(ExpertFeedback)).all()
        assert [(f.expert_id, f.demand_id, f.choice) for f in rows] == [
            (world.battery_expert, world.battery_demand, "interested")]
        audits = s.scalars(select(AuditLog).where(AuditLog.entity == "expert_feedback")).all()
        assert len(audits) == 2 and all(a.user_id == world.expert_user_id for a in audits)
    bad = client.post(f"/experts/{world.battery_expert}/feedback", headers=expert,
                      json={"demand_id": world.battery_demand, "choice": "maybe"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "choice"
    # an unknown id is, to an expert, one more demand not recommended to them (as on GET /demands/{id});
    # staff are told it does not exist
    gone = client.post(f"/experts/{world.battery_expert}/feedback", headers=expert,
                       json={"demand_id": 9999, "choice": "declined"})
    assert gone.status_code == 403
    gone = client.post(f"/experts/{world.battery_expert}/feedback", headers=staff,
                       json={"demand_id": 9999, "choice": "declined"})
    assert gone.status_code == 404 and gone.json()["detail"][0]["field"] == "demand_id", gone.text


def test_staff_see_feedback_on_the_demand(
    client: TestClient, staff: dict[str, str], expert: dict[str, str], world: World
) -> None:
    client.post(f"/experts/{world.battery_expert}/feedback", headers=expert,
                json={"demand_id": world.battery_demand, "choice": "interested", "note": "可以下周走访"})
    r = client.get(f"/demands/{world.battery_demand}/feedback", headers=staff)
    assert r.status_code == 200
    assert [(f["expert_id"], f["choice"], f["note"]) for f in r.json()] == [
        (world.battery_expert, "interested", "可以下周走访")]
    assert client.get(f"/demands/{world.battery_demand}/feedback", headers=expert).status_code == 403
    assert client.get("/demands/9999/feedback", headers=staff).status_code == 404
