"""Accounts per organisation (issue 12): every route of the app, walked with the
accounts of two city associations and a society. Nothing outside an account's
scope appears in any answer; detail routes of other cities' records are 404;
writes outside the scope are refused; the provincial association's routes are
403 (the route list is read from the app, so a new route is covered)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from api.scope import ORG_ROUTES
from kejie.accounts import create_user
from kejie.organisations import create_organisation
from kejie.settings import Settings
from models import Demand, Enterprise, Expert, OrgKind, Outcome, Role
from tests.api.conftest import World
from tests.api.test_expert_reach import _routes
from tests.api.test_jobs import _wait

# what each world demand is called, by city
NINGDE = ["高镍三元正极材料循环寿命提升", "宁德新能源材料有限公司"]
ZHANGZHOU = ["中药注射液质量标准提升", "漳州片仔癀中药科技有限公司"]
XIAMEN = ["工业设备故障诊断算法", "厦门云图软件有限公司"]
OTHER_EXPERTS = ["王中药", "张院士", "赵算法"]
SKIP = {("POST", "/auth/logout"), ("POST", "/logout")}  # would end the walk's own session


@dataclass
class Orgs:
    ningde: dict[str, str]
    zhangzhou: dict[str, str]
    society: dict[str, str]
    ningde_org: int
    society_org: int


@pytest.fixture
def orgs(
    client: TestClient, world: World, session_factory: sessionmaker, login: Callable[[str, str], dict[str, str]],
    api_settings: Settings,
) -> Orgs:
    api_settings.expert_visible_demands = 1  # a society sees its top recommendation and its experts'
    with session_factory() as s:
        nd = create_organisation(s, OrgKind.city, "宁德市科协", city="宁德市")
        zz = create_organisation(s, OrgKind.city, "漳州市科协", city="漳州")  # stored as 漳州市
        so = create_organisation(s, OrgKind.society, "福建省材料学会", society_id=world.materials_society)
        create_user(s, "ningde", "ningde123", Role.staff, organisation_id=nd.id)
        create_user(s, "zhangzhou", "zhangzhou123", Role.staff, organisation_id=zz.id)
        create_user(s, "cailiao", "cailiao123", Role.staff, organisation_id=so.id)
        s.get(Expert, world.battery_expert).societies = ["福建省材料学会"]  # type: ignore[union-attr]
        s.add(Outcome(demand_id=world.tcm_demand, expert_id=world.tcm_expert, status="contacted", notes="漳州回访"))
        s.add(Outcome(demand_id=world.battery_demand, expert_id=world.battery_expert, status="visited"))
        s.commit()
        ids = (nd.id, so.id)
    return Orgs(login("ningde", "ningde123"), login("zhangzhou", "zhangzhou123"), login("cailiao", "cailiao123"),
                *ids)


def _values(world: World) -> dict[str, list[object]]:
    return {
        "demand_id": [world.battery_demand, world.tcm_demand, world.software_demand],
        "expert_id": [world.battery_expert, world.tcm_expert, world.academician],
        "enterprise_id": [world.battery_enterprise, world.battery_enterprise + 1, world.battery_enterprise + 2],
        "society_id": [world.materials_society, world.tcm_society],
        "event_id": [1], "import_id": [1, 2], "job_id": ["0" * 32], "fmt": ["xlsx"],
    }


def _urls(path: str, values: dict[str, list[object]]) -> list[str]:
    urls = [path]
    for name in re.findall(r"{(\w+)}", path):
        urls = [u.replace("{" + name + "}", str(v)) for u in urls for v in values[name]]
    return urls


def _walk(app: FastAPI, client: TestClient, headers: dict[str, str], kind: OrgKind, world: World,
          forbidden: list[str]) -> dict[str, int]:
    """Every route: outside the kind's routes 403; inside, no forbidden text in any answer."""
    seen: dict[str, int] = {}
    allowed = ORG_ROUTES[kind]
    for method, path in sorted(set(_routes(app.routes))):
        if (method, path) in SKIP or path.startswith(("/docs", "/redoc", "/static", "/openapi")) or path == "/healthz":
            continue
        for url in _urls(path, _values(world)):
            r = client.request(method, url, headers=headers, follow_redirects=False)
            if (method, path) not in allowed:
                assert r.status_code == 403, (method, url, r.status_code, r.text[:200])
                continue
            seen[f"{method} {url}"] = r.status_code
            assert r.status_code < 500, (method, url, r.text[:300])
            text = r.content.decode("utf-8", "replace") if "xlsx" not in url else _xlsx_text(r.content)
            leaks = [f for f in forbidden if f in text]
            assert not leaks, (method, url, r.status_code, leaks)
    return seen


