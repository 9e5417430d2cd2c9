"""api.headers: the headers every answer carries, added without Starlette's
per-request task group."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient

from api.headers import SecurityHeaders


def _app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(SecurityHeaders)

    @app.get("/page")
    def page() -> PlainTextResponse:
        return PlainTextResponse("页面")

    @app.get("/own")
    def own() -> PlainTextResponse:
        return PlainTextResponse("x", headers={"Cache-Control": "private, max-age=60", "X-Frame-Options": "SAMEORIGIN"})

    @app.get("/static/app.css")
    def css() -> PlainTextResponse:
        return PlainTextResponse("body{}", media_type="text/css")

    return app


def test_every_answer_gets_the_headers_and_pages_are_not_cached() -> None:
    r = TestClient(_app()).get("/page")
    assert r.status_code == 200 and r.text == "页面"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["cache-control"] == "no-store"


def test_a_header_the_response_set_is_kept_and_not_doubled() -> None:
    r = TestClient(_app()).get("/own")
    assert r.headers.get_list("cache-control") == ["private, max-age=60"]
    assert r.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_static_files_may_be_cached() -> None:
    r = TestClient(_app()).get("/static/app.css")
    assert "cache-control" not in r.headers
    assert r.headers["x-content-type-options"] == "nosniff"


def test_an_unknown_route_still_carries_them() -> None:
    r = TestClient(_app()).get("/nowhere")
    assert r.status_code == 404 and r.headers["cache-control"] == "no-store"
