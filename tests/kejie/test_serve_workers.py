"""``kejie serve --workers 2``: two processes share the saved index; an import
through one of them is what every later query sees, whichever worker answers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import children, running

pytestmark = pytest.mark.slow

NEW_EXPERT = ("专家编号,姓名,职称,工作单位,研究方向,关键词\n"
              "NEW1,专家防护,教授,福州大学,高压LED驱动芯片ESD防护与浪涌防护器件；BCD工艺TCAD仿真,ESD防护\n")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, token: str) -> dict:  # a new connection per call: any worker may answer
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


@pytest.fixture
def server(tmp_path: Path, tiny_model_dir: Path) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "KEJIE_ENCODER": "sentence-transformers", "KEJIE_ENCODER_MODEL": str(tiny_model_dir),
           "KEJIE_VAR_DIR": str(tmp_path / "var"), "KEJIE_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}"}
    proc = subprocess.Popen([sys.executable, "-c", "from kejie.cli import main; main()", "serve",
                             "--workers", "2", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"server exited: {proc.stdout.read() if proc.stdout else ''}")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("server did not come up")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_a_write_in_one_worker_is_seen_by_every_worker(server: str) -> None:
    form = urllib.parse.urlencode({"username": "staff", "password": "staff123"}).encode()
    with urllib.request.urlopen(urllib.request.Request(server + "/auth/token", data=form), timeout=30) as r:
        token = json.loads(r.read())["access_token"]
    url = server + "/demands/1/matches?kind=experts&top_k=5"
    before = [[m["name"] for m in _get(url, token)["items"]] for _ in range(6)]  # warms both workers
    assert all("专家防护" not in names for names in before)

    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nexperts\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"new.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n{NEW_EXPERT}\r\n--{boundary}--\r\n").encode()
    req = urllib.request.Request(server + "/imports?wait=true", data=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(req, timeout=120) as r:
        assert json.loads(r.read())["inserted"] == 1

    after = [[m["name"] for m in _get(url, token)["items"]] for _ in range(12)]
    assert all("专家防护" in names for names in after), after


def _post(url: str, token: str, payload: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {"detail": exc.read().decode("utf-8", "replace")}


def test_concurrent_writes_in_both_workers_all_reach_the_index_files(server: str, tmp_path: Path) -> None:
    import threading

    from matcher.index import CandidateIndex

    form = urllib.parse.urlencode({"username": "staff", "password": "staff123"}).encode()
    with urllib.request.urlopen(urllib.request.Request(server + "/auth/token", data=form), timeout=30) as r:
        token = json.loads(r.read())["access_token"]
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def writer(w: int) -> None:
        for n in range(8):  # a new connection per request: both workers take writes at once
            got = _post(server + "/demands", token, {
                "enterprise_name": f"并发企业{w}", "city": "福州市", "title": f"并发需求{w}-{n}：电池材料",
                "description": f"第{w}-{n}次：需要正极材料包覆改性技术。"})
            with lock:
                results.append(got)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [code for code, _ in results] == [201] * 24, results
    created = {str(body["id"]) for _, body in results}
    meta = next((tmp_path / "var" / "index").glob("*/demand/meta.json"))
    saved = set(CandidateIndex.load(meta.parent).ids())
    assert created <= saved, sorted(created - saved)  # no worker's save dropped another's write


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killing_the_supervisor_with_minus_9_frees_the_port(tmp_path: Path, tiny_model_dir: Path) -> None:
    port = _free_port()
    env = {**os.environ, "KEJIE_ENCODER": "sentence-transformers", "KEJIE_ENCODER_MODEL": str(tiny_model_dir),
           "KEJIE_VAR_DIR": str(tmp_path / "var"), "KEJIE_DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}",
           "KEJIE_SERVE_WORKERS": "2"}  # the setting, not --workers
    proc = subprocess.Popen([sys.executable, "-c", "from kejie.cli import main; main()", "serve",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and len(workers) < 2:
            assert proc.poll() is None, "server exited during start-up"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    workers = [c for c in children(proc.pid) if running(c)]
            except OSError:
                pass
            time.sleep(0.3)
        assert len(workers) >= 2, workers  # uvicorn may also keep a resource tracker; both workers at least
        proc.kill()
        proc.wait(10)
        deadline = time.monotonic() + 15
        while any(running(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(running(w) for w in workers)
        with socket.socket() as s:  # nothing holds the port: the next kejie serve can listen
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
    finally:
        for w in workers:
            if running(w):
                os.kill(w, 9)
        if proc.poll() is None:
            proc.kill()
