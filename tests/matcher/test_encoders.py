from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kejie.settings import Settings
from matcher.encoders import ENCODERS, load_encoder
from matcher.encoders.base import Encoder
from matcher.encoders.sentence_transformers import SentenceTransformerEncoder
from matcher.errors import EncoderUnavailable, UnknownEncoder


def test_unknown_encoder_lists_choices() -> None:
    with pytest.raises(UnknownEncoder) as exc:
        load_encoder(Settings(encoder="word2vec"))
    for name in ENCODERS:
        assert name in str(exc.value)


def test_sentence_transformers_from_local_dir(tiny_model_dir: Path, tiny_encoder) -> None:  # type: ignore[no-untyped-def]
    enc = load_encoder(Settings(encoder="sentence-transformers", encoder_model=str(tiny_model_dir)))
    assert isinstance(enc, SentenceTransformerEncoder) and isinstance(enc, Encoder)
    assert enc.name == tiny_encoder.name and enc.dim == 128
    v = enc.encode_passages(["锂电池正极材料", "中医"])
    assert v.shape == (2, 128) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert enc.encode_queries([]).shape == (0, 128)


def test_prompts_change_name_and_vectors(tiny_model_dir: Path, tiny_encoder) -> None:  # type: ignore[no-untyped-def]
    prompted = SentenceTransformerEncoder(tiny_model_dir, query_prompt="查询：")
    assert prompted.name != tiny_encoder.name
    a = prompted.encode_queries(["锂电池"])
    b = tiny_encoder.encode_queries(["锂电池"])
    assert not np.allclose(a, b)


def test_missing_model_never_downloads(tmp_path: Path) -> None:
    with pytest.raises(EncoderUnavailable):
        SentenceTransformerEncoder(tmp_path / "nope")
    with pytest.raises(EncoderUnavailable):
        load_encoder(Settings(encoder="sentence-transformers", encoder_model=""))


def test_e5_backend_is_lazy() -> None:
    enc = load_encoder(Settings(encoder="e5"))
    assert enc.dim == 384 and "e5" in enc.name
    assert enc._model is None  # type: ignore[attr-defined]  # nothing loaded until first encode
