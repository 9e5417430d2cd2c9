"""Synchronous imports (``kejie ingest``, ``POST /imports?wait=true``) registered as
running jobs (kejie.import_jobs.synchronous_import): while one runs its log is linked
to an ``import_sync`` record naming its worker, with a heartbeat and the running
marker; the record ends ``done`` or ``failed`` with the import; a sweep ends the log
of one whose process is gone ``failed`` (SQLite and PostgreSQL databases)."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import ingest
from kejie import job_process, job_recovery, jobs
from kejie.import_jobs import SYNC_KIND, synchronous_import
from kejie.settings import Settings, get_settings
from models import Demand, ImportLog
from tests.kejie.test_job_recovery import dead_pid

HOST = socket.gethostname()
HEADER = "单位名称,所在地区,技术需求名称,具体的技术需求说明,联系人,手机\n"


def _sheet(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "需求.csv"
    path.write_text(HEADER + "".join(
        f"同步企业{i % 3}有限公司,福州市,需求{i}：正极材料包覆,第{i}条：需要高镍正极材料表面包覆改性技术,黄工,"
        f"136{i:08d}\n" for i in range(rows)), encoding="utf-8")
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path / "var")


def test_a_synchronous_import_is_a_running_job_while_it_runs(
    session: Session, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "HEARTBEAT_SECONDS", 0.05)
    h = jobs.queue(settings)
    seen: list[dict[str, Any]] = []

    with synchronous_import(session, settings, "demands", "需求.csv", "staff") as running:
        def hook(done: int, total: int) -> None:
            running.progress(done, total)
            if not seen:
                rec = job_recovery.import_job(h, running.import_id)
                time.sleep(0.2)  # the heartbeat goes on while no batch moves
                log = session.get(ImportLog, running.import_id)
                seen.append({"rec": rec, "later": jobs.record(h, running.job_id or ""),
                             "marked": job_recovery._running_ids(h), "log": log.status if log else None,
                             "inserted": log.inserted if log else None})

        report = ingest.import_file(session, _sheet(tmp_path, 5), "demands", "staff", batch_size=2,
                                    log_id=running.import_id, progress=hook)
    first = seen[0]
    rec, later = first["rec"], first["later"]
    assert rec is not None and rec["id"] == running.job_id and rec["kind"] == SYNC_KIND
    assert rec["status"] == "running" and rec["import_id"] == running.import_id == report.import_log_id
    assert rec["worker"] == f"{HOST}:{os.getpid()}" and rec["worker_started"] == job_process.process_start(os.getpid())
    assert later["heartbeat"] - rec["heartbeat"] >= 0.1 and later["done"] > 0
    assert first["marked"] == [running.job_id] and first["log"] == "running" and first["inserted"] == 2
    assert job_recovery.abandoned(rec, settings.job_stale_after) is None  # alive: the sweep leaves it

    end = jobs.record(h, running.job_id or "")
    assert end is not None and end["status"] == "done" and end["stage"] == "完成"
    assert end["result"]["inserted"] == 5 and end["result"]["import_id"] == running.import_id
    assert job_recovery._running_ids(h) == []
    assert session.get(ImportLog, running.import_id).status == "done"  # type: ignore[union-attr]
    assert job_recovery.sweep(settings, session) == {"jobs": [], "imports": []}


def test_an_exception_mid_import_ends_the_record_and_the_log_failed(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    h = jobs.queue(settings)

    def hook(done: int, total: int) -> None:
        raise RuntimeError("磁盘已满")

    with pytest.raises(RuntimeError), synchronous_import(session, settings, "demands", "需求.csv") as running:
        ingest.import_file(session, _sheet(tmp_path, 5), "demands", batch_size=2, log_id=running.import_id,
                           progress=hook)
    rec = job_recovery.import_job(h, running.import_id)
    assert rec is not None and rec["status"] == "failed" and rec["error"] == "导入失败：磁盘已满"
    assert job_recovery._running_ids(h) == []
    log = session.get(ImportLog, running.import_id)
    assert log is not None and log.status == "failed" and "磁盘已满" in log.error and log.inserted == 2


def test_a_file_never_read_leaves_no_log(session: Session, settings: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("甲,乙\n1,2\n", encoding="utf-8")
    with pytest.raises(ingest.HeaderNotFound), synchronous_import(session, settings, "demands", "bad.csv") as running:
        ingest.import_file(session, bad, "demands", log_id=running.import_id)
    h = jobs.queue(settings)
    assert session.scalar(select(func.count()).select_from(ImportLog)) == 0  # as before: no entry
    assert job_recovery.import_job(h, running.import_id) is None  # nor a link to a log that is gone
    rec = jobs.record(h, running.job_id or "")
    assert rec is not None and rec["status"] == "failed" and rec["import_id"] is None


def test_without_the_job_storage_the_import_still_runs(
    session: Session, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(_settings: Settings) -> Any:
        raise ConnectionError("Redis 不可用")

    monkeypatch.setattr(jobs, "queue", down)
    with synchronous_import(session, settings, "demands", "需求.csv") as running:
        ingest.import_file(session, _sheet(tmp_path, 3), "demands", log_id=running.import_id,
                           progress=running.progress)
    assert running.job_id is None
    log = session.get(ImportLog, running.import_id)
    assert log is not None and log.status == "done" and log.inserted == 3


def test_the_sweep_fails_the_log_of_a_synchronous_import_whose_process_is_gone(
    session: Session, settings: Settings, session_factory: sessionmaker, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "_CONTEXT", {"session_factory": session_factory})
    h = jobs.queue(settings)
    with synchronous_import(session, settings, "demands", "需求.csv") as running:
        def hook(done: int, total: int) -> None:
            if done and not hook.swept:  # type: ignore[attr-defined]
                # as if this process were killed after its first batch: its pid names no process
                jobs.write(h, running.job_id or "", worker=f"{HOST}:{dead_pid()}")
                hook.swept = job_recovery.sweep(settings)  # type: ignore[attr-defined]
                with session_factory() as s:
                    log = s.get(ImportLog, running.import_id)
                    hook.log = (log.status, log.error) if log else None  # type: ignore[attr-defined]
        hook.swept = None  # type: ignore[attr-defined]
        ingest.import_file(session, _sheet(tmp_path, 5), "demands", batch_size=2, log_id=running.import_id,
                           progress=hook)
    assert hook.swept == {"jobs": [running.job_id], "imports": [running.import_id]}  # type: ignore[attr-defined]
    status, error = hook.log  # type: ignore[attr-defined]
    assert status == "failed" and error.startswith("任务中断：处理它的进程已退出（进程 ")
    assert "已导入的 2 行已保存" in error and error.endswith("请重新上传")
    with session_factory() as s:
        log = s.get(ImportLog, running.import_id)
        # the live import wrote its end after the sweep (the last writer is the live task)
        assert log is not None and log.status == "done"


def test_kejie_ingest_registers_its_import(db_url_cli: str, tmp_path: Path) -> None:
    from kejie.cli import main

    result = CliRunner().invoke(main, ["ingest", str(_sheet(tmp_path, 4)), "--kind", "demands", "--by", "张三"])
    assert result.exit_code == 0, result.output
    settings = get_settings()
    h = jobs.queue(settings)
    from models import create_db_engine, make_session_factory

    engine = create_db_engine(db_url_cli)
    try:
        with make_session_factory(engine)() as s:
            log = s.scalars(select(ImportLog)).one()
            assert log.status == "done" and s.scalar(select(func.count()).select_from(Demand)) == 4
    finally:
        engine.dispose()
    rec = job_recovery.import_job(h, log.id)
    assert rec is not None and rec["kind"] == SYNC_KIND and rec["status"] == "done" and rec["user"] == "张三"
    assert rec["result"]["inserted"] == 4 and job_recovery._running_ids(h) == []


@pytest.fixture
def db_url_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from models import upgrade_database

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade_database(url)
    monkeypatch.setenv("KEJIE_DATABASE_URL", url)
    monkeypatch.setenv("KEJIE_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_the_sample_load_registers_each_file_as_a_running_job(
    session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ingest.sample
    from kejie.import_jobs import load_sample_registered

    h = jobs.queue(settings)
    during: list[Any] = []
    real = ingest.sample.import_file

    def watched(*args: Any, **kw: Any) -> Any:  # what the job storage says while a file is read
        during.append((kw.get("log_id"), job_recovery._running_ids(h)))
        return real(*args, **kw)

    monkeypatch.setattr(ingest.sample, "import_file", watched)
    report = load_sample_registered(session, settings)
    assert [r.kind for r in report.imports] == ["societies", "experts", "demands"]
    assert all(log_id is not None and len(marked) == 1 for log_id, marked in during)
    for r, (log_id, _) in zip(report.imports, during, strict=True):
        assert r.import_log_id == log_id
        rec = job_recovery.import_job(h, log_id)
        assert rec is not None and rec["kind"] == SYNC_KIND and rec["status"] == "done"
        assert session.get(ImportLog, log_id).status == "done"  # type: ignore[union-attr]
    assert job_recovery._running_ids(h) == []
