"""Encoding shards: a large backlog of texts to encode is cut into shards that any
job worker may take (``encode_shard`` tasks), each writing its vectors into the
shared embedding cache; the job that cut them takes shards itself while it waits,
so one worker alone still finishes. A sync afterwards finds every text cached (and
encodes whatever a lost shard left behind, so a dead worker costs time, not data).

A shard's texts wait in the queue's storage under ``kejie:shard:<batch>:<i>``;
taking one is an atomic ``pop_data`` (SQLite: a delete that counts its row;
Redis: MULTI/EXEC), so no shard is encoded twice. Its worker then writes
``kejie:shard:<batch>:<i>:done`` with who did it and how many texts.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from huey import Huey
from huey.constants import EmptyData

from matcher.cache import CachedEncoder

STALL_SECONDS = 600.0  # no shard finished for this long: stop waiting, the sync encodes the rest


def worker_name() -> str:
    """Who is encoding: host, process and thread."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


def _key(batch: str, i: int, suffix: str = "") -> str:
    return f"kejie:shard:{batch}:{i}{suffix}"


def cut(h: Huey, texts: Sequence[str], size: int, role: str = "passage") -> tuple[str, int]:
    """Store ``texts`` as shards of ``size`` and queue one ``encode_shard`` task each;
    returns (batch id, number of shards)."""
    batch = uuid.uuid4().hex
    chunks = [list(texts[i : i + size]) for i in range(0, len(texts), size)]
    for i, chunk in enumerate(chunks):
        h.storage.put_data(_key(batch, i), h.serializer.serialize({"texts": chunk, "role": role}))
    task = h.kejie_tasks["encode_shard"]  # type: ignore[attr-defined]
    for i in range(len(chunks)):
        h.enqueue(task.s(batch, i))
    return batch, len(chunks)


def take(h: Huey, encoder: CachedEncoder, batch: str, i: int) -> int:
    """Encode shard ``i`` of ``batch`` if nobody has taken it yet; returns texts encoded."""
    raw = h.storage.pop_data(_key(batch, i))
    if raw is EmptyData:
        return 0
    shard = h.serializer.deserialize(raw)
    texts = shard["texts"]
    if shard.get("role") == "query":
        encoder.encode_queries(texts)
    else:
        encoder.encode_passages(texts)
    h.storage.put_data(_key(batch, i, ":done"),
                       h.serializer.serialize({"worker": worker_name(), "n": len(texts)}))
    return len(texts)


def _finished(h: Huey, batch: str, shards: int) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for i in range(shards):
        raw = h.storage.peek_data(_key(batch, i, ":done"))
        if raw is not EmptyData:
            out[i] = h.serializer.deserialize(raw)
    return out


def wait(h: Huey, encoder: CachedEncoder | None, batch: str, shards: int,
         progress: Callable[[int], None] | None = None, every: float = 0.2,
         stall: float = STALL_SECONDS) -> dict[str, int]:
    """Take shards here too (unless ``encoder`` is None) and wait until every shard is
    done; ``progress`` sees the texts done so far. Returns texts encoded per worker."""
    done: dict[int, dict[str, Any]] = {}
    last_change = time.monotonic()
    while len(done) < shards:
        took = False
        if encoder is not None:
            for i in range(shards):
                if i not in done and take(h, encoder, batch, i):
                    took = True
                    break  # report progress between shards
        now_done = _finished(h, batch, shards)
        if len(now_done) > len(done):
            last_change = time.monotonic()
        done = now_done
        if progress is not None:
            progress(sum(d["n"] for d in done.values()))
        if len(done) < shards:
            if time.monotonic() - last_change > stall:
                break
            if not took:
                time.sleep(every)
    by_worker: dict[str, int] = {}
    for i in range(shards):
        h.storage.pop_data(_key(batch, i))  # a shard nobody took (after a stall)
        d = h.storage.pop_data(_key(batch, i, ":done"))
        if d is not EmptyData:
            info = h.serializer.deserialize(d)
            by_worker[info["worker"]] = by_worker.get(info["worker"], 0) + info["n"]
    return by_worker
