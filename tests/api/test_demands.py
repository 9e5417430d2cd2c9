"""Demands: listing with filters and pages, create/edit with audit, matching."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from models import AuditLog, Demand
from tests.api.conftest import World


def test_list_pagination(client: TestClient, staff: dict[str, str]) -> None:
    first = client.get("/demands?limit=2&offset=0", headers=staff).json()
    second = client.get("/demands?limit=2&offset=2", headers=staff).json()
    assert first["total"] == second["total"] == 3
    assert (first["limit"], first["offset"]) == (2, 0)
    assert len(first["items"]) == 2 and len(second["items"]) == 1
    ids = [d["id"] for d in first["items"] + second["items"]]
    assert len(set(ids)) == 3
    assert ids == sorted(ids, reverse=True)  # newest first


def test_list_filters(client: TestClient, staff: dict[str, str], world: World) -> None:
    def ids(query: str) -> list[int]:
        r = client.get(f"/demands?{query}", headers=staff)
        assert r.status_code == 200, r.text
        return [d["id"] for d in r.json()["items"]]

    assert ids("city=宁德市") == [world.battery_demand]
    assert sorted(ids("city=宁德市,厦门市")) == sorted([world.battery_demand, world.software_demand])
    assert ids("industry=生物医药") == [world.tcm_demand]
    assert ids("q=指纹图谱") == [world.tcm_demand]
    assert ids("q=云图") == [world.software_demand]  # enterprise name
    assert len(ids("status=open")) == 3
    assert ids("status=solved") == []


def test_paging_limits_are_checked(client: TestClient, staff: dict[str, str]) -> None:
    r = client.get("/demands?limit=0&offset=-1", headers=staff)
    assert r.status_code == 422
    detail = {d["field"]: d["reason"] for d in r.json()["detail"]}
    assert detail == {"limit": "不能小于1", "offset": "不能小于0"}
    assert client.get("/demands?limit=500", headers=staff).json()["detail"] == [
        {"field": "limit", "reason": "不能大于200"}
    ]


def test_unknown_ids_are_404(client: TestClient, staff: dict[str, str]) -> None:
    for path in ("/demands/9999", "/demands/9999/matches", "/experts/9999", "/societies/9999",
                 "/enterprises/9999", "/events/9999", "/imports/9999", "/experts/9999/recommendations"):
        r = client.get(path, headers=staff)
        assert r.status_code == 404, path
        assert "不存在" in r.json()["detail"]


def test_create_demand_then_match_without_restart(
    client: TestClient, staff: dict[str, str], world: World, session_factory
) -> None:  # type: ignore[no-untyped-def]
    # warm the index first: the new demand must get in without a rebuild
    assert client.get(f"/demands/{world.battery_demand}/matches", headers=staff).status_code == 200
    body = {
        "enterprise_name": "福州闽江制药有限公司",
        "city": "福州",
        "industry": "生物医药",
        "title": "中药指纹图谱检测方法开发",
        "description": "希望与高校合作建立中药注射液的指纹图谱检测方法，提升质量控制水平。",
        "keywords": ["指纹图谱", " 质量控制 ", ""],
        "contact_name": "郑工",
        "mobile": "138 0000 1234",
        "office_phone": "0591-87654321",
        "email": "zheng@mjzy.example.com",
    }
    r = client.post("/demands", headers=staff, json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["city"] == "福州市"  # normalised like the importer does
    assert created["mobile"] == "13800001234"
    assert created["keywords"] == ["指纹图谱", "质量控制"]
    assert created["status"] == "open"

    experts = client.get(f"/demands/{created['id']}/matches?kind=experts&top_k=3", headers=staff).json()
    assert experts["items"][0]["name"] == "王中药"
    assert experts["items"][0]["reasons"]
    societies = client.get(f"/demands/{created['id']}/matches?kind=societies", headers=staff).json()
    assert societies["items"][0]["name"] == "福建省中医药学会"
    # and it appears in experts' recommendations at once
    recs = client.get(f"/experts/{world.tcm_expert}/recommendations", headers=staff).json()["items"]
    assert str(created["id"]) in [m["id"] for m in recs]

    with session_factory() as s:
        log = s.scalars(select(AuditLog).where(AuditLog.entity == "demand")).all()
        assert [(a.action, a.entity_id, a.user_id) for a in log] == [("create", created["id"], world.staff_id)]


def test_create_demand_reuses_known_enterprise(client: TestClient, staff: dict[str, str], world: World) -> None:
    r = client.post("/demands", headers=staff, json={
        "enterprise_id": world.battery_enterprise, "title": "电池隔膜涂覆", "description": "需要陶瓷涂覆隔膜工艺。"})
    assert r.status_code == 201
    assert r.json()["enterprise_id"] == world.battery_enterprise
    again = client.post("/demands", headers=staff, json={
        "enterprise_name": "宁德新能源材料有限公司", "title": "电池隔膜涂覆", "description": "需要陶瓷涂覆隔膜工艺。"})
    assert again.status_code == 422
    assert again.json()["detail"][0]["field"] == "title"


def test_create_demand_validation_in_plain_words(client: TestClient, staff: dict[str, str]) -> None:
    r = client.post("/demands", headers=staff, json={
        "enterprise_name": "某公司", "title": "", "mobile": "1380000", "email": "not-an-email",
        "office_phone": "abc", "city": "上海"})
    assert r.status_code == 422
    detail = {d["field"]: d["reason"] for d in r.json()["detail"]}
    assert detail["mobile"].startswith("手机号码应为11位数字")
    assert detail["title"] == "不能为空"
    assert detail["description"] == "必填项，不能缺少"
    assert "E-mail格式不正确" in detail["email"]
    assert "办公电话" in detail["office_phone"]
    assert "福州" in detail["city"]
    r = client.post("/demands", headers=staff, json={"title": "x", "description": "y"})
    assert r.json()["detail"] == [
        {"field": "enterprise_name", "reason": "请填写单位名称，或给出已有企业的编号 enterprise_id"}
    ]
    r = client.post("/demands", headers=staff, json={"enterprise_id": 4242, "title": "x", "description": "y"})
    assert r.json()["detail"] == [{"field": "enterprise_id", "reason": "企业 4242 不存在"}]
    r = client.post("/demands", headers=staff, content=b"{not json", )
    assert r.status_code == 422


def test_expert_cannot_write_demands(client: TestClient, expert: dict[str, str], world: World) -> None:
    r = client.post("/demands", headers=expert, json={"enterprise_name": "a", "title": "b", "description": "c"})
    assert r.status_code == 403
    assert client.patch(f"/demands/{world.tcm_demand}", headers=expert, json={"status": "closed"}).status_code == 403


def test_update_demand_is_audited_and_reindexed(
    client: TestClient, staff: dict[str, str], world: World, session_factory
) -> None:  # type: ignore[no-untyped-def]
    before = client.get(f"/demands/{world.software_demand}/matches?top_k=1", headers=staff).json()
    assert before["items"][0]["name"] == "赵算法"
    r = client.patch(f"/demands/{world.software_demand}", headers=staff, json={
        "title": "中药注射液指纹图谱", "description": "中药注射液质量控制与指纹图谱。", "status": "in_progress",
        "mobile": "13900000000"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "in_progress"
    after = client.get(f"/demands/{world.software_demand}/matches?top_k=1", headers=staff).json()
    assert after["items"][0]["name"] == "王中药"
    bad = client.patch(f"/demands/{world.software_demand}", headers=staff, json={"title": None})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "title"
    assert client.patch("/demands/9999", headers=staff, json={"title": "x"}).status_code == 404
    with session_factory() as s:
        row = s.scalar(select(AuditLog).where(AuditLog.entity == "demand", AuditLog.action == "update"))
        assert row is not None and row.entity_id == world.software_demand and row.user_id == world.staff_id
        assert set(row.detail["fields"]) == {"title", "description", "status", "mobile"}
        assert "13900000000" not in str(row.detail)  # the log names fields, not contact values
        assert s.get(Demand, world.software_demand).mobile == "13900000000"


def test_match_filters(client: TestClient, staff: dict[str, str], world: World) -> None:
    def names(query: str) -> list[str]:
        r = client.get(f"/demands/{world.battery_demand}/matches?{query}", headers=staff)
        assert r.status_code == 200, r.text
        return [m["name"] for m in r.json()["items"]]

    everyone = names("kind=experts&top_k=10")
    assert everyone[0] == "李电池" and len(everyone) == 4
    assert names("academician_only=true") == ["张院士"]
    assert set(names("region=厦门市")) == {"张院士", "赵算法"}
    assert names("discipline=化学") == ["张院士"]
    assert names("top_k=2") == everyone[:2]
    r = client.get(f"/demands/{world.battery_demand}/matches?kind=people", headers=staff)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "kind"
    m = client.get(f"/demands/{world.battery_demand}/matches", headers=staff).json()["items"][0]
    assert set(m) == {"id", "kind", "name", "score", "lexical", "semantic", "best_item", "shared_terms", "reasons",
                      "probability", "grade"}
    assert m["best_item"]["text"] and "高镍三元" in m["shared_terms"]


def test_search_by_text(client: TestClient, staff: dict[str, str], world: World) -> None:
    r = client.get("/search", headers=staff, params={"q": "中药注射液的指纹图谱", "kind": "experts"})
    assert r.status_code == 200
    assert r.json()["items"][0]["name"] == "王中药"
    r = client.get("/search", headers=staff, params={"q": "振动信号故障诊断", "kind": "demands", "top_k": 1})
    assert [m["id"] for m in r.json()["items"]] == [str(world.software_demand)]
    r = client.get("/search", headers=staff, params={"q": "正极材料", "kind": "societies"})
    assert r.json()["items"][0]["name"] == "福建省材料学会"
    r = client.get("/search", headers=staff, params={"q": "a"})
    assert r.status_code == 422 and r.json()["detail"] == [{"field": "q", "reason": "至少需要2个字符"}]


def test_experts_and_societies_lists(client: TestClient, staff: dict[str, str], expert: dict[str, str]) -> None:
    r = client.get("/experts?academician_only=true", headers=staff).json()
    assert [e["name"] for e in r["items"]] == ["张院士"]
    r = client.get("/experts?discipline=中药", headers=staff).json()
    assert [e["name"] for e in r["items"]] == ["王中药"]
    r = client.get("/experts?city=厦门市&limit=1", headers=staff).json()
    assert r["total"] == 2 and len(r["items"]) == 1
    s = client.get("/societies?discipline=中药学", headers=expert).json()
    assert [x["name"] for x in s["items"]] == ["福建省中医药学会"]
