"""kill -9 of the server in the middle of writes loses no committed write, and after
a restart the saved index agrees with the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from kejie.settings import Settings
from matcher.index import CandidateIndex
from models import Demand
from models.db import create_db_engine, make_session_factory
from tests.conftest import PG_URL

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}"
        return
    name = f"kejie_crash_{uuid.uuid4().hex[:10]}"
    admin = create_db_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class _Server:
    def __init__(self, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-c", "from kejie.cli import main; main()", "serve",
                                      "--port", str(self.port)], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail("server exited during start-up")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        pytest.fail("server did not come up")

    def token(self) -> str:
        form = urllib.parse.urlencode({"username": "staff", "password": "staff123"}).encode()
        with urllib.request.urlopen(urllib.request.Request(self.base + "/auth/token", data=form), timeout=30) as r:
            return str(json.loads(r.read())["access_token"])

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        self.proc.wait(30)


def test_kill_9_mid_writes_loses_no_committed_write(database_url: str, tmp_path: Path,
                                                    tiny_model_dir: Path) -> None:
    env = {**os.environ, "KEJIE_ENCODER": "sentence-transformers", "KEJIE_ENCODER_MODEL": str(tiny_model_dir),
           "KEJIE_VAR_DIR": str(tmp_path / "var"), "KEJIE_DATABASE_URL": database_url}
    server = _Server(env)
    token = server.token()
    committed: list[int] = []
    stop = threading.Event()

    def post() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            body = json.dumps({"enterprise_name": f"崩溃测试企业{n % 3}", "city": "福州市",
                               "title": f"崩溃测试需求{n}：正极材料包覆",
                               "description": f"第{n}条：需要高镍正极材料表面包覆改性技术"}).encode()
            req = urllib.request.Request(server.base + "/demands", data=body, headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    if r.status == 201:
                        committed.append(int(json.loads(r.read())["id"]))
            except (urllib.error.URLError, ConnectionError, OSError):
                return  # the server is gone

    writer = threading.Thread(target=post)
    writer.start()
    deadline = time.monotonic() + 60
    while len(committed) < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.stop(signal.SIGKILL)  # mid-write: requests are in flight
    stop.set()
    writer.join(30)
    assert len(committed) >= 8, "too few writes before the kill to test anything"

    restarted = _Server(env)  # syncs the index with the database at start-up
    try:
        token = restarted.token()
        for did in committed:
            req = urllib.request.Request(f"{restarted.base}/demands/{did}",
                                         headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(req, timeout=30) as r:
                assert r.status == 200
    finally:
        restarted.stop()

    engine = create_db_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            in_db = {str(i) for i in session.scalars(select(Demand.id))}
    finally:
        engine.dispose()
    assert {str(i) for i in committed} <= in_db
    settings = Settings(var_dir=tmp_path / "var", encoder="sentence-transformers", encoder_model=str(tiny_model_dir))
    [demand_dir] = list(Path(settings.resolved_index_dir).glob("*/demand"))
    assert set(CandidateIndex.load(demand_dir).ids()) == in_db
