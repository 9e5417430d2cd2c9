"""The demand edit page (staff only, CSRF) changes a demand and its enterprise
through the use case of PATCH /demands/{id}; the index is refreshed at once.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from models import AuditLog, Demand, Enterprise
from tests.api.conftest import World
from tests.api.test_web_pages import csrf_of, web_login


def _form(client: TestClient, demand_id: int) -> dict[str, str]:
    page = client.get(f"/web/demands/{demand_id}/edit")
    assert page.status_code == 200, page.text
    assert 'id="demand-edit-form"' in page.text
    return {"csrf": csrf_of(page.text), "title": "高镍三元正极材料循环寿命提升",
            "description": "高镍三元正极材料高温循环容量衰减快。", "status": "open", "keywords": "",
            "city": "宁德市", "county": "", "address": ""}


def test_staff_edit_a_demand_and_its_enterprise(
    client: TestClient, staff: dict[str, str], world: World, session_factory
) -> None:  # type: ignore[no-untyped-def]
    web_login(client, "staff", "staff123")
    assert f"/web/demands/{world.battery_demand}/edit" in client.get(f"/web/demands/{world.battery_demand}").text
    form = _form(client, world.battery_demand)
    form.update(title="固态电解质界面稳定性研究", description="固态电池界面阻抗随循环上升，需要界面修饰方案。",
                status="in_progress", keywords="固态电池；界面", county="蕉城区", address="宁德市蕉城区示例路8号")
    r = client.post(f"/web/demands/{world.battery_demand}/edit", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("notice=demand_updated")
    page = client.get(r.headers["location"])
    assert "固态电解质界面稳定性研究" in page.text and "宁德市蕉城区示例路8号" in page.text
    got = client.get(f"/demands/{world.battery_demand}", headers=staff).json()
    assert got["status"] == "in_progress" and got["keywords"] == ["固态电池", "界面"]
    with session_factory() as s:
        ent = s.get(Enterprise, world.battery_enterprise)
        assert (ent.county, ent.address, ent.city) == ("蕉城区", "宁德市蕉城区示例路8号", "宁德市")
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "update")).all()[-1]
        assert {"title", "description", "status", "keywords", "enterprise.county", "enterprise.address"} <= set(
            audit.detail["fields"])


def test_the_edit_and_patch_share_the_use_case(
    client: TestClient, staff: dict[str, str], world: World, session_factory
) -> None:  # type: ignore[no-untyped-def]
    r = client.patch(f"/demands/{world.tcm_demand}", headers=staff, json={"county": "芗城区", "address": "漳州市芗城区1号"})
    assert r.status_code == 200, r.text
    with session_factory() as s:
        d = s.get(Demand, world.tcm_demand)
        assert (d.enterprise.county, d.enterprise.address) == ("芗城区", "漳州市芗城区1号")


def test_edit_errors_stay_on_the_form(client: TestClient, world: World, session_factory) -> None:  # type: ignore[no-untyped-def]
    web_login(client, "staff", "staff123")
    form = _form(client, world.battery_demand)
    blank = client.post(f"/web/demands/{world.battery_demand}/edit", data={**form, "title": " "})
    assert blank.status_code == 422 and 'data-field="title"' in blank.text
    bad_city = client.post(f"/web/demands/{world.battery_demand}/edit", data={**form, "city": "杭州市"})
    assert bad_city.status_code == 422
    with session_factory() as s:
        assert s.get(Demand, world.battery_demand).title == "高镍三元正极材料循环寿命提升"


def test_edit_needs_staff_and_a_csrf_token(client: TestClient, world: World) -> None:
    web_login(client, "staff", "staff123")
    form = _form(client, world.battery_demand)
    no_token = client.post(f"/web/demands/{world.battery_demand}/edit", data={**form, "csrf": "x"})
    assert no_token.status_code == 403
    client.cookies.clear()
    web_login(client, "expert", "expert123")
    assert client.get(f"/web/demands/{world.battery_demand}/edit").status_code == 403
    assert client.post(f"/web/demands/{world.battery_demand}/edit", data=form).status_code == 403
    assert client.get("/web/demands/999999/edit").status_code == 403
