"""kill -9 of the server in the middle of writes loses no committed write, and after
a restart the saved index agrees with the database; kill -9 of a stand-alone job
worker mid-import leaves the batches it committed, and the next worker to start
ends its job and import log failed (SQLite and PostgreSQL)."""

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
from sqlalchemy import func, select, text

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


DEMANDS_HEADER = "单位名称,所在地区,技术需求名称,具体的技术需求说明,联系人,手机\n"


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "from kejie.cli import main; main()", "jobs", "worker"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def test_kill_9_of_a_worker_mid_import_fails_its_job_and_keeps_the_committed_rows(
    database_url: str, tmp_path: Path, tiny_model_dir: Path
) -> None:
    from kejie import job_recovery, jobs
    from kejie.imports import start_import_job
    from models import ImportLog, upgrade_database

    # big enough that the import is still reading (12+ batches of 1000, seconds) when the worker is
    # killed after its second batch; small enough that re-encoding it all stays quick
    rows = 15000
    sheet = tmp_path / "需求.csv"
    sheet.write_text(DEMANDS_HEADER + "".join(
        f"崩溃企业{i % 300}有限公司,福州市,需求{i}：正极材料包覆,第{i}条：需要高镍正极材料表面包覆改性技术,黄工,"
        f"136{i:08d}\n" for i in range(rows)), encoding="utf-8")
    env = {**os.environ, "KEJIE_ENCODER": "sentence-transformers", "KEJIE_ENCODER_MODEL": str(tiny_model_dir),
           "KEJIE_VAR_DIR": str(tmp_path / "var"), "KEJIE_DATABASE_URL": database_url}
    settings = Settings(var_dir=tmp_path / "var", database_url=database_url, encoder="sentence-transformers",
                        encoder_model=str(tiny_model_dir))
    upgrade_database(database_url)
    engine = create_db_engine(database_url)
    factory = make_session_factory(engine)
    h = jobs.queue(settings)

    def start_import() -> tuple[str, int]:
        with factory() as s, sheet.open("rb") as fh:
            started = start_import_job(s, settings, None, "demands", sheet.name, fh, max_bytes=1 << 30,
                                       imported_by="测试")
        return started["job"]["id"], started["import_id"]

    first = _worker(env)
    try:
        job_id, import_id = start_import()
        deadline = time.monotonic() + 120
        while True:  # until the job is running and has committed at least two batches
            assert time.monotonic() < deadline, "the import did not get going"
            assert first.poll() is None, "the worker exited"
            rec = jobs.record(h, job_id) or {}
            with factory() as s:
                log = s.get(ImportLog, import_id)
                assert log is not None and log.status == "running", "the import ended before the kill"
                if rec.get("status") == "running" and rec.get("done", 0) > 0 and log.inserted >= 2000:
                    break
            time.sleep(0.02)
    finally:
        first.kill()  # SIGKILL: nothing of the job's own gets to run
        first.wait(30)
    with factory() as s:
        log = s.get(ImportLog, import_id)
        committed = s.scalar(select(func.count()).select_from(Demand))
        assert log is not None and log.status == "running" and 0 < log.inserted == committed < rows
    assert (jobs.record(h, job_id) or {}).get("status") == "running"  # as the killed worker left it

    second = _worker(env)  # sweeps at start: the dead worker's job ends failed
    try:
        deadline = time.monotonic() + 120
        while (rec := jobs.record(h, job_id) or {}).get("status") == "running":
            assert time.monotonic() < deadline and second.poll() is None, "the job was not swept"
            time.sleep(0.1)
        assert rec["status"] == "failed" and rec["error"].startswith("任务中断：处理它的进程已退出（进程 ")
        assert f"已导入的 {committed} 行已保存" in rec["error"] and rec["error"].endswith("请重新上传")
        assert not Path(rec["upload_dir"]).exists()  # the stored upload its job would have removed
        with factory() as s:
            log = s.get(ImportLog, import_id)
            assert log is not None and log.status == "failed" and log.error == rec["error"] and log.finished_at
            assert s.scalar(select(func.count()).select_from(Demand)) == committed  # no committed row lost

        again, _ = start_import()  # re-uploading the same file completes: the kept rows are unchanged
        done = job_recovery.wait(settings, again, timeout=300)
        assert done is not None and done["status"] == "done", done
        assert done["result"]["inserted"] == rows - committed and done["result"]["unchanged"] == committed
        with factory() as s:
            assert s.scalar(select(func.count()).select_from(Demand)) == rows
    finally:
        second.kill()
        second.wait(30)
        engine.dispose()


