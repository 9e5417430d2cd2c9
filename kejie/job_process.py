"""The process that runs a job, as its record names it: ``host:pid`` (:func:`worker_id`),
when that process started (:func:`process_start`, so a reused pid is told apart) and
whether it still lives (:func:`pid_alive`). :func:`kejie.jobs.running` writes the
first two into a running job's record; :func:`kejie.job_recovery.abandoned` reads them."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def worker_id() -> str:
    """Who runs a job: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` from field 3 (state) on; None without it."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()  # field 2, the command, may hold spaces and ")"


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def process_start(pid: int) -> str | None:
    """When process ``pid`` started (boot id and field 22 of /proc/<pid>/stat, clock
    ticks since boot): with the pid it names one process, even once the pid is reused."""
    fields = _proc_stat(pid)
    return f"{_boot_id()}:{fields[19]}" if fields and len(fields) > 19 else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    fields = _proc_stat(pid)
    return not (fields and fields[0] in ("Z", "X"))  # a zombie: killed, its parent has not reaped it yet
