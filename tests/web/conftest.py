"""Fixtures of the browser tests: a real uvicorn server on a loopback port and
Debian's headless Chromium driven by Playwright.

The server runs the app exactly as ``kejie serve`` does (lifespan: migrate,
seed accounts, sync the index) over a SQLite file loaded with the bundled
sample; the only substitution is the tiny local encoder instead of e5. Each
test module gets its own server (module scope), so one module's writes do not
reach another's.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tiny_encoder: Any) -> Iterator[str]:
    import uvicorn

    from api.main import create_app
    from ingest.sample import load_sample
    from kejie.settings import Settings
    from models.db import create_db_engine, make_session_factory, upgrade_database

    var = tmp_path_factory.mktemp("web-var")
    settings = Settings(var_dir=var, secret_key="browser-test-key")
    url = settings.resolved_database_url
    engine = create_db_engine(url)
    upgrade_database(url, engine=engine)
    with make_session_factory(engine)() as session:
        load_sample(session)
    engine.dispose()

    port = _free_port()
    app = create_app(settings, encoder=tiny_encoder)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/system-deps.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def login(page: Any, base: str, username: str, password: str) -> None:
    page.goto(base + "/")
    assert "/login" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
