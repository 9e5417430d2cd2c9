"""CSRF (issue 12): a cookie-authenticated write from a foreign origin is refused
before it is processed; bearer-token requests are exempt; page forms also need
their CSRF token."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from api.csrf import normalise_origin
from models import ImportLog, Outcome
from tests.api.conftest import World
from tests.api.test_web_pages import csrf_of, web_login

CSV = "姓名,工作单位,研究方向\n陈新,福州大学,储能材料\n".encode()
EVIL = "http://evil.example"


def _counts(session_factory: sessionmaker) -> tuple[int, int]:
    with session_factory() as s:
        return (
            s.scalar(select(func.count()).select_from(ImportLog)) or 0,
            s.scalar(select(func.count()).select_from(Outcome)) or 0,
        )


def _import(client: TestClient, headers: dict[str, str]) -> int:
    files = {"file": ("experts.csv", CSV, "text/csv")}
    return client.post("/imports?wait=true", data={"kind": "experts"}, files=files, headers=headers).status_code


def _outcome(client: TestClient, world: World, headers: dict[str, str]) -> int:
    body = {"demand_id": world.tcm_demand, "expert_id": world.tcm_expert, "status": "contacted"}
    return client.post("/outcomes", json=body, headers=headers).status_code


def test_cookie_writes_from_foreign_origin_refused(
    client: TestClient, world: World, session_factory: sessionmaker
) -> None:
    web_login(client, "staff", "staff123")
    for headers in (
        {"Origin": EVIL},
        {"Origin": "null"},
        {"Referer": EVIL + "/attack.html"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://testserver.evil.example"},
        {"Origin": "https://testserver"},  # another scheme is another origin
    ):
        assert _import(client, headers) == 403, headers
        assert _outcome(client, world, headers) == 403, headers
        r = client.post("/events", json={"name": "x"}, headers=headers)
        assert r.status_code == 403 and "跨站请求被拒绝" in r.json()["detail"]
    assert _counts(session_factory) == (0, 0)
    # the same requests from our own pages go through
    own = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    assert _import(client, own) == 201
    assert _outcome(client, world, {"Referer": "http://testserver/web/demands/1"}) == 201
    assert _counts(session_factory) == (1, 1)


def test_bearer_requests_are_exempt(client: TestClient, world: World, staff: dict[str, str]) -> None:
    assert _outcome(client, world, staff | {"Origin": EVIL}) == 201


def test_page_forms_need_origin_and_token(client: TestClient, world: World, session_factory: sessionmaker) -> None:
    web_login(client, "staff", "staff123")
    token = csrf_of(client.get(f"/web/demands/{world.tcm_demand}").text)
    form = {"csrf": token, "demand_id": world.tcm_demand, "expert_id": world.tcm_expert, "status": "contacted"}
    assert client.post("/web/outcomes", data=form, headers={"Origin": EVIL}, follow_redirects=False).status_code == 403
    no_token = form | {"csrf": ""}
    r = client.post("/web/outcomes", data=no_token, headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert r.status_code == 403 and "表单已过期" in r.text
    assert _counts(session_factory) == (0, 0)
    r = client.post("/web/outcomes", data=form, headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert r.status_code == 303
    # a foreign site cannot log a victim into the attacker's account either
    r = client.post("/login", data={"username": "staff", "password": "staff123"}, headers={"Origin": EVIL})
    assert r.status_code == 403


def test_trusted_origins(app: FastAPI, world: World, session_factory: sessionmaker) -> None:
    from api.main import create_app

    settings = app.state.settings.model_copy(update={"trusted_origins": ["https://kejie.example.org"]})
    other = create_app(settings)
    other.dependency_overrides = app.dependency_overrides
    client = TestClient(other)
    web_login(client, "staff", "staff123")
    assert _outcome(client, world, {"Origin": "https://kejie.example.org:443"}) == 201
    assert _outcome(client, world, {"Origin": EVIL}) == 403


def test_normalise_origin() -> None:
    assert normalise_origin("HTTP://Example.org:80/x?y") == "http://example.org"
    assert normalise_origin("https://example.org:8443") == "https://example.org:8443"
    assert normalise_origin("http://[::1]:8000") == "http://[::1]:8000"
    assert normalise_origin("null") is None and normalise_origin("javascript:alert(1)") is None
