"""Event planning as a background job: the request returns at once with a job id,
the job reports its progress, and its result is the plan (SQLite queue by default,
Redis when configured; SQLite and PostgreSQL databases)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kejie import job_recovery, job_tasks, job_worker, jobs
from kejie.settings import Settings
from tests.api.test_events import _event
from tests.conftest import redis_url


def _wait(client: TestClient, staff: dict[str, str], job_id: str, seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    seen: list[str] = []
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}", headers=staff).json()
        seen.append(job["status"])
        if job["status"] in ("done", "failed"):
            job["seen"] = seen
            return job
        time.sleep(0.1)
    pytest.fail(f"job {job_id} did not finish: {seen[-5:]}")


def wait_page(client: TestClient, url: str, seconds: float = 60) -> str:
    """The job page at ``url`` once its job has ended (the page refreshes itself in a browser)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page = client.get(url)
        assert page.status_code == 200, page.text
        if 'data-status="done"' in page.text or 'data-status="failed"' in page.text:
            return page.text
        time.sleep(0.1)
    pytest.fail(f"the job of {url} did not finish")


def test_plan_job_returns_at_once_and_ends_with_the_plan(client: TestClient, staff: dict[str, str],
                                                        expert: dict[str, str], worker: None) -> None:
    ev = _event(client, staff)
    r = client.post(f"/events/{ev['id']}/plan/jobs", headers=staff)
    assert r.status_code == 202, r.text
    queued = r.json()
    assert queued["status"] in ("queued", "running") and queued["kind"] == "plan_event"
    job = _wait(client, staff, queued["id"])
    assert job["status"] == "done", job
    assert job["result"]["created"] is True and job["result"]["version"] == 1 and job["done"] == job["total"] == 3
    plan = client.get(job["url"], headers=staff).json()
    assert plan["id"] == job["result"]["match_list_id"] and plan["items"]
    # experts see no jobs; an unknown or malformed id is a 404 / 422, never a 500
    assert client.get(f"/jobs/{queued['id']}", headers=expert).status_code == 403
    assert client.get("/jobs/0123456789abcdef", headers=staff).status_code == 404
    assert client.get("/jobs/..%2Fetc", headers=staff).status_code in (404, 422)
    assert client.post("/events/999999/plan/jobs", headers=staff).status_code == 404


