"""The app as ``kejie serve`` runs it: lifespan migrates, seeds accounts, syncs the index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from api.main import create_app
from kejie.settings import Settings
from models import Role, User
from tests.factories import make_demand, make_expert


def test_lifespan_seeds_accounts_and_syncs_index(
    session_factory: sessionmaker, tmp_path: Path, tiny_encoder: Any
) -> None:
    with session_factory() as s:
        expert = make_expert(s, name="周光催化", external_id="E77", research_areas=["光催化制氢"])
        make_expert(s, name="其他专家")
        make_demand(s, title="光催化分解水制氢催化剂", description="需要高效光催化制氢催化剂。")
        s.commit()
    settings = Settings(var_dir=tmp_path / "var", secret_key="k", expert_external_id="E77")
    app = create_app(settings, session_factory=session_factory, encoder=tiny_encoder)
    with TestClient(app) as client:
        token = client.post("/auth/token", data={"username": "staff", "password": "staff123"}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        r = client.get("/search", headers=headers, params={"q": "光催化制氢", "kind": "experts", "top_k": 1})
        assert r.status_code == 200 and r.json()["items"][0]["name"] == "周光催化"
        assert (settings.resolved_index_dir / "embeddings.sqlite").exists()
        login = client.post("/auth/token", data={"username": "expert", "password": "expert123"})
        assert login.status_code == 200 and login.json()["role"] == "expert"
        assert client.get("/healthz").json() == {"status": "ok"}
    with session_factory() as s:
        users = {u.username: u for u in s.scalars(select(User))}
        assert set(users) == {"admin", "staff", "expert"}
        assert users["admin"].role == Role.admin
        assert users["expert"].expert_id == expert.id
    # a second start does not duplicate or reset anything
    with TestClient(create_app(settings, session_factory=session_factory, encoder=tiny_encoder)):
        pass
    with session_factory() as s:
        assert len(s.scalars(select(User)).all()) == 3


def test_app_from_database_url_alone(tmp_path: Path, tiny_encoder: Any) -> None:
    """No injected session factory: the lifespan creates and migrates the SQLite file itself."""
    settings = Settings(var_dir=tmp_path / "var", secret_key="k", expert_username="")
    with TestClient(create_app(settings, encoder=tiny_encoder)) as client:
        r = client.post("/auth/token", data={"username": "admin", "password": "admin123"})
        assert r.status_code == 200
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert client.get("/demands", headers=headers).json()["total"] == 0
    assert (tmp_path / "var" / "kejie.db").exists()


def test_openapi_and_security_headers(client: TestClient) -> None:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    assert "/demands/{demand_id}/matches" in spec["paths"]
    assert "/events/{event_id}/plan" in spec["paths"]
    desc = spec["components"]["schemas"]["DemandCreate"]["properties"]["mobile"]["description"]
    assert "手机" in desc and "mobile" in desc
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "/login" not in spec["paths"]  # web pages stay out of the API docs


def test_api_docs_work_offline(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "/docs-assets/swagger-ui-bundle.js" in page.text
    js = client.get("/docs-assets/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    assert client.get("/docs-assets/swagger-ui.css").status_code == 200
    # Swagger UI 5 reads OpenAPI 3.1 (4.x said "Unable to render this definition")
    assert b"isOAS31" in js.content
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")


def test_redoc_works_offline(client: TestClient) -> None:
    page = client.get("/redoc")
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text  # no CDN, no web fonts
    assert "/docs-assets/redoc.standalone.js" in page.text
    js = client.get("/docs-assets/redoc.standalone.js")
    assert js.status_code == 200 and len(js.content) > 100_000


def test_pages_and_json_are_not_cached(client: TestClient, staff: dict[str, str]) -> None:
    assert client.get("/demands", headers=staff).headers["cache-control"] == "no-store"
    assert client.get("/login").headers["cache-control"] == "no-store"
