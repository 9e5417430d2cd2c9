"""Encoding shards: a backlog cut into shards is encoded by every worker on the queue
(two here, threads on one SQLite queue as two ``kejie jobs worker`` processes would
be), each writing into the shared embedding cache; afterwards nothing is missing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kejie import job_tasks, job_worker, jobs, shards
from kejie.settings import Settings
from matcher.cache import CachedEncoder, EmbeddingCache


class SlowEncoder:
    """The tiny encoder, slowed so that one worker cannot take every shard alone."""

    def __init__(self, inner: Any, pause: float = 0.03) -> None:
        self.inner, self.pause = inner, pause
        self.name, self.dim = inner.name, inner.dim

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        time.sleep(self.pause)
        return self.inner.encode_queries(texts)  # type: ignore[no-any-return]

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        time.sleep(self.pause)
        return self.inner.encode_passages(texts)  # type: ignore[no-any-return]


class _Service:
    def __init__(self, encoder: CachedEncoder) -> None:
        self.encoder = encoder


@pytest.fixture
def queue_settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path / "var", index_dir=tmp_path / "index", job_shard_size=40)


@pytest.fixture
def encoder(tmp_path: Path, tiny_encoder: Any) -> Iterator[CachedEncoder]:
    cache = EmbeddingCache(tmp_path / "index" / "embeddings.sqlite")
    yield CachedEncoder(SlowEncoder(tiny_encoder), cache)
    cache.close()


def _texts(n: int) -> list[str]:
    return [f"第{i}项技术需求：锂电池正极材料表面包覆改性，批次{i % 7}" for i in range(n)]


def test_two_workers_split_the_shards_and_the_backlog_is_complete(
    queue_settings: Settings, encoder: CachedEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "_CONTEXT", {})
    jobs.bind(None, _Service(encoder))
    texts = _texts(800)
    h = job_tasks.task_queue(queue_settings)
    workers = [job_worker.start_embedded_worker(queue_settings) for _ in range(2)]
    try:
        batch, count = shards.cut(h, texts, queue_settings.job_shard_size)
        assert count == 20
        seen: list[int] = []
        by_worker = shards.wait(h, None, batch, count, progress=seen.append)
    finally:
        for w in workers:
            w.stop(graceful=True)
    assert len(by_worker) == 2 and all(n >= 40 for n in by_worker.values()), by_worker
    assert sum(by_worker.values()) == 800 and seen[-1] == 800 and seen == sorted(seen)
    assert encoder.missing(texts, "passage") == 0
    assert encoder.cache.count(encoder.name) == 800
    # every shard and its done mark were cleared from the queue's storage
    assert not [k for k in h.storage.result_items() if k.startswith("kejie:shard:")]


def test_the_job_that_cut_the_shards_finishes_them_alone_when_no_other_worker_runs(
    queue_settings: Settings, encoder: CachedEncoder
) -> None:
    h = job_tasks.task_queue(queue_settings)
    texts = _texts(100)
    batch, count = shards.cut(h, texts, 30)
    by_worker = shards.wait(h, encoder, batch, count)
    assert list(by_worker.values()) == [100] and encoder.missing(texts, "passage") == 0
    # the queued shard tasks now find nothing left to do
    assert shards.take(h, encoder, batch, 0) == 0
