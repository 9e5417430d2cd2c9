"""The embedded job worker: one thread of the web process that takes jobs from the
queue (:func:`kejie.job_tasks.task_queue`, the tasks defined) and runs them, and
sweeps abandoned jobs (:mod:`kejie.job_recovery`) when it starts and every
``job_stale_after`` seconds after. ``kejie jobs worker`` runs Huey's own consumer
on the same queue instead."""

from __future__ import annotations

import contextlib
import os
import threading
import time

from huey import Huey

from kejie.job_recovery import safe_sweep
from kejie.job_tasks import task_queue
from kejie.settings import Settings


class EmbeddedWorker:
    """One thread in this process that takes jobs from the queue and runs them (the
    embedded default). Huey's own consumer installs signal handlers, which only the
    main thread may do; a web app starts in whatever thread its server gives it.
    The thread runs at ``nice`` (Linux), so the requests of the process go first.
    With ``settings`` it sweeps abandoned jobs when it starts and every
    ``job_stale_after`` seconds (:func:`kejie.job_recovery.sweep`)."""

    _count = 0

    def __init__(self, h: Huey, idle: float = 0.2, nice: int = 10, settings: Settings | None = None) -> None:
        self.h = h
        self.idle = idle
        self.nice = nice
        self.settings = settings
        self._next_sweep = 0.0
        self._stop = threading.Event()
        EmbeddedWorker._count += 1
        self._thread = threading.Thread(target=self._run, name=f"kejie-jobs-{EmbeddedWorker._count}", daemon=True)

    def start(self) -> EmbeddedWorker:
        self._sweep()  # before the first job: what a killed process left running ends failed now
        self._thread.start()
        return self

    def _sweep(self) -> None:
        if self.settings is None:
            return
        self._next_sweep = time.monotonic() + self.settings.job_stale_after
        safe_sweep(self.settings)

    def _run(self) -> None:
        if self.nice and hasattr(os, "setpriority"):
            # Linux: a thread has its own nice value; requests in this process go first
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.nice)
        while not self._stop.is_set():
            if self.settings is not None and time.monotonic() >= self._next_sweep:
                self._sweep()
            try:
                task = self.h.dequeue()
            except Exception:  # noqa: BLE001 — a queue hiccup (locked SQLite file, Redis restart): try again
                task = None
            if task is None:
                self._stop.wait(self.idle)
                continue
            self.h.execute(task)  # the task writes its own record, failures included

    def stop(self, graceful: bool = True) -> None:
        self._stop.set()
        if graceful:
            self._thread.join(timeout=60)


def start_embedded_worker(settings: Settings) -> EmbeddedWorker:
    """The embedded job worker of these settings, started; ``stop()`` it at shutdown."""
    return EmbeddedWorker(task_queue(settings), settings=settings).start()