def _xlsx_text(content: bytes) -> str:
    if not content.startswith(b"PK"):
        return content.decode("utf-8", "replace")
    import io

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(content))
    return "\n".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c)


def test_city_account_walk(app: FastAPI, client: TestClient, world: World, orgs: Orgs, staff: dict[str, str]) -> None:
    seen = _walk(app, client, orgs.ningde, OrgKind.city, world, ZHANGZHOU + XIAMEN + ["漳州回访"])
    # the walk reached the city's own records (it is not blind) ...
    for ok in (f"GET /demands/{world.battery_demand}", "GET /demands", f"GET /web/demands/{world.battery_demand}",
               f"GET /demands/{world.battery_demand}/matches", "GET /reports/demands.xlsx", "GET /outcomes",
               f"GET /enterprises/{world.battery_enterprise}", "GET /web/demands", "GET /"):
        assert seen[ok] == 200, ok
    # ... and the other cities' are 404, like ids that do not exist
    for other in (world.tcm_demand, world.software_demand):
        for url in (f"/demands/{other}", f"/demands/{other}/matches", f"/demands/{other}/feedback",
                    f"/web/demands/{other}", f"/web/demands/{other}/edit", f"/reports/demands/{other}/matches.xlsx"):
            assert seen[f"GET {url}"] == 404, url
    assert seen[f"GET /enterprises/{world.battery_enterprise + 1}"] == 404
    listing = client.get("/demands", headers=orgs.ningde).json()
    assert [d["id"] for d in listing["items"]] == [world.battery_demand] and listing["total"] == 1
    assert listing["items"][0]["mobile"] == "13912345678"  # its own enterprises' contacts: it collected them
    assert client.get("/reports/outcomes", headers=orgs.ningde).json()["total"] == 1
    # the other city sees its own and not this one
    other = client.get("/demands", headers=orgs.zhangzhou).json()
    assert [d["id"] for d in other["items"]] == [world.tcm_demand]
    assert not any(n in client.get("/web/demands", headers=orgs.zhangzhou).text for n in NINGDE)
    # the provincial association still sees all three
    assert client.get("/demands", headers=staff).json()["total"] == 3
    # its menu leaves out the province's pages; the province's keeps them
    assert "/web/events" not in client.get("/web/demands", headers=orgs.ningde).text
    assert "/web/events" in client.get("/web/demands", headers=staff).text


