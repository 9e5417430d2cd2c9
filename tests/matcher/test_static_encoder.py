"""The distilled static encoder: vocabulary, tokenisation, loading, and (slow, real
e5) that it keeps e5's notion of which words are related."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kejie.settings import Settings, get_settings
from matcher.encoders import load_encoder
from matcher.encoders.static import (
    META_FILE,
    UNK,
    StaticEncoder,
    Vocabulary,
    build_vocabulary,
    build_weight_matrix,
    distill,
    effective_components,
    read_corpus_texts,
    read_userdict,
)
from matcher.errors import EncoderUnavailable

TEXTS = [
    "锂离子电池正极材料循环寿命短，低温性能差，希望提高能量密度。",
    "动力电池负极材料首次效率低，电解液与隔膜需要优化。",
    "污水处理厂出水不达标，膜污染严重，需要降低处理成本。",
    "印染废水处理与回用技术，降低化学需氧量。",
    "数控机床加工精度不稳定，主轴振动噪声大。",
    "工业机器人减速器寿命不足，需要提高定位精度。",
    "水稻育种与病虫害绿色防控，提高产量。",
    "茶叶种植与加工，乌龙茶品质提升。",
    "中药饮片质量标准研究，有效成分提取。",
    "人工智能与机器学习在图像识别中的应用。",
] * 2
TERMS = [
    "锂离子电池", "正极材料", "负极材料", "动力电池", "储能电池", "锂电池", "电解液", "隔膜",
    "污水处理", "废水治理", "废水处理", "膜污染", "印染废水", "数控机床", "机械加工", "工业机器人",
    "减速器", "水稻育种", "水稻", "病虫害", "茶叶种植", "乌龙茶", "中药饮片", "中药", "中医",
    "人工智能", "机器学习", "图像识别", "半导体", "芯片", "鲍鱼养殖", "大黄鱼", "混凝土", "桥梁",
]


class HashEncoder:
    """Deterministic stand-in for e5: a pseudo-random unit vector per text."""

    name = "hash-test"
    dim = 24

    def __init__(self) -> None:
        self.calls = 0

    def _vec(self, text: str, salt: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256((salt + text).encode()).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return v / np.linalg.norm(v)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return np.stack([self._vec(t, "p") for t in texts])

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return np.stack([self._vec(t, "q") for t in texts])


@pytest.fixture(scope="module")
def tiny_vocab() -> Vocabulary:
    return build_vocabulary(TEXTS, TERMS, vocab_size=200, chars=0, general_words=False, min_count=1)


@pytest.fixture(scope="module")
def hash_model(tmp_path_factory: pytest.TempPathFactory, tiny_vocab: Vocabulary) -> Path:
    out = tmp_path_factory.mktemp("static_hash")
    distill(out, tiny_vocab, HashEncoder())
    return out


def test_vocabulary_puts_terms_first_and_covers_their_characters(tiny_vocab: Vocabulary) -> None:
    toks = tiny_vocab.tokens
    assert toks[0] == "锂离子电池"
    assert len(toks) == len(set(toks))
    words = [t for t in toks if len(t) > 1]
    chars = {t for t in toks if len(t) == 1}
    assert 0 < len(words) <= 200
    assert tiny_vocab.sources["terms"] >= len(set(TERMS)) - 2
    assert all(ch in chars for w in words for ch in w)
    assert set("abcxyz0189") <= chars
    assert all(0 < tiny_vocab.probs[t] < 1 for t in toks)
    # frequent general characters have a higher unigram probability than rare domain words
    assert tiny_vocab.probs["水"] > tiny_vocab.probs["乌龙茶"]


def test_vocab_size_caps_words() -> None:
    v = build_vocabulary(TEXTS, TERMS, vocab_size=10, chars=0, general_words=False, min_count=1)
    assert sum(1 for t in v.tokens if len(t) > 1) == 10
    assert v.tokens[:3] == ["锂离子电池", "正极材料", "负极材料"]


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


def test_model_dir_loads_through_settings_and_encodes_unit_vectors(hash_model: Path) -> None:
    enc = load_encoder(Settings(encoder="static", encoder_model=str(hash_model)))
    assert isinstance(enc, StaticEncoder)
    assert enc.dim == HashEncoder.dim
    assert enc.name.startswith("static:")
    texts = ["锂离子电池正极材料", "污水处理", "", "！？", "𠀀𠀁 unknown ZZZ", "鲍鱼养殖技术攻关"]
    for vecs in (enc.encode_passages(texts), enc.encode_queries(texts)):
        assert vecs.shape == (len(texts), HashEncoder.dim)
        assert vecs.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert enc.encode_queries([]).shape == (0, HashEncoder.dim)


def test_segmentation_keeps_known_words_and_never_yields_unk(hash_model: Path) -> None:
    enc = StaticEncoder(hash_model)
    tokenizer = enc._model[0].tokenizer
    tokens = tokenizer.encode(enc.prepare("锂离子电池正极材料的循环寿命")).tokens
    assert "锂离子电池" in tokens and "正极材料" in tokens
    # an unknown word falls back to known pieces; unknown characters are dropped, never [UNK]
    for text in ["锂电池负极鑫淼材料", "完全陌生的词語龘", "abc-XYZ 123"]:
        assert UNK not in tokenizer.encode(enc.prepare(text)).tokens, text
    # the saved tokenizer alone (no jieba) does greedy longest match
    assert tokenizer.encode("锂离子电池正极材料").tokens == ["锂离子电池", "正极材料"]


def test_vectors_are_the_weighted_token_average(hash_model: Path, tiny_vocab: Vocabulary) -> None:
    enc = StaticEncoder(hash_model)
    one = enc.encode_passages(["锂离子电池"])[0]
    two = enc.encode_passages(["正极材料"])[0]
    both = enc.encode_passages(["锂离子电池 正极材料"])[0]
    # the pair's vector lies in the plane of the two token vectors
    basis, _ = np.linalg.qr(np.stack([one, two]).T)
    residual = both - basis @ (basis.T @ both)
    assert np.linalg.norm(residual) < 1e-4
    assert both @ one > 0.3 and both @ two > 0.3


def test_longest_match_mode_skips_jieba(hash_model: Path) -> None:
    enc = StaticEncoder(hash_model, segment=None, segmentation="longest-match")
    assert enc.prepare("锂离子电池，正极材料！") == "锂离子电池 正极材料 "
    assert enc.name.endswith(":lm") and enc.name != StaticEncoder(hash_model).name
    v = enc.encode_queries(["锂离子电池正极材料", "𠀀"])
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError):
        StaticEncoder(hash_model, segmentation="nope")  # type: ignore[arg-type]


def test_name_changes_with_the_model(tmp_path: Path, tiny_vocab: Vocabulary, hash_model: Path) -> None:
    other = tmp_path / "other"
    distill(other, tiny_vocab, HashEncoder(), weighting="none")
    assert StaticEncoder(other).name != StaticEncoder(hash_model).name
    same = tmp_path / "same"
    distill(same, tiny_vocab, HashEncoder())
    assert StaticEncoder(same).name.split(":")[2] == StaticEncoder(hash_model).name.split(":")[2]


def test_generic_sentence_transformers_backend_can_load_the_dir(hash_model: Path) -> None:
    from matcher.encoders.sentence_transformers import SentenceTransformerEncoder

    enc = SentenceTransformerEncoder(hash_model)
    v = enc.encode_passages(["锂离子电池正极材料"])
    assert v.shape == (1, HashEncoder.dim)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_missing_or_foreign_model_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EncoderUnavailable, match="kejie encoder distill"):
        load_encoder(Settings(encoder="static", encoder_model=str(tmp_path / "nope")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(EncoderUnavailable, match=META_FILE):
        StaticEncoder(tmp_path / "empty")


def test_corpus_readers(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("name,keywords\n学会,锂电池；储能\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text('{"text": "污水处理", "n": 3}\n', encoding="utf-8")
    (tmp_path / "u.txt").write_text("# 注释\n锂电池 10 n\n储能\n", encoding="utf-8")
    assert {"学会", "锂电池；储能", "锂电池", "储能", "name", "keywords"} <= set(read_corpus_texts(tmp_path / "a.csv"))
    assert list(read_corpus_texts(tmp_path / "b.jsonl")) == ["污水处理"]
    assert read_userdict(tmp_path / "u.txt") == ["锂电池", "储能"]


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
