"""The runtime of the distilled static encoder: loading, tokenisation, vectors, its name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kejie.settings import Settings
from matcher.encoders import load_encoder
from matcher.encoders.static import META_FILE, UNK, StaticEncoder
from matcher.encoders.static_distill import distill
from matcher.encoders.static_vocab import Vocabulary
from matcher.errors import EncoderUnavailable
from tests.matcher.static_corpus import HashEncoder


@pytest.fixture(scope="module")
def hash_model(tmp_path_factory: pytest.TempPathFactory, tiny_vocab: Vocabulary) -> Path:
    out = tmp_path_factory.mktemp("static_hash")
    distill(out, tiny_vocab, HashEncoder())
    return out


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
