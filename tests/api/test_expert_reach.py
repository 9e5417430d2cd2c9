"""Every route of the app, walked as an expert after staff posted demands whose
title and description carry contact data in every form (full-width included):
no page and no JSON answer shows anyone else's phone, e-mail or fax."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.conftest import World

# (as typed into the demand, what it is once folded and stripped of separators)
POSTED_CONTACTS = [
    ("13911112222", "13911112222"),
    ("139-111-12223", "13911112223"),
    ("139.1111.2224", "13911112224"),
    ("139 1111 2225", "13911112225"),
    ("１３９１１１１２２２６", "13911112226"),
    ("+86 139 1111 2227", "13911112227"),
    ("0591-87651234", "059187651234"),
    ("0591.87651235", "059187651235"),
    ("(0591)87651236", "059187651236"),
    ("（０５９１）８７６５１２３７", "059187651237"),
    ("传真：0591-87651238", "059187651238"),
    ("zhang.gong@qiye.example.cn", "zhang.gong@qiye.example.cn"),
    ("wang＠qiye.cn", "wang@qiye.cn"),
    ("ｌｉ＠ｑｉｙｅ．ｃｎ", "li@qiye.cn"),
]
# contacts of the world fixture other than the logged-in expert's own
WORLD_CONTACTS = [
    "13912345678", "05932345678", "05932345679", "chen@ndxny.example.com", "13700001111",
    "lin@pzh.example.com", "13600002222", "it@yuntu.example.com", "13800138001",
    "wang@fjtcm.example.edu.cn", "13800138002", "zhang@xmu.example.edu.cn", "13800138003",
    "zhao@xmut.example.edu.cn",
]
FORBIDDEN = [canon for _typed, canon in POSTED_CONTACTS] + WORLD_CONTACTS
OWN = {"13800138000", "li@fzu.example.edu.cn"}
_SEPARATORS = re.compile(r"[\s\-.()（）+]")


def _canon(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).lower()
    return _SEPARATORS.sub("", folded)


def _leaks(text: str) -> list[str]:
    canon = _canon(text)
    return [c for c in FORBIDDEN if _SEPARATORS.sub("", c) in canon]


def _routes(routes: Iterable[Any]) -> Iterator[tuple[str, str]]:
    for route in routes:
        if type(route).__name__ == "_IncludedRouter":  # FastAPI's included routers
            yield from _routes(route.effective_candidates())
        elif getattr(route, "methods", None):
            for method in route.methods:
                if method != "HEAD":
                    yield method, route.path


def _post_demands(client: TestClient, staff: dict[str, str], world: World) -> list[int]:
    ids = []
    for n, (typed, _canon_form) in enumerate(POSTED_CONTACTS):
        body = {
            "enterprise_id": world.battery_enterprise,
            "title": f"高镍三元正极材料包覆改性{n} 联系{typed}",
            "description": f"高镍三元正极材料表面包覆与掺杂改性，锂离子电池循环寿命提升。联系人陈工，{typed}。",
            "keywords": ["正极材料", "表面包覆"],
            "contact_name": "陈工",
            "mobile": "13911119999",
            "office_phone": "0591-87659999",
            "fax": "0591-87658888",
            "email": "contact@qiye.example.cn",
        }
        r = client.post("/demands", headers=staff, json=body)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def test_expert_reaches_no_contact_anywhere(
    app: FastAPI, client: TestClient, staff: dict[str, str], expert: dict[str, str], world: World
) -> None:
    FORBIDDEN.extend(["13911119999", "059187659999", "059187658888", "contact@qiye.example.cn"])
    try:
        _walk(app, client, staff, expert, world)
    finally:
        del FORBIDDEN[-4:]


def _walk(app: FastAPI, client: TestClient, staff: dict[str, str], expert: dict[str, str], world: World) -> None:
    posted = _post_demands(client, staff, world)
    event = client.post("/events", headers=staff, json={"name": "院士八闽行（宁德站）联系13911112222",
                                                       "starts_on": "2030-05-01"})
    assert event.status_code == 201, event.text
    # the expert says yes to one, so it stays theirs to see
    r = client.post(f"/experts/{world.battery_expert}/feedback", headers=expert,
                    json={"demand_id": posted[0], "choice": "interested"})
    assert r.status_code == 201, r.text

    # a queued planning job of that event (no worker runs here): its pages are staff-only
    job = client.post(f"/events/{event.json()['id']}/plan/jobs", headers=staff)
    assert job.status_code == 202, job.text

    values = {
        "job_id": [job.json()["id"]],
        "demand_id": [*posted, world.battery_demand, world.tcm_demand, world.software_demand],
        "expert_id": [world.battery_expert, world.tcm_expert, world.academician],
        "enterprise_id": [world.battery_enterprise, world.battery_enterprise + 1, world.battery_enterprise + 2],
        "society_id": [world.materials_society, world.tcm_society],
        "event_id": [event.json()["id"]],
        "import_id": [1],
        "fmt": ["xlsx", "csv", "json"],
    }
    web = _web_login(app)
    query = {"/search": "q=正极材料包覆", "/web/search": "q=正极材料包覆"}
    reached: list[str] = []
    visited: set[str] = set()
    for method, path in sorted(set(_routes(app.routes))):
        if method != "GET" or path.startswith(("/docs", "/redoc")):
            continue
        names = re.findall(r"{(\w+)}", path)
        urls = [path]
        for name in names:
            urls = [u.replace("{" + name + "}", str(v)) for u in urls for v in values[name]]
        for url in urls:
            if path in query:
                url += "?" + query[path]
            for r in (client.get(url, headers=expert, follow_redirects=True),
                      web.get(url, follow_redirects=True)):
                assert not _leaks(r.text), (url, r.status_code, _leaks(r.text))
                if r.status_code == 200:
                    reached.append(url)
        visited.add(path)
    # the walk really covered the expert's own pages and data
    for must in ("/web/me", f"/experts/{world.battery_expert}/recommendations", "/demands",
                 f"/demands/{posted[0]}", "/enterprises", f"/web/experts/{world.battery_expert}"):
        assert must in reached, must
    assert len(visited) >= 30
    # and the expert's own number is theirs to see (the walk is not blind)
    own = client.get(f"/experts/{world.battery_expert}", headers=expert).text
    assert all(o in own for o in OWN)
    # the masked posted demands are there, redacted
    page = web.get("/web/me").text
    assert "联系方式已隐藏" in page and "高镍三元正极材料包覆改性" in page


def _web_login(app: FastAPI) -> TestClient:
    web = TestClient(app)
    r = web.post("/login", data={"username": "expert", "password": "expert123"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/web/me"
    return web
