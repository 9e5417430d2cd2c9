"""The indexes one process holds in memory, one per kind, and their reloads.

Several processes share an index folder (``kejie serve --workers N``, a job
worker, ``kejie index build``). Each keeps its own copy in memory and finds
another's save by ``meta.json``, which every save replaces atomically. A
writer reloads at once, under the folder's lock (``kejie.index_files``), since
it must change the newest copy. A reader does not wait for that: it starts the
reload in a thread (read the files under that lock, then build and warm the
snapshot that queries read) and answers from the copy it has until the new
one is ready. Only the
queries of the reload's first ``RELOAD_WAIT`` seconds wait for it, and only
while the kind's last reload took less than that (before any, while the index
has at most ``WAIT_UP_TO_ROWS`` rows): on a small index, which reloads in
milliseconds, the next query anywhere sees a write; at 250,000 experts, where
a reload takes 1-2 s, no query waits. Before, every query of the process
waited that long after each write in another process.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kejie.index_files import folder_lock
from matcher.errors import IndexOutOfDate
from matcher.index import CandidateIndex

log = logging.getLogger(__name__)
RELOAD_WAIT = 0.3  # seconds a query waits for a reload it finds in flight (from its start)
# rows above which a first reload is taken to be slower than that (~1.5 s at 250k)
WAIT_UP_TO_ROWS = 20_000


@dataclass
class _Reload:
    version: int
    started: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)


class LoadedIndexes:
    """``get(kind)``: the in-memory index of ``kind``, loaded on first use and
    reloaded when another process saved the folder.

    ``directory(kind)`` is the kind's folder, ``load(directory)`` reads it
    (raising ``IndexOutOfDate`` when it is absent, out of date or unreadable)
    and ``empty(kind)`` makes a new, empty index."""

    def __init__(self, directory: Callable[[str], Path], load: Callable[[Path], CandidateIndex],
                 empty: Callable[[str], CandidateIndex]) -> None:
        self._directory = directory
        self._load = load
        self._empty = empty
        self.reload_wait = RELOAD_WAIT
        self._indexes: dict[str, CandidateIndex] = {}
        self._disk: dict[str, int] = {}  # the save each held copy was read from (or written as)
        # bumped whenever this process replaces a kind's copy itself (a writer's read, a
        # rebuild), not by a background reload: a reload started before is then dropped
        self._generation: dict[str, int] = {}
        self._saving: set[str] = set()
        self._reloads: dict[str, _Reload] = {}
        self._failed: dict[str, int] = {}  # a save a background reload could not read
        self._took: dict[str, float] = {}  # seconds the last background reload of a kind took
        self._lock = threading.RLock()  # held briefly: never while files are read

    def disk_version(self, kind: str) -> int:
        """Which save the folder holds (0: none). A new inode of ``meta.json``
        (with its mtime and size) tells that someone rewrote it."""
        try:
            st = (self._directory(kind) / "meta.json").stat()
        except FileNotFoundError:
            return 0
        return hash((st.st_ino, st.st_mtime_ns, st.st_size)) or 1

    def save(self, kind: str, idx: CandidateIndex, build_ann: bool = False) -> None:
        # while this process rewrites the files, readers must not take them for
        # another process's save and reload them
        with self._lock:
            self._saving.add(kind)
        try:
            idx.save(self._directory(kind), build_ann=build_ann)
            with self._lock:
                self._disk[kind] = self.disk_version(kind)
        finally:
            with self._lock:
                self._saving.discard(kind)

    def replace(self, kind: str, idx: CandidateIndex) -> None:
        """Hold ``idx`` (a rebuilt index) for ``kind`` from now on."""
        with self._lock:
            self._set(kind, idx, self._disk.get(kind, self.disk_version(kind)))

    def get(self, kind: str, create: bool = True, fresh: bool = False) -> CandidateIndex:
        """The index of ``kind``. ``fresh``: the newest save, read now if need be
        (writers); otherwise a newer save is read in the background (see above).
        ``create``: an empty index where the folder holds none (else ``IndexOutOfDate``)."""
        with self._lock:
            idx = self._indexes.get(kind)
            on_disk = self.disk_version(kind)
            if idx is not None and (kind in self._saving or on_disk in (0, self._disk.get(kind))):
                return idx
            if idx is None or fresh:
                return self._load_now(kind, idx, on_disk, create)
            if self._failed.get(kind) == on_disk:
                return idx  # that save could not be read: wait for the next one
            # one reload at a time: a save that lands meanwhile is read after it
            reload = self._reloads.get(kind) or self._start_reload(kind, idx, on_disk)
        # not waited for at all where the kind's last reload took longer than the wait
        # (before any, where the index is large)
        took = self._took.get(kind, 0.0 if len(idx) <= WAIT_UP_TO_ROWS else math.inf)
        budget = self.reload_wait if took <= self.reload_wait else 0.0
        reload.done.wait(max(0.0, reload.started + budget - time.monotonic()))
        with self._lock:
            return self._indexes[kind]

    def wait_for_reloads(self, timeout: float = 60.0) -> None:
        """Until the reloads in flight are done (for tests and tools)."""
        with self._lock:
            pending = list(self._reloads.values())
        for r in pending:
            r.done.wait(timeout)

    # -- internals ----------------------------------------------------------------
    def _set(self, kind: str, idx: CandidateIndex, version: int, local: bool = True) -> None:
        self._indexes[kind] = idx
        self._disk[kind] = version
        if local:
            self._generation[kind] = self._generation.get(kind, 0) + 1

    def _load_now(self, kind: str, old: CandidateIndex | None, on_disk: int, create: bool) -> CandidateIndex:
        try:
            idx = self._load(self._directory(kind))
            if old is not None and self.disk_version(kind) != on_disk:
                return old  # saved again while being read: keep ours, reload next time
            idx.warm_in_background()  # beside the first queries, not by them
        except IndexOutOfDate as exc:
            if old is not None:
                return old  # files in the middle of another process's save: next time
            if not create:
                raise
            if (self._directory(kind) / "meta.json").exists():  # unreadable, not just absent
                log.warning("%s：将从数据库重建", exc)
            idx = self._empty(kind)
        self._set(kind, idx, on_disk)
        return idx

    def _start_reload(self, kind: str, old: CandidateIndex, on_disk: int) -> _Reload:
        reload = self._reloads[kind] = _Reload(on_disk)
        generation = self._generation.get(kind, 0)
        threading.Thread(target=self._reload, args=(kind, reload, generation, old), daemon=True,
                         name=f"kejie-reload-{kind}").start()
        return reload

    def _reload(self, kind: str, reload: _Reload, generation: int, old: CandidateIndex) -> None:
        # at normal priority: at nice 10 (the job thread's) the queries' p95 during
        # reloads at 250k stayed at the baseline's, but a write was answered from
        # 2.1-3.4 s after its save instead of ~1.9 s (bench/bench_reload.py)
        try:
            # the files under the folder's lock, which every save holds: never a mix of
            # two saves (records of one, vectors of the other pass the count checks
            # after an edit); a writer elsewhere waits the ~0.2 s this takes at 250k
            with folder_lock(self._directory(kind)):
                if self.disk_version(kind) != reload.version:
                    return  # saved again since: the next query starts another reload
                idx = self._load(self._directory(kind))
            read = time.monotonic()
            idx.warm_like(old)  # what its queries used is built before the swap
            with self._lock:
                # not if this process replaced its copy meanwhile (a writer reads the
                # newest save itself, and may have written a newer one since)
                swapped = self._generation.get(kind, 0) == generation
                if swapped:
                    self._set(kind, idx, reload.version, local=False)
                took = self._took[kind] = time.monotonic() - reload.started
            log.info("%s 索引：读取另一进程的保存 %.2f s，快照 %.2f s%s", kind, read - reload.started,
                     took - (read - reload.started), "" if swapped else "（本进程已写入更新的，弃用）")
        except IndexOutOfDate as exc:
            with self._lock:
                self._failed[kind] = reload.version
            log.info("%s：保留当前索引，下次保存后再读", exc)
        except Exception:  # a reload must never take the process's queries down with it
            with self._lock:
                self._failed[kind] = reload.version
            log.exception("重新读取 %s 索引失败；保留当前索引", kind)
        finally:
            with self._lock:
                if self._reloads.get(kind) is reload:
                    del self._reloads[kind]
            reload.done.set()
