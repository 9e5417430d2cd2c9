"""Who runs a job (kejie.job_process): ``host:pid``, the process's start time and
whether it still lives (Linux: read /proc)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kejie import job_process


def test_the_worker_is_this_host_and_process() -> None:
    assert job_process.worker_id() == f"{socket.gethostname()}:{os.getpid()}"


def test_a_reaped_process_is_not_alive_and_this_one_is() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not job_process.pid_alive(proc.pid)
    assert job_process.pid_alive(os.getpid())


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_start_time_names_one_process() -> None:
    me = job_process.process_start(os.getpid())
    assert me is not None and me == job_process.process_start(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        other = job_process.process_start(child.pid)
        assert other is not None and other != me and other.rpartition(":")[0] == me.rpartition(":")[0]  # same boot
    finally:
        child.kill()
        child.wait()
    assert job_process.process_start(child.pid) is None  # gone: no /proc entry
