"""Character n-grams reused across snapshots and saved beside the index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matcher.index import CandidateIndex
from matcher.lexical import CharNgrams
from matcher.lexical_files import HEADER, load_char
from matcher.types import Candidate, ProfileItem
from tests.matcher.conftest import CountingEncoder

TOPICS = ["锂离子电池正极材料", "海水养殖病害防控", "机器视觉缺陷检测", "污水膜分离处理", "茶叶深加工",
          "激光焊接工艺", "中药制剂质量控制", "工业机器人控制", "高分子复合材料", "智慧农业物联网"]


def _docs(n: int) -> list[str]:
    return [f"{TOPICS[i % len(TOPICS)]}与{TOPICS[(i * 3 + 1) % len(TOPICS)]}第{i}项" for i in range(n)]


def _ids(n: int, changed: dict[int, int] | None = None) -> np.ndarray:
    ids = np.column_stack([np.arange(1, n + 1), np.arange(n) * 7]).astype(np.int64)
    for r, h in (changed or {}).items():
        ids[r, 1] = h
    return ids


def test_updated_copies_unchanged_rows_and_transforms_the_changed_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CharNgrams, "INCREMENTAL_ABOVE", 10)
    docs = _docs(40)
    base = CharNgrams().fit(docs)
    base.row_ids = _ids(40)
    assert base.updated(_ids(40), lambda rows: pytest.fail("nothing to transform")) is base

    new_docs = list(docs)
    new_docs[5] = "氢燃料电池催化剂"
    order = [*range(40)][::-1]  # other row order, and one row changed
    new_ids = _ids(40, {5: -1})[order]
    asked: list[list[int]] = []

    def docs_of(rows: np.ndarray) -> list[str]:
        asked.append(rows.tolist())
        return [new_docs[order[int(r)]] for r in rows]

    got = base.updated(new_ids, docs_of)
    assert got is not None and got is not base and got.stale_rows == 1
    assert asked == [[order.index(5)]]  # only the changed row was transformed
    want = base.vectorizer.transform([new_docs[i] for i in order]).toarray()
    np.testing.assert_allclose(got.matrix.toarray(), want, atol=1e-6)
    np.testing.assert_allclose(got.matrix_t.toarray(), want.T, atol=1e-6)
    # past REFIT_SHARE of transformed rows the caller must fit afresh
    many = _ids(40, {r: -2 - r for r in range(5)})
    assert got.updated(many, lambda rows: [new_docs[int(r)] for r in rows]) is None
    monkeypatch.setattr(CharNgrams, "INCREMENTAL_ABOVE", 41)  # a small collection is always fitted
    assert base.updated(new_ids, docs_of) is None


def test_rows_in_their_order_are_spliced_in_runs_like_a_fresh_transform() -> None:
    docs = _docs(60)
    base = CharNgrams().fit(docs)
    base.row_ids = _ids(60)
    # an index's next row set: row 7 removed, rows 3 and 40 replaced in place, two appended
    keep = [r for r in range(60) if r != 7]
    new_ids = _ids(60, {3: -1, 40: -1})[keep]
    new_ids = np.vstack([new_ids, [[100, 1], [101, 2]]])
    texts = {3: "氢燃料电池催化剂", 40: "盐碱地水稻育种"}
    new_docs = [texts.get(r, docs[r]) for r in keep] + ["深海探测声呐", "光伏组件回收"]
    asked: list[int] = []

    def docs_of(rows: np.ndarray) -> list[str]:
        asked.extend(rows.tolist())
        return [new_docs[int(r)] for r in rows]

    got = base.updated(new_ids, docs_of)
    assert got is not None and got.n_docs == 61 and got.stale_rows == 4
    assert asked == [3, 39, 59, 60]  # only the new and changed rows were transformed
    want = base.vectorizer.transform(new_docs).toarray()
    np.testing.assert_allclose(got.matrix.toarray(), want, atol=1e-6)
    np.testing.assert_allclose(got.matrix_t.toarray(), want.T, atol=1e-6)
    np.testing.assert_allclose(got.score(["燃料电池"]), base.vectorizer.transform(["燃料电池"]).toarray() @ want.T,
                               atol=1e-5)


def test_match_rows_finds_the_same_rows_with_keys_in_order_or_not() -> None:
    from matcher.lexical import match_rows

    rng = np.random.default_rng(3)
    old = _ids(500)
    new = np.vstack([old[rng.permutation(500)[:400]], [[9999, 1], [3, 0]]])  # two that are not in old
    new[:50, 1] += 1  # changed hashes: not found
    in_order = match_rows(old, new)
    shuffled = rng.permutation(500)
    other = match_rows(old[shuffled], new)  # keys out of order: the sorted search
    assert (in_order >= 0).sum() == 350 and in_order[-2:].tolist() == [-1, -1]
    np.testing.assert_array_equal(np.where(other >= 0, shuffled[np.maximum(other, 0)], -1), in_order)
    np.testing.assert_array_equal(old[in_order[in_order >= 0]], new[in_order >= 0])


def test_a_write_to_a_small_collection_is_not_fitted_again_by_default() -> None:
    # a fit holds the GIL for the whole collection (the demands of a province:
    # seconds); the queries of the same process wait meanwhile
    docs = _docs(40)
    base = CharNgrams().fit(docs)
    base.row_ids = _ids(40)
    got = base.updated(_ids(40, {3: -1}), lambda rows: ["氢燃料电池催化剂" for _ in rows])
    assert got is not None and got.stale_rows == 1
    assert got.vectorizer is base.vectorizer
    assert got.updated(_ids(40, {r: -2 - r for r in range(5)}), lambda rows: ["x"] * len(rows)) is None


def _index(experts: list[Candidate], segment, enc: CountingEncoder) -> CandidateIndex:  # type: ignore[no-untyped-def]
    idx = CandidateIndex("expert", enc.name, enc.dim)
    more = [Candidate(f"X{i}", "expert", f"专家{i}", [ProfileItem("research_area", d)], {"city": "福州市"})
            for i, d in enumerate(_docs(30))]
    idx.upsert(experts + more, enc, segment)
    return idx


def test_a_loaded_index_maps_the_saved_ngrams_instead_of_fitting(  # type: ignore[no-untyped-def]
        tmp_path: Path, experts: list[Candidate], segment, counting_encoder: CountingEncoder,
        monkeypatch: pytest.MonkeyPatch) -> None:
    idx = _index(experts, segment, counting_encoder)
    before = idx.snapshot().char_ngrams
    idx.save(tmp_path, build_ann=True)
    assert (tmp_path / HEADER).exists()

    def no_fit(self: CharNgrams, docs: object) -> CharNgrams:
        raise AssertionError("fitted again")

    monkeypatch.setattr(CharNgrams, "fit", no_fit)
    monkeypatch.setattr(CharNgrams, "INCREMENTAL_ABOVE", 10)
    loaded = CandidateIndex.load(tmp_path, counting_encoder.name)
    char = loaded.snapshot().char_ngrams
    assert not char.matrix_t.data.flags.writeable  # the mapped file, not a copy
    q = ["锂电池正极包覆", "视觉检测"]
    np.testing.assert_allclose(char.score(q), before.score(q), atol=1e-6)

    # a write: the next snapshot copies the other rows and transforms the written one
    e1 = experts[0]
    loaded.upsert([Candidate(e1.id, "expert", e1.name, [ProfileItem("keyword", "氢燃料电池")], e1.attrs)],
                  counting_encoder, segment)
    snap = loaded.snapshot()
    fresh = snap.char_ngrams
    assert fresh.stale_rows == 1 and fresh.n_docs == len(snap)
    hit = fresh.score(["氢燃料电池"])[0]
    assert int(np.argmax(hit)) == snap.row_of[e1.id]


def test_damaged_or_missing_ngram_files_mean_a_fresh_fit(  # type: ignore[no-untyped-def]
        tmp_path: Path, experts: list[Candidate], segment, counting_encoder: CountingEncoder) -> None:
    idx = _index(experts, segment, counting_encoder)
    idx.snapshot().warm()
    idx.save(tmp_path, build_ann=True)
    data = next(tmp_path.glob("lex.char.*.matrix_t.data.npy"))
    data.write_bytes(data.read_bytes()[:100])  # truncated
    assert load_char(tmp_path) is None
    loaded = CandidateIndex.load(tmp_path, counting_encoder.name)  # the index itself still loads
    assert loaded.snapshot().char_ngrams.n_docs == len(idx)
    (tmp_path / HEADER).unlink()
    assert load_char(tmp_path) is None
    loaded.save(tmp_path, build_ann=True)  # the fresh fit is written again, the old files removed
    assert load_char(tmp_path) is not None and len(list(tmp_path.glob("lex.char.*.npy"))) == 8


def test_a_reloaded_copy_builds_on_the_ngrams_of_the_copy_it_replaces(  # type: ignore[no-untyped-def]
        tmp_path: Path, experts: list[Candidate], segment, counting_encoder: CountingEncoder,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CharNgrams, "INCREMENTAL_ABOVE", 10)
    monkeypatch.setattr(CharNgrams, "REFIT_SHARE", 0.5)
    idx = _index(experts, segment, counting_encoder)
    idx.snapshot().warm()
    idx.save(tmp_path, build_ann=True)  # the full fit is in the files
    writer = CandidateIndex.load(tmp_path, counting_encoder.name)

    def edit(rows: range, word: str) -> None:
        ids = writer.ids()
        writer.upsert([Candidate(ids[r], "expert", f"改{r}", [ProfileItem("keyword", f"{word}{r}")], {})
                       for r in rows], counting_encoder, segment)
        writer.snapshot()
        writer.save(tmp_path)  # a write's n-grams are not saved: the files keep the full fit

    edit(range(0, 8), "氢燃料电池")
    reader = CandidateIndex.load(tmp_path, counting_encoder.name)  # another process reads that save
    held = reader.snapshot().char_ngrams
    assert held.stale_rows == 8
    edit(range(8, 9), "钙钛矿电池")  # one more write
    transformed: list[int] = []
    real = CharNgrams.updated

    def counting(self: CharNgrams, row_ids: np.ndarray, docs):  # type: ignore[no-untyped-def]
        return real(self, row_ids, lambda rows: (transformed.append(len(rows)), docs(rows))[1])

    monkeypatch.setattr(CharNgrams, "updated", counting)
    plain = CandidateIndex.load(tmp_path, counting_encoder.name).snapshot().char_ngrams
    assert transformed == [9]  # from the files: every row written since the fit
    transformed.clear()
    reloaded = CandidateIndex.load(tmp_path, counting_encoder.name)
    reloaded.adopt_char_base(held)
    got = reloaded.snapshot().char_ngrams
    assert transformed == [1]  # from the copy it replaces: the one new write
    np.testing.assert_allclose(got.matrix.toarray(), plain.matrix.toarray(), atol=1e-6)

    # a copy whose n-grams would need a fit afresh is not built on
    monkeypatch.setattr(CharNgrams, "REFIT_SHARE", 0.1)
    again = CandidateIndex.load(tmp_path, counting_encoder.name)
    files_base = again._char_base
    again.adopt_char_base(held)
    assert again._char_base is files_base
