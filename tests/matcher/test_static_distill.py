"""Distilling e5 into a static model: the weight matrix, the CLI command and its
cache, and (slow, real e5) that the model keeps e5's notion of which words are
related."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kejie.settings import get_settings
from matcher.encoders.static import META_FILE, StaticEncoder
from matcher.encoders.static_distill import build_weight_matrix, distill, effective_components
from matcher.encoders.static_vocab import Vocabulary
from tests.matcher.static_corpus import TEXTS, HashEncoder


def test_weight_matrix_centres_and_projects_out_the_dominant_direction() -> None:
    rng = np.random.default_rng(0)
    dominant = rng.standard_normal(16).astype(np.float32)
    dominant /= np.linalg.norm(dominant)
    offset = rng.standard_normal(16).astype(np.float32)
    vecs = (0.1 * rng.standard_normal((1000, 16)) + np.outer(3 * rng.standard_normal(1000), dominant)
            + offset).astype(np.float32)
    weights = rng.uniform(0.5, 1.0, 1000).astype(np.float32)
    matrix, fallback = build_weight_matrix(vecs, weights, center=True, remove_components=1)
    assert matrix.shape == (1001, 16)
    rows = matrix[1:] / weights[:, None]
    np.testing.assert_allclose(rows.mean(axis=0), 0.0, atol=1e-4)
    assert np.abs(rows @ dominant).max() < 0.01  # gone (it was ~3)
    assert np.abs(rows).max() > 0.05  # the rest stays
    assert abs(float(np.linalg.norm(fallback)) - 1.0) < 1e-6
    assert np.linalg.norm(matrix[0]) < 1e-3  # [UNK] is negligible
    # not on a small vocabulary, where the top directions are its topics
    assert effective_components(12, 300, 384) == 0
    assert effective_components(12, 23_000, 384) == 12
    assert effective_components(12, 2_600, 384) == 5


def test_distill_command_uses_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import matcher.encoders.e5 as e5_module
    from kejie.cli import main

    class FakeE5(HashEncoder):
        def __init__(self, threads: int = 0) -> None:
            super().__init__()

    monkeypatch.setattr(e5_module, "E5Encoder", FakeE5)
    monkeypatch.setenv("KEJIE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("KEJIE_INDEX_DIR", raising=False)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(TEXTS), encoding="utf-8")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        args = ["encoder", "distill", "--out", str(tmp_path / "m"), "--vocab-size", "40", "--chars", "0",
                "--no-general-words", "--no-sample", "--corpus", str(corpus), "--min-count", "1"]
        first = runner.invoke(main, args)
        assert first.exit_code == 0, first.output
        assert (tmp_path / "m" / META_FILE).exists()
        second = runner.invoke(main, args)
        assert second.exit_code == 0, second.output
        assert "需用 e5 编码 0 个 token" in second.output
        info = runner.invoke(main, ["encoder", "info", str(tmp_path / "m")])
        assert info.exit_code == 0 and '"words": 40' in info.output
    finally:
        get_settings.cache_clear()


# ---------------------------------------------------------------- real e5 (slow)


@pytest.fixture(scope="module")
def e5_static(tmp_path_factory: pytest.TempPathFactory, tiny_vocab: Vocabulary) -> tuple[StaticEncoder, object]:
    from matcher.encoders.e5 import E5Encoder

    e5 = E5Encoder()
    out = tmp_path_factory.mktemp("static_e5")
    report = distill(out, tiny_vocab, e5)
    assert report.tokens == len(tiny_vocab.tokens) and report.tokens_per_second > 0
    return StaticEncoder(out), e5


# (anchor, related, unrelated): single vocabulary words, no shared characters
# between anchor and the unrelated word, so only the e5 vectors decide.
TRIPLES = [
    ("污水处理", "废水治理", "水稻育种"),
    ("锂电池", "储能电池", "中药饮片"),
    ("数控机床", "机械加工", "乌龙茶"),
    ("中药", "中医", "半导体"),
    ("人工智能", "机器学习", "鲍鱼养殖"),
    ("混凝土", "桥梁", "芯片"),
]


@pytest.mark.slow
def test_static_model_keeps_e5_similarity_order(e5_static: tuple[StaticEncoder, object]) -> None:
    enc, e5 = e5_static
    agree = 0
    for anchor, near, far in TRIPLES:
        words = [anchor, near, far]
        ref = e5.encode_passages(words)  # type: ignore[attr-defined]
        # the triple is only a fair test if e5 itself ranks it this way
        assert ref[0] @ ref[1] > ref[0] @ ref[2], (anchor, near, far)
        v = enc.encode_passages(words)
        np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
        agree += int(v[0] @ v[1] > v[0] @ v[2])
    assert agree == len(TRIPLES)


@pytest.mark.slow
def test_static_model_ranks_related_sentences_first(e5_static: tuple[StaticEncoder, object]) -> None:
    enc, _ = e5_static
    query = enc.encode_queries(["动力电池负极材料容量衰减"])[0]
    docs = enc.encode_passages(["锂离子电池正极材料与电解液研究", "水稻病虫害绿色防控", "中药饮片质量标准"])
    sims = docs @ query
    assert int(np.argmax(sims)) == 0
