"""Abandoned jobs (kejie.job_recovery): the rule that a ``running`` job whose worker
is gone is abandoned, the heartbeat a live job keeps, and the sweep a worker runs
at start that ends such jobs — and their import logs — ``failed`` (the SQLite
queue on SQLite and PostgreSQL databases, and the Redis queue when it runs)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from kejie import job_process, job_recovery, job_worker, jobs
from kejie.settings import Settings
from models import ImportLog
from tests.conftest import redis_url

HOST = socket.gethostname()


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def running(worker: str, *, beat_age: float = 0.0, started: str | None = None, **extra: Any) -> jobs.JobRecord:
    now = time.time()
    return {"id": "job", "kind": "import_file", "status": "running", "worker": worker, "heartbeat": now - beat_age,
            "updated": now - beat_age, "worker_started": started, **extra}


# --- the rule --------------------------------------------------------------------------------

def test_a_job_of_a_dead_process_on_this_host_is_abandoned() -> None:
    reason = job_recovery.abandoned(running(f"{HOST}:{dead_pid()}"), 120)
    assert reason is not None and "已不存在" in reason


def test_a_job_of_a_live_process_with_a_fresh_heartbeat_is_not() -> None:
    me = job_process.process_start(os.getpid())
    assert job_recovery.abandoned(running(job_process.worker_id(), started=me), 120) is None
    # nor is one on another host whose heartbeat is fresh: nothing here can tell it is gone
    assert job_recovery.abandoned(running("elsewhere:1234", beat_age=5), 120) is None


def test_a_stale_heartbeat_from_another_host_is_abandoned() -> None:
    reason = job_recovery.abandoned(running("elsewhere:1234", beat_age=300), 120)
    assert reason is not None and "300 秒没有心跳" in reason and "elsewhere:1234" in reason
    # even a local, live process: it has stopped writing (frozen, or its storage unreachable)
    assert job_recovery.abandoned(running(job_process.worker_id(), beat_age=300), 120) is not None


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_reused_pid_is_told_apart_by_its_start_time() -> None:
    me = job_process.process_start(os.getpid())
    assert me is not None
    boot, _, ticks = me.rpartition(":")
    # the record's process had this pid but started at another time: it is gone
    rec = running(job_process.worker_id(), started=f"{boot}:{int(ticks) - 1}")
    reason = job_recovery.abandoned(rec, 120)
    assert reason is not None and "进程号已被另一个进程使用" in reason


def test_only_running_jobs_can_be_abandoned() -> None:
    for status in ("queued", "done", "failed"):
        rec = {**running(f"{HOST}:{dead_pid()}", beat_age=1000), "status": status}
        assert job_recovery.abandoned(rec, 120) is None


# --- the heartbeat ----------------------------------------------------------------------------

def test_a_running_job_names_its_worker_and_beats_while_its_progress_stands_still(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "HEARTBEAT_SECONDS", 0.05)
    h = jobs.queue(Settings(var_dir=tmp_path / "var"))
    jobs.write(h, "beating", id="beating", kind="index_sync", status="queued")
    seen: dict[str, Any] = {}
    release = threading.Event()

    def body(progress: jobs.Progress) -> dict[str, Any]:
        progress("编码文本", 1, 10)  # then nothing moves for a while
        first = jobs.record(h, "beating")
        time.sleep(0.4)
        seen.update(first=first, later=jobs.record(h, "beating"), marked=job_recovery._running_ids(h))
        release.set()
        return {"ok": True}

    jobs.run(h, "beating", body)
    assert release.is_set()
    first, later = seen["first"], seen["later"]
    assert first["worker"] == f"{HOST}:{os.getpid()}" and first["status"] == "running"
    assert later["heartbeat"] - first["heartbeat"] >= 0.2 and later["done"] == 1  # beat, progress as it was
    assert seen["marked"] == ["beating"]
    end = jobs.record(h, "beating")
    assert end is not None and end["status"] == "done" and end["result"] == {"ok": True}
    assert job_recovery._running_ids(h) == []  # unmarked at the end
    time.sleep(0.2)  # the heartbeat stopped: no beat after the end
    assert jobs.record(h, "beating") == end


# --- the sweep --------------------------------------------------------------------------------

def _log(session: Session, *, file_hash: str = "", inserted: int = 0, age: float = 600) -> int:
    log = ImportLog(kind="demands", filename="需求.csv", imported_by="staff", status="running", rejects=[],
                    file_hash=file_hash, inserted=inserted, unchanged=0, updated=0,
                    started_at=datetime.now(UTC) - timedelta(seconds=age))
    session.add(log)
    session.commit()
    return log.id


def _running_job(h: Any, job_id: str, worker: str, **extra: Any) -> None:
    jobs.write(h, job_id, id=job_id, kind=extra.pop("kind", "import_file"), status="running", stage="读取表格",
               worker=worker, heartbeat=time.time(), **extra)
    h.storage.put_data(jobs.RUNNING + job_id, b"1")


def check_sweep(settings: Settings, session_factory: sessionmaker) -> None:
    h = jobs.queue(settings)
    with session_factory() as s:
        dead_log, live_log = _log(s, inserted=2000), _log(s)
        orphan, young_orphan, synchronous, queued_log = _log(s), _log(s, age=5), _log(s, file_hash="ab" * 32), _log(s)
    _running_job(h, "dead0001", f"{HOST}:{dead_pid()}", import_id=dead_log)
    h.storage.put_data(jobs.import_key(dead_log), h.serializer.serialize("dead0001"))
    _running_job(h, "live0001", job_process.worker_id(), import_id=live_log,
                 worker_started=job_process.process_start(os.getpid()))
    h.storage.put_data(jobs.import_key(live_log), h.serializer.serialize("live0001"))
    _running_job(h, "plan0001", f"{HOST}:{dead_pid()}", kind="plan_event")
    jobs.write(h, "queued01", id="queued01", kind="import_file", status="queued", import_id=queued_log)
    h.storage.put_data(jobs.import_key(queued_log), h.serializer.serialize("queued01"))

    ended = job_recovery.sweep(settings)

    assert sorted(ended["jobs"]) == ["dead0001", "plan0001"]
    assert sorted(ended["imports"]) == sorted([dead_log, orphan])
    dead = jobs.record(h, "dead0001")
    assert dead is not None and dead["status"] == "failed" and dead["stage"] == "中断"
    assert dead["error"].startswith("任务中断：处理它的进程已退出（进程 ") and "已导入的 2000 行已保存" in dead["error"]
    plan = jobs.record(h, "plan0001")
    assert plan is not None and plan["status"] == "failed" and plan["error"].endswith("请重新上传或重新运行")
    assert jobs.record(h, "live0001")["status"] == "running"  # type: ignore[index]
    assert jobs.record(h, "queued01")["status"] == "queued"  # type: ignore[index]
    assert job_recovery._running_ids(h) == ["live0001"]
    with session_factory() as s:
        logs = {i: s.get(ImportLog, i) for i in (dead_log, live_log, orphan, young_orphan, synchronous, queued_log)}
        assert logs[dead_log].status == "failed" and logs[dead_log].error == dead["error"]  # type: ignore[union-attr]
        assert logs[dead_log].finished_at is not None and logs[dead_log].inserted == 2000  # type: ignore[union-attr]
        assert logs[orphan].status == "failed" and "排队前退出" in logs[orphan].error  # type: ignore[union-attr]
        # a live job's log, a log just written, a queued job's, and a synchronous import's with no
        # record (from before they were registered, or its job storage was down): left alone
        assert {logs[i].status for i in (live_log, young_orphan, synchronous, queued_log)} == {"running"}  # type: ignore[union-attr]
    assert job_recovery.sweep(settings) == {"jobs": [], "imports": []}  # nothing left to do


def test_a_worker_sweep_ends_abandoned_jobs_and_their_logs(tmp_path: Path, session_factory: sessionmaker,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "_CONTEXT", {"session_factory": session_factory})
    check_sweep(Settings(var_dir=tmp_path / "var"), session_factory)


@pytest.fixture
def redis_settings(tmp_path: Path) -> Iterator[Settings]:
    url = redis_url(13)
    settings = Settings(var_dir=tmp_path / "var", job_queue=url)
    yield settings
    jobs.queue(settings).storage.flush_all()  # leave Redis db 13 as it was


def test_the_sweep_works_on_the_redis_queue_too(redis_settings: Settings, session_factory: sessionmaker,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "_CONTEXT", {"session_factory": session_factory})
    jobs.queue(redis_settings).storage.flush_all()
    check_sweep(redis_settings, session_factory)


def test_an_embedded_worker_sweeps_when_it_starts(tmp_path: Path, session_factory: sessionmaker,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "_CONTEXT", {"session_factory": session_factory})
    settings = Settings(var_dir=tmp_path / "var")
    h = jobs.queue(settings)
    _running_job(h, "dead0002", f"{HOST}:{dead_pid()}", kind="index_sync")
    worker = job_worker.start_embedded_worker(settings)
    try:
        rec = jobs.record(h, "dead0002")
        assert rec is not None and rec["status"] == "failed" and rec["error"].startswith("任务中断")
    finally:
        worker.stop(graceful=True)


def test_waiting_on_an_abandoned_job_ends_with_it_failed(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    h = jobs.queue(settings)
    _running_job(h, "dead0003", f"{HOST}:{dead_pid()}", kind="nightly")
    rec = job_recovery.wait(settings, "dead0003", timeout=5)
    assert rec is not None and rec["status"] == "failed" and "已不存在" in rec["error"]
