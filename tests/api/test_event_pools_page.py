"""The event page lets staff choose the candidate pools, slots and available
days; the plan then shows dates and slots (SQLite and PostgreSQL)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import World
from tests.api.test_web_pages import csrf_of, web_login


def _event(client: TestClient, **kw: object) -> int:
    body = {"name": "院士八闽行", "starts_on": "2030-06-01", "ends_on": "2030-06-03", **kw}
    r = client.post("/web/events", data={"csrf": csrf_of(client.get("/web/events").text), **body},
                    follow_redirects=False)
    assert r.status_code == 303
    return int(r.headers["location"].rsplit("/", 1)[1])


def test_pools_and_itinerary_from_the_event_page(client: TestClient, world: World) -> None:
    web_login(client, "staff", "staff123")
    event_id = _event(client, academicians_only="true")
    page = client.get(f"/web/events/{event_id}")
    assert "，仅院士" in page.text and 'id="pools"' in page.text
    token = csrf_of(page.text)
    r = client.post(f"/web/events/{event_id}/pools", data={
        "csrf": token, "invite_all": "false", "expert_ids": [str(world.battery_expert), str(world.academician)],
        f"limit_days_{world.battery_expert}": "1", f"days_{world.battery_expert}": ["2030-06-02"],
        "day_slots": "上午、下午", "expert_slot_limit": "1", "slot_limit": "4",
    }, follow_redirects=False)
    assert r.status_code == 303 and "pools_saved" in r.headers["location"]
    ev = client.get(f"/events/{event_id}").json()
    assert ev["invite_all"] is False and ev["academicians_only"] is False
    assert ev["slot_limit"] == 4 and ev["day_slots"] == ["上午", "下午"]
    page = client.get(f"/web/events/{event_id}")
    assert "仅邀请名单" in page.text
    r = client.post(f"/web/events/{event_id}/plan", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    plan = client.get(f"/events/{event_id}/plan").json()
    assert plan["items"]
    assert {i["expert_id"] for i in plan["items"]} <= {world.battery_expert, world.academician}
    for i in plan["items"]:
        if i["expert_id"] == world.battery_expert:
            assert i["visit_date"] == "2030-06-02" and i["slot"] in ("上午", "下午")
    assert "日程：3 天" in plan["message"]
    assert "6月" in client.get(f"/web/events/{event_id}").text


def test_pool_settings_that_make_no_sense_are_refused(client: TestClient, world: World) -> None:
    web_login(client, "staff", "staff123")
    event_id = _event(client)
    token = csrf_of(client.get(f"/web/events/{event_id}").text)
    bad_day = client.post(f"/web/events/{event_id}/pools", data={
        "csrf": token, "invite_all": "true", "expert_ids": [str(world.battery_expert)],
        f"limit_days_{world.battery_expert}": "1", f"days_{world.battery_expert}": ["2031-01-01"],
        "day_slots": "上午、下午"})
    assert bad_day.status_code == 422 and "不在活动日期内" in bad_day.text
    no_slots = client.post(f"/web/events/{event_id}/pools", data={"csrf": token, "day_slots": " "})
    assert no_slots.status_code == 422 and "时段" in no_slots.text
    unknown = client.post(f"/web/events/{event_id}/pools", data={"csrf": token, "expert_ids": ["99999"],
                                                                 "day_slots": "上午"})
    assert unknown.status_code == 422 and "不存在" in unknown.text
    no_csrf = client.post(f"/web/events/{event_id}/pools", data={"day_slots": "上午"})
    assert no_csrf.status_code == 403