def test_city_writes_outside_its_city_are_refused(
    client: TestClient, world: World, orgs: Orgs, session_factory: sessionmaker
) -> None:
    h = orgs.ningde
    assert client.patch(f"/demands/{world.tcm_demand}", headers=h, json={"title": "改掉"}).status_code == 404
    r = client.patch(f"/demands/{world.battery_demand}", headers=h, json={"city": "漳州市"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "city"
    r = client.post("/demands", headers=h, json={"enterprise_id": world.battery_enterprise + 1,
                                                 "title": "越界需求", "description": "别的城市的企业"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "enterprise_id"
    r = client.post("/demands", headers=h, json={"enterprise_name": "漳州新企业有限公司", "city": "漳州市",
                                                 "title": "越界需求", "description": "别的城市的企业"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "city" and "宁德市" in r.text
    r = client.post("/demands", headers=h, json={"enterprise_name": "宁德新企业有限公司",
                                                 "title": "本市需求", "description": "未填设区市的本市企业"})
    assert r.status_code == 201, r.text
    r = client.post("/outcomes", headers=h, json={"demand_id": world.tcm_demand, "expert_id": world.tcm_expert,
                                                  "status": "contacted"})
    assert r.status_code == 404 and r.json()["detail"][0]["field"] == "demand_id"
    r = client.post(f"/web/demands/{world.tcm_demand}/edit", headers=h, data={"title": "改掉"})
    assert r.status_code in (403, 404)
    with session_factory() as s:
        assert s.get(Demand, world.tcm_demand).title == "中药注射液质量标准提升"  # type: ignore[union-attr]
        assert s.get(Enterprise, world.battery_enterprise).city == "宁德市"  # type: ignore[union-attr]
        new = s.scalar(select(Enterprise).where(Enterprise.name == "宁德新企业有限公司"))
        assert new is not None and new.city == "宁德市"  # a demand without a city gets the account's
        assert s.scalar(select(Outcome.id).where(Outcome.recorded_by.is_not(None))) is None


DEMANDS_CSV = (
    "单位名称,所在地区,技术需求名称,具体的技术需求说明,联系人,手机\n"
    "宁德电机有限公司,宁德,电机能效提升,提升永磁电机能效与散热。,黄工,13655556666\n"
    "漳州食品有限公司,漳州市,果蔬保鲜,果蔬冷链保鲜技术。,林工,13655557777\n"
    "福鼎白茶有限公司,,白茶萎凋工艺,白茶萎凋与干燥工艺自动化。,陈工,13655558888\n"
)


@pytest.mark.parametrize("path", ["job", "wait"])
def test_city_import_rejects_rows_of_another_city(
    client: TestClient, world: World, orgs: Orgs, session_factory: sessionmaker, staff: dict[str, str],
    worker: None, path: str,
) -> None:
    """The same city rule on the background job (the default upload) and on ``?wait=true``."""
    url = "/imports?wait=true" if path == "wait" else "/imports"
    r = client.post(url, headers=orgs.ningde, data={"kind": "demands"},
                    files={"file": ("宁德市技术需求.csv", DEMANDS_CSV.encode(), "text/csv")})
    if path == "wait":
        assert r.status_code == 201, r.text
        report = r.json()
    else:
        assert r.status_code == 202, r.text
        job_id = r.json()["job"]["id"]
        job = _wait(client, orgs.ningde, job_id)  # the city follows its own job ...
        assert job["status"] == "done", job
        # ... the other city does not see it, the province does
        assert client.get(f"/jobs/{job_id}", headers=orgs.zhangzhou).status_code == 404
        assert client.get(f"/jobs/{job_id}", headers=staff).status_code == 200
        report = client.get(job["url"], headers=orgs.ningde).json()
    assert (report["rows_total"], report["inserted"], report["rejected"]) == (3, 2, 1)
    [reject] = report["rejects"]
    assert (reject["file"], reject["row"], reject["field"]) == ("宁德市技术需求.csv", 3, "设区市")
    assert "宁德市" in reject["reason"]
    with session_factory() as s:
        cities = dict(s.execute(select(Enterprise.name, Enterprise.city).where(
            Enterprise.name.in_(["宁德电机有限公司", "漳州食品有限公司", "福鼎白茶有限公司"]))).all())
    assert cities == {"宁德电机有限公司": "宁德市", "福鼎白茶有限公司": "宁德市"}
    # the import is the city's own: the other city does not see it, the province does
    assert client.get("/imports", headers=orgs.zhangzhou).json()["total"] == 0
    assert client.get(f"/imports/{report['import_id']}", headers=orgs.zhangzhou).status_code == 404
    assert client.get(f"/imports/{report['import_id']}/rejects.xlsx", headers=orgs.zhangzhou).status_code == 404
    assert client.get("/imports", headers=orgs.ningde).json()["total"] == 1
    assert client.get("/imports", headers=staff).json()["total"] == 1
    # a city imports demand sheets only
    r = client.post("/imports", headers=orgs.ningde, data={"kind": "experts"},
                    files={"file": ("专家.csv", b"x", "text/csv")})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "kind"


def test_exports_are_filtered(client: TestClient, world: World, orgs: Orgs, staff: dict[str, str]) -> None:
    mine = _xlsx_text(client.get("/reports/demands.xlsx", headers=orgs.zhangzhou).content)
    assert ZHANGZHOU[0] in mine and NINGDE[0] not in mine and XIAMEN[0] not in mine
    everything = _xlsx_text(client.get("/reports/demands.xlsx", headers=staff).content)
    assert all(t in everything for t in (ZHANGZHOU[0], NINGDE[0], XIAMEN[0]))


def test_society_account_walk(app: FastAPI, client: TestClient, world: World, orgs: Orgs) -> None:
    h = orgs.society
    listing = client.get("/demands", headers=h).json()
    assert [d["id"] for d in listing["items"]] == [world.battery_demand]  # recommended to it and its expert
    assert "mobile" not in listing["items"][0]  # redacted as experts see them
    seen = _walk(app, client, h, OrgKind.society, world,
                 ZHANGZHOU + XIAMEN + OTHER_EXPERTS + ["13912345678", "chen@ndxny.example.com"])
    for ok in (f"GET /experts/{world.battery_expert}", "GET /experts", f"GET /demands/{world.battery_demand}",
               f"GET /experts/{world.battery_expert}/recommendations", f"GET /web/societies/{world.materials_society}",
               f"GET /societies/{world.materials_society}/recommendations", f"GET /web/experts/{world.battery_expert}"):
        assert seen[ok] == 200, ok
    for expert in (world.tcm_expert, world.academician):
        assert seen[f"GET /experts/{expert}"] == 404
        assert seen[f"GET /web/experts/{expert}"] == 404
    assert seen[f"GET /societies/{world.tcm_society}/recommendations"] == 404
    assert seen[f"GET /demands/{world.tcm_demand}"] == 404
    assert client.get("/experts", headers=h).json()["total"] == 1
    r = client.post(f"/experts/{world.tcm_expert}/feedback", headers=h,
                    json={"demand_id": world.battery_demand, "choice": "interested"})
    assert r.status_code == 404
    # marking interest in a demand it cannot see would widen its scope: refused
    r = client.post(f"/experts/{world.battery_expert}/feedback", headers=h,
                    json={"demand_id": world.tcm_demand, "choice": "interested"})
    assert r.status_code == 404
    r = client.post(f"/experts/{world.battery_expert}/feedback", headers=h,
                    json={"demand_id": world.battery_demand, "choice": "interested"})
    assert r.status_code == 201, r.text
    assert [d["id"] for d in client.get("/demands", headers=h).json()["items"]] == [world.battery_demand]


SOCIETY_EXPERTS_CSV = (
    "专家编号,姓名,职称,工作单位,学科,研究方向,所在地区,手机,E-mail\n"
    "M001,周新材,教授,福州大学,材料科学与工程,固态电解质,福州,13511113333,zhou@fzu.example.cn\n"
)


def test_society_import_adds_its_experts(
    client: TestClient, world: World, orgs: Orgs, session_factory: sessionmaker, worker: None
) -> None:
    r = client.post("/imports", headers=orgs.society, data={"kind": "experts"},
                    files={"file": ("材料学会专家.csv", SOCIETY_EXPERTS_CSV.encode(), "text/csv")})
    assert r.status_code == 202, r.text
    job = _wait(client, orgs.society, r.json()["job"]["id"])
    assert job["status"] == "done" and job["result"]["inserted"] == 1, job
    with session_factory() as s:
        zhou = s.scalar(select(Expert).where(Expert.name == "周新材"))
        assert zhou is not None and zhou.societies == ["福建省材料学会"]
    assert client.get("/experts", headers=orgs.society).json()["total"] == 2
    r = client.post("/imports", headers=orgs.society, data={"kind": "demands"},
                    files={"file": ("需求.csv", DEMANDS_CSV.encode(), "text/csv")})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "kind"


def test_admin_creates_organisations_and_accounts(
    client: TestClient, admin: dict[str, str], staff: dict[str, str], world: World
) -> None:
    r = client.post("/organisations", headers=admin, json={"kind": "city", "name": "厦门市科协", "city": "厦门"})
    assert r.status_code == 201, r.text
    assert r.json()["city"] == "厦门市"
    org = r.json()["id"]
    for body, field in (({"kind": "city", "name": "莆田市科协"}, "city"),
                        ({"kind": "society", "name": "某学会"}, "society_id"),
                        ({"kind": "city", "name": "厦门市科协", "city": "厦门市"}, "name")):
        r = client.post("/organisations", headers=admin, json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == field, r.text
    assert client.post("/organisations", headers=staff, json={"kind": "city", "name": "x市科协",
                                                             "city": "x"}).status_code == 403
    r = client.post("/users", headers=admin, json={"username": "xm01", "password": "xm0123", "role": "staff",
                                                  "organisation_id": org})
    assert r.status_code == 201 and r.json()["organisation_id"] == org
    r = client.post("/users", headers=admin, json={"username": "xm02", "password": "xm0123", "role": "admin",
                                                  "organisation_id": org})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "organisation_id"
    listed = {o["name"]: o["accounts"] for o in client.get("/organisations", headers=admin).json()}
    assert listed == {"厦门市科协": 1}
    token = client.post("/auth/token", data={"username": "xm01", "password": "xm0123"}).json()["access_token"]
    mine = client.get("/demands", headers={"Authorization": f"Bearer {token}"}).json()
    assert [d["id"] for d in mine["items"]] == [world.software_demand]
