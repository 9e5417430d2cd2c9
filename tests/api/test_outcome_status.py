"""Recording 已走访 / 已签约 moves the demand's status forward, never back, and says so."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import World


def _record(client: TestClient, staff: dict[str, str], world: World, status: str) -> dict:  # type: ignore[type-arg]
    r = client.post("/outcomes", headers=staff, json={
        "demand_id": world.battery_demand, "expert_id": world.battery_expert, "status": status})
    assert r.status_code == 201, r.text
    return r.json()


def _status(client: TestClient, staff: dict[str, str], world: World) -> str:
    return client.get(f"/demands/{world.battery_demand}", headers=staff).json()["status"]


def test_outcomes_move_the_status_forward_only(client: TestClient, staff: dict[str, str], world: World) -> None:
    assert _status(client, staff, world) == "open"
    out = _record(client, staff, world, "visited")
    assert out["status_change"] == "需求状态由“待对接”变为“对接中”"
    assert _status(client, staff, world) == "in_progress"
    assert _record(client, staff, world, "contacted")["status_change"] == ""  # never back
    assert _status(client, staff, world) == "in_progress"
    assert _record(client, staff, world, "signed")["status_change"].endswith("“已解决”")
    assert _status(client, staff, world) == "solved"
    assert _record(client, staff, world, "not_a_fit")["status_change"] == ""
    assert _status(client, staff, world) == "solved"
