"""Imports as background jobs: the upload returns at once with a job id (the import
is held back by a hook until the response is in, so this cannot pass by luck), the
job reports its stages and ends with the counts and rejects; a failing import ends
failed with its log ``failed``; experts see no import jobs (SQLite and PostgreSQL
databases; the SQLite queue, and Redis when it runs)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

import ingest
from kejie import job_process, job_recovery, job_worker, jobs
from kejie.match_service import MatchService
from kejie.settings import Settings
from models import ImportLog, User
from tests.api.test_imports import EXPERTS_CSV
from tests.api.test_jobs import _wait
from tests.api.test_web_pages import csrf_of, web_login
from tests.conftest import redis_url

CSV_FILE = {"file": ("2024年专家库.csv", EXPERTS_CSV.encode("utf-8"), "text/csv")}


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """``ingest.import_file`` waits for the returned event before it reads a row."""
    release = threading.Event()
    real = ingest.import_file

    def waiting(*args: Any, **kwargs: Any) -> Any:
        assert release.wait(30), "the test never released the import"
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest, "import_file", waiting)
    yield release
    release.set()


def test_upload_returns_a_job_then_the_job_ends_with_counts_and_rejects(
    client: TestClient, staff: dict[str, str], worker: None, held: threading.Event,
    session_factory: sessionmaker,
) -> None:
    started = time.perf_counter()
    r = client.post("/imports", headers=staff, data={"kind": "experts"}, files=CSV_FILE)
    assert r.status_code == 202, r.text
    assert time.perf_counter() - started < 2
    body = r.json()
    job_id, import_id = body["job"]["id"], body["import_id"]
    assert r.headers["location"] == body["poll"] == f"/jobs/{job_id}" and body["page"] == f"/web/jobs/{job_id}"
    assert body["job"]["kind"] == "import_file" and body["job"]["import_id"] == import_id
    # the import is held: nothing is read yet, the log says running
    with session_factory() as s:
        log = s.get(ImportLog, import_id)
        assert log is not None and log.status == "running" and log.rows_total == 0
    deadline = time.monotonic() + 30
    while (now := client.get(f"/jobs/{job_id}", headers=staff).json())["stage"] != "读取表格":
        assert now["status"] in ("queued", "running") and time.monotonic() < deadline, now
        time.sleep(0.05)
    assert now["status"] == "running"
    held.set()
    job = _wait(client, staff, job_id)
    assert job["status"] == "done", job
    result = job["result"]
    assert (result["rows_total"], result["inserted"], result["rejected"]) == (2, 1, 1)
    assert result["import_id"] == import_id and result["rejects"][0]["row"] == 3
    assert job["url"] == f"/imports/{import_id}"
    stages = {s["stage"]: s for s in job["stages"]}
    assert stages["读取表格"]["done"] == stages["读取表格"]["total"] > 0
    assert stages["编码文本"]["total"] >= 1 and stages["编码文本"]["done"] == stages["编码文本"]["total"]
    assert "更新索引" in stages
    report = client.get(job["url"], headers=staff).json()
    assert report["status"] == "done" and report["rejects"][0]["row"] == 3
    # the index was synced by the job: the new expert is found at once
    found = client.get("/search", headers=staff, params={"q": "海藻多糖提取", "kind": "experts", "top_k": 1})
    assert found.json()["items"][0]["name"] == "陈海洋"


def test_wait_true_imports_before_answering(client: TestClient, staff: dict[str, str]) -> None:
    r = client.post("/imports", headers=staff, params={"wait": "true"}, data={"kind": "experts"}, files=CSV_FILE)
    assert r.status_code == 201 and r.json()["inserted"] == 1 and r.json()["status"] == "done"


def test_a_wait_true_import_is_a_running_job_while_it_runs(
    client: TestClient, staff: dict[str, str], api_settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = jobs.queue(api_settings)
    seen: dict[str, Any] = {}
    real = ingest.import_file

    def watched(*args: Any, **kwargs: Any) -> Any:
        seen["rec"] = job_recovery.import_job(h, kwargs["log_id"])  # registered before a row is read
        seen["marked"] = job_recovery._running_ids(h)
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest, "import_file", watched)
    r = client.post("/imports?wait=true", headers=staff, data={"kind": "experts"}, files=CSV_FILE)
    assert r.status_code == 201, r.text
    import_id = r.json()["import_id"]
    rec = seen["rec"]
    assert rec is not None and rec["kind"] == "import_sync" and rec["status"] == "running"
    assert rec["import_id"] == import_id and rec["worker"] == job_process.worker_id() and rec["heartbeat"]
    assert seen["marked"] == [rec["id"]] and job_recovery._running_ids(h) == []
    # its record, like a queued import's job, leads to the import's report
    job = client.get(f"/jobs/{rec['id']}", headers=staff).json()
    assert job["kind"] == "import_sync" and job["status"] == "done" and job["url"] == f"/imports/{import_id}"
    assert job["result"]["inserted"] == r.json()["inserted"]


def test_bad_uploads_are_refused_at_once_naming_the_field(client: TestClient, staff: dict[str, str],
                                                         api_settings: Settings) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"file": ("empty.csv", b"", "text/csv")}, "file", "空文件"),
        ({"file": ("old.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 100, "application/vnd.ms-excel")}, "file", "old.xls"),
        ({"file": ("notes.txt", b"hello", "text/plain")}, "file", "notes.txt"),
    ]
    for files, field, word in cases:
        r = client.post("/imports", headers=staff, data={"kind": "experts"}, files=files)
        assert r.status_code == 422, r.text
        [err] = r.json()["detail"]
        assert err["field"] == field and word in err["reason"], err
    big = b"x" * (api_settings.max_upload_mb * 1024 * 1024 + 1)
    r = client.post("/imports", headers=staff, data={"kind": "experts"}, files={"file": ("big.csv", big, "text/csv")})
    assert r.status_code == 422 and "MB" in r.json()["detail"][0]["reason"]
    # nothing refused was kept, and no import log was started for it
    assert not any(api_settings.resolved_uploads_dir.glob("*/*"))
    assert client.get("/imports", headers=staff).json()["total"] == 0


def test_a_failing_import_ends_failed_with_its_log_failed(
    client: TestClient, staff: dict[str, str], worker: None, monkeypatch: pytest.MonkeyPatch,
    session_factory: sessionmaker, api_settings: Settings,
) -> None:
    real = ingest.import_file

    def disk_full(*_a: Any, **_k: Any) -> None:
        raise OSError(28, "磁盘已满")

    def failing(*args: Any, **kwargs: Any) -> Any:
        return real(*args, **{**kwargs, "progress": disk_full})

    monkeypatch.setattr(ingest, "import_file", failing)
    body = client.post("/imports", headers=staff, data={"kind": "experts"}, files=CSV_FILE).json()
    job = _wait(client, staff, body["job"]["id"])
    assert job["status"] == "failed" and job["error"].startswith("导入失败：") and "磁盘已满" in job["error"]
    with session_factory() as s:
        log = s.get(ImportLog, body["import_id"])
        assert log is not None and log.status == "failed" and "磁盘已满" in log.error
    assert not any(api_settings.resolved_uploads_dir.glob("*/*"))  # the stored upload is gone


def test_experts_see_no_import_jobs(client: TestClient, staff: dict[str, str], expert: dict[str, str],
                                    held: threading.Event) -> None:
    body = client.post("/imports", headers=staff, data={"kind": "experts"}, files=CSV_FILE).json()
    assert client.get(f"/jobs/{body['job']['id']}", headers=expert).status_code == 403
    assert client.post("/imports", headers=expert, data={"kind": "experts"}, files=CSV_FILE).status_code == 403
    web_login(client, "expert", "expert123")
    assert client.get(f"/web/jobs/{body['job']['id']}").status_code == 403


def test_upload_page_goes_to_the_job_page_which_shows_the_report(
    client: TestClient, staff: dict[str, str], worker: None, held: threading.Event
) -> None:
    web_login(client, "staff", "staff123")
    token = csrf_of(client.get("/web/imports").text)
    r = client.post("/web/imports", data={"csrf": token, "kind": "experts"}, files=CSV_FILE,
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    job_url = r.headers["location"]
    running = client.get(job_url)
    assert running.status_code == 200 and 'data-status="done"' not in running.text
    assert 'http-equiv="refresh"' in running.text and 'role="progressbar"' in running.text
    held.set()
    _wait(client, staff, job_url.rsplit("/", 1)[1])
    done = client.get(job_url)
    assert 'data-status="done"' in done.text and 'id="import-report"' in done.text
    assert 'id="rejects"' in done.text and "手机号码" in done.text and "rejects.xlsx" in done.text
    assert 'id="job-stages"' in done.text and "编码文本" in done.text
    bad = client.post("/web/imports", data={"csrf": token, "kind": "experts"},
                      files={"file": ("x.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 64, "application/vnd.ms-excel")})
    assert bad.status_code == 422 and "x.xls" in bad.text


def test_import_jobs_run_on_redis_too(api_settings: Settings, session_factory: sessionmaker,
                                      match_service: MatchService, world: Any) -> None:
    url = redis_url(14)
    import io

    from kejie.imports import start_import_job

    settings = api_settings.model_copy(update={"job_queue": url})
    jobs.bind(session_factory, match_service)
    consumer = job_worker.start_embedded_worker(settings)  # a worker elsewhere would call the same
    try:
        with session_factory() as s:
            user = s.get(User, world.staff_id)
            started = start_import_job(s, settings, user, "experts", "专家.csv",
                                       io.BytesIO(EXPERTS_CSV.encode()), max_bytes=1 << 20)
        seen: list[str] = []

        def on_change(rec: jobs.JobRecord) -> None:
            seen.append(rec["stage"])

        rec = job_recovery.wait(settings, started["job"]["id"], timeout=60, on_change=on_change)
        assert rec is not None and rec["status"] == "done", rec
        assert seen[-1] == "完成" and {s["stage"] for s in rec["stages"]} >= {"读取表格", "编码文本", "更新索引"}
        assert rec["result"]["inserted"] == 1 and rec["result"]["rejected"] == 1
    finally:
        consumer.stop(graceful=True)
        jobs.queue(settings).storage.flush_all()  # leave Redis db 14 as it was


def test_a_large_xlsx_without_its_header_fails_in_the_job_naming_the_header(
    client: TestClient, staff: dict[str, str], worker: None, monkeypatch: pytest.MonkeyPatch,
    session_factory: sessionmaker,
) -> None:
    import io

    from openpyxl import Workbook

    from kejie import imports

    monkeypatch.setattr(imports, "XLSX_HEADER_CHECK_BYTES", 0)  # every XLSX counts as large
    wb = Workbook()
    wb.active.append(["随便", "什么"])
    wb.active.append(["1", "2"])
    buf = io.BytesIO()
    wb.save(buf)
    r = client.post("/imports", headers=staff, data={"kind": "experts"},
                    files={"file": ("专家.xlsx", buf.getvalue(), "application/octet-stream")})
    assert r.status_code == 202, r.text
    job = _wait(client, staff, r.json()["job"]["id"])
    assert job["status"] == "failed" and "表头" in job["error"] and "专家.xlsx" in job["error"]
    with session_factory() as s:
        log = s.get(ImportLog, r.json()["import_id"])
        assert log is not None and log.status == "failed" and "表头" in log.error