def test_a_failing_job_says_why(client: TestClient, staff: dict[str, str], worker: None,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    from kejie.events import runs

    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("评分服务不可用")

    monkeypatch.setattr(runs, "plan_event_for", broken)
    ev = _event(client, staff)
    job = _wait(client, staff, client.post(f"/events/{ev['id']}/plan/jobs", headers=staff).json()["id"])
    assert job["status"] == "failed" and "评分服务不可用" in job["error"]


def test_job_page_shows_progress_then_the_result(client: TestClient, staff: dict[str, str], worker: None) -> None:
    from tests.api.test_web_pages import csrf_of, web_login

    ev = _event(client, staff)
    web_login(client, "staff", "staff123")  # the cookie session the pages use
    page = client.get(f"/web/events/{ev['id']}")
    assert "后台生成" in page.text
    csrf = csrf_of(page.text)
    r = client.post(f"/web/events/{ev['id']}/plan-job", data={"csrf": csrf}, follow_redirects=False,
                    headers={"Origin": "http://testserver"})
    assert r.status_code in (302, 303), r.text
    job_url = r.headers["location"]
    job_id = job_url.rsplit("/", 1)[1]
    _wait(client, staff, job_id)
    done = client.get(job_url)
    assert done.status_code == 200 and 'data-status="done"' in done.text and "查看方案" in done.text
    assert client.get("/web/jobs/not-a-job").status_code == 404


def test_jobs_run_on_redis_too(api_settings: Settings, session_factory, match_service, client: TestClient,  # type: ignore[no-untyped-def]
                               staff: dict[str, str]) -> None:
    url = redis_url(15)
    settings = api_settings.model_copy(update={"job_queue": url})
    jobs.bind(session_factory, match_service)
    consumer = job_worker.start_embedded_worker(settings)  # a worker elsewhere would call the same
    try:
        ev = _event(client, staff)
        rec = job_tasks.enqueue(settings, "plan_event", ev["id"], 1)
        deadline = time.monotonic() + 60
        while (jobs.record(jobs.queue(settings), rec["id"]) or {}).get("status") not in ("done", "failed"):
            assert time.monotonic() < deadline, "the Redis job did not finish"
            time.sleep(0.1)
        assert jobs.record(jobs.queue(settings), rec["id"])["status"] == "done"  # type: ignore[index]
    finally:
        consumer.stop(graceful=True)
        jobs.queue(settings).storage.flush_all()  # leave Redis db 15 as it was


def test_an_index_sync_job_shards_a_large_backlog(api_settings: Settings, session_factory, match_service,  # type: ignore[no-untyped-def]
                                                  world: Any) -> None:
    settings = api_settings.model_copy(update={"job_shard_min": 5, "job_shard_size": 4})
    jobs.bind(session_factory, match_service)
    workers = [job_worker.start_embedded_worker(settings) for _ in range(2)]
    try:
        rec = job_tasks.enqueue(settings, "index_sync", [], False)
        done = job_recovery.wait(settings, rec["id"], timeout=120)
    finally:
        for w in workers:
            w.stop(graceful=True)
    assert done is not None and done["status"] == "done", done
    result = done["result"]
    assert result["encoded"] >= 5 and sum(result["shards"].values()) == result["encoded"]
    stages = {s["stage"]: s for s in done["stages"]}
    assert stages["编码文本"]["done"] == stages["编码文本"]["total"] == result["encoded"]
    assert result["expert_added"] == 4 and result["demand_added"] == 3
    with session_factory() as s:  # everything the sync needed is in the shared cache now
        from matcher.index import CandidateIndex

        texts = [t for kind in ("expert", "society", "demand")
                 for t in CandidateIndex.passage_texts(match_service.load_candidates(s, kind))]
    assert match_service.encoder.missing(texts, "passage") == 0


def test_a_job_whose_worker_died_is_shown_failed_not_running(client: TestClient, staff: dict[str, str],
                                                             api_settings: Settings, session_factory) -> None:  # type: ignore[no-untyped-def]
    from models import ImportLog
    from tests.api.test_web_pages import web_login
    from tests.kejie.test_job_recovery import HOST, dead_pid

    with session_factory() as s:
        log = ImportLog(kind="experts", filename="专家.csv", imported_by="staff", status="running", rejects=[],
                        inserted=1000)
        s.add(log)
        s.commit()
        import_id = log.id
    h = jobs.queue(api_settings)
    # the record a worker killed mid-import leaves: running, its process gone
    jobs.write(h, "deadbeef01", id="deadbeef01", kind="import_file", status="running", stage="读取表格",
               done=3, total=10, worker=f"{HOST}:{dead_pid()}", heartbeat=time.time(), import_id=import_id,
               user="staff")
    job = client.get("/jobs/deadbeef01", headers=staff).json()
    assert job["status"] == "failed" and job["url"] == f"/imports/{import_id}"
    assert job["error"].startswith("任务中断：处理它的进程已退出") and "已导入的 1000 行已保存" in job["error"]
    with session_factory() as s:
        log = s.get(ImportLog, import_id)
        assert log is not None and log.status == "failed" and log.error == job["error"]
    assert client.get(f"/imports/{import_id}", headers=staff).json()["status"] == "failed"
    jobs.write(h, "deadbeef02", id="deadbeef02", kind="plan_event", status="running", stage="评分与求解",
               worker=f"{HOST}:{dead_pid()}", heartbeat=time.time(), user="staff")
    web_login(client, "staff", "staff123")
    page = client.get("/web/jobs/deadbeef02")
    assert page.status_code == 200 and 'data-status="failed"' in page.text and "任务中断" in page.text