def _ingest(env: dict[str, str], sheet: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "from kejie.cli import main; main()", "ingest", str(sheet),
                             "--kind", "demands", "--by", "测试"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def test_kill_9_of_kejie_ingest_mid_import_fails_its_log_at_the_next_sweep(database_url: str,
                                                                           tmp_path: Path) -> None:
    from kejie import job_recovery, jobs
    from kejie.import_jobs import SYNC_KIND
    from models import ImportLog, upgrade_database

    rows = 20000  # 20 batches of 1000: still reading when killed after its second batch
    sheet = tmp_path / "需求.csv"
    sheet.write_text(DEMANDS_HEADER + "".join(
        f"同步崩溃企业{i % 300}有限公司,福州市,需求{i}：正极材料包覆,第{i}条：需要高镍正极材料表面包覆改性技术,黄工,"
        f"136{i:08d}\n" for i in range(rows)), encoding="utf-8")
    env = {**os.environ, "KEJIE_VAR_DIR": str(tmp_path / "var"), "KEJIE_DATABASE_URL": database_url}
    settings = Settings(var_dir=tmp_path / "var", database_url=database_url)
    upgrade_database(database_url)
    engine = create_db_engine(database_url)
    factory = make_session_factory(engine)
    h = jobs.queue(settings)
    try:
        proc = _ingest(env, sheet)
        try:
            deadline = time.monotonic() + 120
            while True:  # until the import has committed at least two batches
                assert time.monotonic() < deadline, "the import did not get going"
                assert proc.poll() is None, "kejie ingest exited before the kill"
                with factory() as s:
                    log = s.scalars(select(ImportLog)).first()
                    if log is not None and log.inserted >= 2000:
                        assert log.status == "running", "the import ended before the kill"
                        import_id = log.id
                        break
                time.sleep(0.02)
        finally:
            proc.kill()  # SIGKILL: nothing of the import's own gets to run
            proc.wait(30)
        rec = job_recovery.import_job(h, import_id)
        assert rec is not None and rec["kind"] == SYNC_KIND and rec["status"] == "running"
        assert rec["worker"] == f"{socket.gethostname()}:{proc.pid}"
        with factory() as s:
            log = s.get(ImportLog, import_id)
            committed = s.scalar(select(func.count()).select_from(Demand))
            assert log is not None and log.status == "running" and 0 < log.inserted == committed < rows

        with factory() as s:  # what a worker does when it starts, and every job_stale_after seconds
            ended = job_recovery.sweep(settings, s)
        assert ended == {"jobs": [rec["id"]], "imports": [import_id]}
        rec = jobs.record(h, rec["id"]) or {}
        assert rec["status"] == "failed" and rec["error"].startswith("任务中断：处理它的进程已退出（进程 ")
        assert f"已导入的 {committed} 行已保存" in rec["error"] and rec["error"].endswith("请重新上传")
        with factory() as s:
            log = s.get(ImportLog, import_id)
            assert log is not None and log.status == "failed" and log.error == rec["error"] and log.finished_at
            assert s.scalar(select(func.count()).select_from(Demand)) == committed  # no committed row lost

        again = _ingest(env, sheet)  # importing the same file again completes: the kept rows are unchanged
        assert again.wait(300) == 0
        with factory() as s:
            last = s.scalars(select(ImportLog).order_by(ImportLog.id.desc())).first()
            assert last is not None and last.id != import_id and last.status == "done"
            assert last.inserted == rows - committed and last.unchanged == committed
            assert s.scalar(select(func.count()).select_from(Demand)) == rows
        assert (job_recovery.import_job(h, last.id) or {}).get("status") == "done"
        assert job_recovery._running_ids(h) == []
    finally:
        engine.dispose()
