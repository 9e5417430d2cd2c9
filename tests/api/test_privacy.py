"""Contact data (phones, e-mail, fax) is staff-only; experts see only their own things."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.api.conftest import World

# every phone number and e-mail in the world fixture except the logged-in expert's own
OTHER_PEOPLES_CONTACTS = [
    "13912345678", "0593-2345678", "0593-2345679", "chen@ndxny.example.com",
    "13700001111", "lin@pzh.example.com", "13600002222", "it@yuntu.example.com",
    "13800138001", "wang@fjtcm.example.edu.cn", "13800138002", "zhang@xmu.example.edu.cn",
    "13800138003", "zhao@xmut.example.edu.cn",
]
CONTACT_KEYS = {"mobile", "office_phone", "fax", "email", "contact_name", "address", "postcode"}


def _keys(obj: object) -> set[str]:
    if isinstance(obj, dict):
        return set(obj) | {k for v in obj.values() for k in _keys(v)}
    if isinstance(obj, list):
        return {k for v in obj for k in _keys(v)}
    return set()


def _assert_no_contacts(response_text: str) -> None:
    for value in OTHER_PEOPLES_CONTACTS:
        assert value not in response_text, value
    assert not CONTACT_KEYS & _keys(json.loads(response_text))


def test_expert_sees_demands_without_contacts(client: TestClient, expert: dict[str, str], world: World) -> None:
    listing = client.get("/demands", headers=expert)
    assert listing.status_code == 200
    assert listing.json()["total"] == 3
    _assert_no_contacts(listing.text)
    one = client.get(f"/demands/{world.battery_demand}", headers=expert)
    assert one.status_code == 200
    _assert_no_contacts(one.text)
    # the phone number typed into the free text is masked too
    assert "联系方式已隐藏" in one.json()["description"]


def test_staff_sees_contacts(client: TestClient, staff: dict[str, str], world: World) -> None:
    one = client.get(f"/demands/{world.battery_demand}", headers=staff).json()
    assert one["mobile"] == "13912345678"
    assert one["fax"] == "0593-2345679"
    assert one["email"] == "chen@ndxny.example.com"
    assert "13912345678" in one["description"]
    ent = client.get(f"/enterprises/{world.battery_enterprise}", headers=staff).json()
    assert "address" in ent and ent["demand_count"] == 1


def test_expert_sees_enterprises_without_address(client: TestClient, expert: dict[str, str], world: World) -> None:
    r = client.get(f"/enterprises/{world.battery_enterprise}", headers=expert)
    assert r.status_code == 200
    assert "address" not in r.json() and "postcode" not in r.json()
    _assert_no_contacts(client.get("/enterprises", headers=expert).text)


def test_expert_only_own_profile_and_recommendations(
    client: TestClient, expert: dict[str, str], world: World
) -> None:
    own = client.get(f"/experts/{world.battery_expert}", headers=expert)
    assert own.status_code == 200
    assert own.json()["mobile"] == "13800138000"  # their own number is theirs to see
    for other in (world.tcm_expert, world.academician):
        assert client.get(f"/experts/{other}", headers=expert).status_code == 403
        assert client.get(f"/experts/{other}/recommendations", headers=expert).status_code == 403
        r = client.post(f"/experts/{other}/feedback", headers=expert,
                        json={"demand_id": world.tcm_demand, "choice": "interested"})
        assert r.status_code == 403
    assert client.get("/experts", headers=expert).status_code == 403
    assert client.get(f"/demands/{world.battery_demand}/matches", headers=expert).status_code == 403

    recs = client.get(f"/experts/{world.battery_expert}/recommendations", headers=expert)
    assert recs.status_code == 200
    items = recs.json()["items"]
    assert items and items[0]["id"] == str(world.battery_demand)
    assert all(i["kind"] == "demand" for i in items)
    _assert_no_contacts(recs.text)


def test_expert_403_even_for_unknown_other_ids(client: TestClient, expert: dict[str, str]) -> None:
    # role is checked before existence: probing ids tells an expert nothing
    assert client.get("/experts/99999", headers=expert).status_code == 403


def test_staff_matches_carry_no_contacts(client: TestClient, staff: dict[str, str], world: World) -> None:
    r = client.get(f"/demands/{world.battery_demand}/matches?kind=experts", headers=staff)
    assert r.status_code == 200
    text = r.text
    for value in ("13800138000", "li@fzu.example.edu.cn", "13800138002"):
        assert value not in text
    assert not {"mobile", "email"} & _keys(r.json())
