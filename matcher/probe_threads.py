"""Where a query's FAISS searches run: beside its own thread, or in it.

FAISS releases the GIL while it searches. While a process ranks one query at
a time, its nearest-neighbour searches (~2.5 ms of ~15 at 250k experts) run in
a probe thread on the second core as the query's own thread computes the
lexical tops; with several queries in flight the cores are busy already, and
a hand-off would only add its latency to each, so the searches run inline.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


class ProbeThreads:
    def __init__(self, threads: int = 2) -> None:
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._in_flight = 0

    @contextmanager
    def ranking(self) -> Iterator[None]:
        """Counts a query in flight for as long as it is ranked."""
        with self._lock:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def submit(self, fn: Callable[..., T], *args: object) -> Future[T]:
        """``fn(*args)`` in a probe thread when this is the only query in flight,
        else at once in the caller's thread (its future already done)."""
        if self._in_flight <= 1:
            return self._executor().submit(fn, *args)
        done: Future[T] = Future()
        try:
            done.set_result(fn(*args))
        except BaseException as exc:  # handed to whoever reads the result, as the pool would
            done.set_exception(exc)
        return done

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="kejie-probe")
        return self._pool


PROBES = ProbeThreads()  # one per process: the cores are the process's, not a ranker's
