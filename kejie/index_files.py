"""One index folder, several processes (``kejie serve --workers N``, a job worker,
``kejie index build``): writes to it take turns.

Each process keeps its own copy of an index in memory and saves it after every
write. Two processes saving at once would mix their files (seen under load:
``record columns disagree`` and a 500), and a process saving a copy from before
another's write would drop that write from the files. So a writer holds the
folder's lock (a ``filelock`` file beside it) from the moment it checks for
another process's save, through its own changes, to the end of its save; a
process that finds a newer save reloads it under that lock before it writes.
Queries take no lock: they keep their copy until they find a newer save,
which a background thread then reads under the lock (``kejie.loaded_indexes``),
so it never reads files in the middle of a save.
"""

from __future__ import annotations

import threading
from pathlib import Path

from filelock import FileLock

_LOCKS: dict[Path, FileLock] = {}
_GUARD = threading.Lock()


def folder_lock(directory: Path) -> FileLock:
    """The inter-process write lock of an index folder (one object per folder in a
    process; it is re-entrant within a thread)."""
    key = directory.resolve()
    with _GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            key.parent.mkdir(parents=True, exist_ok=True)
            lock = _LOCKS[key] = FileLock(str(key) + ".lock")
        return lock
