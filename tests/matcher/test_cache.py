from __future__ import annotations

from pathlib import Path

import numpy as np

from matcher.cache import CachedEncoder, EmbeddingCache
from tests.matcher.conftest import CountingEncoder


def test_second_encode_is_a_hit(tmp_path: Path, counting_encoder: CountingEncoder) -> None:
    cache = EmbeddingCache(tmp_path / "emb.sqlite")
    enc = CachedEncoder(counting_encoder, cache, batch_size=2)
    texts = ["锂电池", "中医", "海洋", "锂电池"]
    first = enc.encode_passages(texts)
    assert counting_encoder.texts_encoded == 3  # duplicates encoded once
    assert counting_encoder.calls == 2  # batches of 2
    counting_encoder.calls = 0
    second = enc.encode_passages(texts)
    assert counting_encoder.calls == 0
    np.testing.assert_array_equal(first, second)
    assert np.allclose(first[0], first[3])


def test_persisted_and_keyed_by_role_and_encoder(tmp_path: Path) -> None:
    path = tmp_path / "emb.sqlite"
    a = CountingEncoder("enc-a")
    CachedEncoder(a, EmbeddingCache(path)).encode_passages(["锂电池"])
    # a fresh cache object on the same file (another process) sees it
    a2 = CountingEncoder("enc-a")
    enc2 = CachedEncoder(a2, EmbeddingCache(path))
    enc2.encode_passages(["锂电池"])
    assert a2.calls == 0
    assert enc2.missing(["锂电池"], "query") == 1  # queries are cached separately
    enc2.encode_queries(["锂电池"])
    assert a2.calls == 1
    b = CountingEncoder("enc-b")
    CachedEncoder(b, EmbeddingCache(path)).encode_passages(["锂电池"])
    assert b.calls == 1  # another encoder never reuses enc-a's vectors
    assert EmbeddingCache(path).count() == 3


def test_progress_reports_only_encoded_texts(tmp_path: Path, counting_encoder: CountingEncoder) -> None:
    seen: list[int] = []
    enc = CachedEncoder(counting_encoder, EmbeddingCache(tmp_path / "e.sqlite"), batch_size=2,
                        progress=seen.append)
    enc.encode_queries(["a", "b", "c"])
    enc.encode_queries(["a", "b", "c", "d"])
    assert seen == [2, 1, 1]


def test_large_batch_get(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "e.sqlite")
    from matcher.cache import text_hash

    items = [(text_hash(str(i)), np.full(8, i, dtype=np.float32)) for i in range(2500)]
    cache.put_many("x", "passage", items)
    got = cache.get_many("x", "passage", [h for h, _ in items])
    assert len(got) == 2500 and got[items[2400][0]][0] == 2400


def _write_many(path: str, worker: int, n: int) -> None:
    cache = EmbeddingCache(path)
    rng = np.random.default_rng(worker)
    for start in range(0, n, 25):
        cache.put_many("enc", "passage", [
            (f"w{worker}-{i}".encode(), rng.random(16, dtype=np.float32)) for i in range(start, start + 25)
        ])
        cache.get_many("enc", "passage", [f"w{1 - worker}-{start}".encode()])  # readers meanwhile
    cache.close()


def test_processes_write_one_cache_at_once(tmp_path: Path) -> None:
    """Shard workers in several processes write the same cache file (WAL, busy timeout)."""
    import multiprocessing

    path = tmp_path / "emb.sqlite"
    EmbeddingCache(path).close()  # created (and in WAL mode) before the writers start
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_many, args=(str(path), w, 2000)) for w in (0, 1)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    cache = EmbeddingCache(path)
    assert cache.count("enc") == 4000
    assert len(cache.get_many("enc", "passage", [b"w0-1999", b"w1-0"])) == 2
