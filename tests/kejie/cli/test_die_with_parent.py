"""A ``kejie serve`` worker ends when its supervisor is killed with -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.processes import running

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")

# the "supervisor": starts a "worker" that asks to die with it, prints the worker's pid, waits
SUPERVISOR = """
import subprocess, sys, time
w = subprocess.Popen([sys.executable, "-c", '''
import os, sys, time
from kejie.cli.serve import die_with_parent
die_with_parent(os.getppid())
print("armed", flush=True)
time.sleep(120)
'''], stdout=subprocess.PIPE, text=True)
assert w.stdout.readline().strip() == "armed"
print(w.pid, flush=True)
time.sleep(120)
"""


def test_a_worker_ends_when_its_supervisor_is_killed() -> None:
    sup = subprocess.Popen([sys.executable, "-c", SUPERVISOR], stdout=subprocess.PIPE, text=True)
    assert sup.stdout is not None
    worker = int(sup.stdout.readline())
    try:
        assert running(worker)
        sup.kill()  # SIGKILL: the supervisor cannot stop anything itself
        sup.wait(10)
        deadline = time.monotonic() + 10
        while running(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not running(worker)
    finally:
        if running(worker):
            os.kill(worker, signal.SIGKILL)


def test_no_parent_given_changes_nothing() -> None:
    from kejie.cli.serve import die_with_parent

    die_with_parent(0)  # not a worker (one-process serve): no signal is armed
    got = subprocess.run([sys.executable, "-c", "from kejie.cli.serve import die_with_parent; "
                          "die_with_parent(0); print('still here')"], capture_output=True, text=True, timeout=60)
    assert got.stdout.strip() == "still here"
