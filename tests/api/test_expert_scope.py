"""Experts' lists hold only what was recommended to them; top_k is capped; the
conflict-of-interest rule is the same containment on every page."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from kejie.settings import Settings
from tests.api.conftest import World
from tests.api.test_web_pages import csrf_of, web_login
from tests.factories import make_expert


def test_expert_lists_only_recommended_demands_and_their_enterprises(
    client: TestClient, expert: dict[str, str], staff: dict[str, str], world: World, api_settings: Settings
) -> None:
    api_settings.expert_visible_demands = 1
    listing = client.get("/demands", headers=expert).json()
    assert listing["total"] == 1 and [d["id"] for d in listing["items"]] == [world.battery_demand]
    assert client.get(f"/demands/{world.battery_demand}", headers=expert).status_code == 200
    for other in (world.tcm_demand, world.software_demand, 99999):
        r = client.get(f"/demands/{other}", headers=expert)
        assert r.status_code == 403, r.text
    ents = client.get("/enterprises", headers=expert).json()
    assert [e["id"] for e in ents["items"]] == [world.battery_enterprise]
    assert "address" not in ents["items"][0]
    assert client.get(f"/enterprises/{world.battery_enterprise}", headers=expert).status_code == 200
    tcm_ent = client.get(f"/demands/{world.tcm_demand}", headers=staff).json()["enterprise_id"]
    assert client.get(f"/enterprises/{tcm_ent}", headers=expert).status_code == 403
    # staff still see everything
    assert client.get("/demands", headers=staff).json()["total"] == 3
    assert client.get("/enterprises", headers=staff).json()["total"] == 3


def test_interested_demand_stays_visible(
    client: TestClient, expert: dict[str, str], world: World, api_settings: Settings
) -> None:
    api_settings.expert_visible_demands = 1
    r = client.post(f"/experts/{world.battery_expert}/feedback", headers=expert,
                    json={"demand_id": world.battery_demand, "choice": "interested"})
    assert r.status_code == 201
    api_settings.expert_visible_demands = 0  # no longer in the top list: the mark keeps it
    ids = {d["id"] for d in client.get("/demands", headers=expert).json()["items"]}
    assert ids == {world.battery_demand}


def test_an_expert_cannot_answer_a_demand_not_recommended_to_them(
    client: TestClient, expert: dict[str, str], staff: dict[str, str], world: World, api_settings: Settings
) -> None:
    """A mark of interest on an arbitrary id would otherwise make that demand visible."""
    api_settings.expert_visible_demands = 1
    for choice in ("interested", "declined"):
        r = client.post(f"/experts/{world.battery_expert}/feedback", headers=expert,
                        json={"demand_id": world.software_demand, "choice": choice})
        assert r.status_code == 403, r.text
    web_login(client, "expert", "expert123")
    token = csrf_of(client.get("/web/me").text)
    page = client.post("/web/me/feedback", data={"csrf": token, "demand_id": str(world.software_demand),
                                                  "choice": "interested"}, follow_redirects=False)
    assert page.status_code == 403 and "推荐给您" in page.text, page.text
    client.cookies.clear()
    ids = {d["id"] for d in client.get("/demands", headers=expert).json()["items"]}
    assert world.software_demand not in ids
    assert client.get(f"/demands/{world.software_demand}", headers=expert).status_code == 403
    assert client.get(f"/demands/{world.software_demand}/feedback", headers=staff).json() == []
    # staff may still record an answer on the expert's behalf
    r = client.post(f"/experts/{world.battery_expert}/feedback", headers=staff,
                    json={"demand_id": world.software_demand, "choice": "interested"})
    assert r.status_code == 201, r.text


def test_top_k_is_capped_with_a_clear_422(
    client: TestClient, staff: dict[str, str], expert: dict[str, str], world: World, api_settings: Settings
) -> None:
    for url in (f"/demands/{world.battery_demand}/matches?top_k=51",
                f"/societies/{world.materials_society}/recommendations?top_k=51",
                "/search?q=正极材料&top_k=51",
                f"/experts/{world.battery_expert}/recommendations?top_k=51"):
        r = client.get(url, headers=staff)
        assert r.status_code == 422, url
        assert any(e["field"] == "top_k" and "50" in e["reason"] for e in r.json()["detail"]), r.text
    assert client.get(f"/demands/{world.battery_demand}/matches?top_k=50", headers=staff).status_code == 200
    # an expert sees at most expert_visible_demands of their own recommendations
    limit = api_settings.expert_visible_demands
    url = f"/experts/{world.battery_expert}/recommendations"
    assert client.get(f"{url}?top_k={limit}", headers=expert).status_code == 200
    r = client.get(f"{url}?top_k={limit + 1}", headers=expert)
    assert r.status_code == 422 and str(limit) in r.text


def test_branch_of_the_experts_employer_is_a_conflict_on_the_page_too(
    client: TestClient, staff: dict[str, str], world: World, session_factory: sessionmaker
) -> None:
    # the battery demand comes from 宁德新能源材料有限公司; this expert works at its 福州分公司
    with session_factory() as s:
        insider = make_expert(s, name="钱内部", affiliation="宁德新能源材料有限公司福州分公司",
                              research_areas=["高镍三元正极材料表面包覆改性"])
        s.commit()
        insider_id = insider.id
    r = client.get(f"/demands/{world.battery_demand}/matches?kind=experts&top_k=50", headers=staff)
    assert r.status_code == 200
    ids = {m["id"] for m in r.json()["items"]}
    assert str(world.battery_expert) in ids and str(insider_id) not in ids
    recs = client.get(f"/experts/{insider_id}/recommendations?top_k=50", headers=staff).json()["items"]
    assert str(world.battery_demand) not in {m["id"] for m in recs}
