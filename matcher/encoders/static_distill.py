"""Distillation of the bundled e5 into a static-embedding model (:mod:`matcher.encoders.static`).

``distill`` (CLI ``kejie encoder distill``) embeds every token of a
vocabulary (:mod:`matcher.encoders.static_vocab`) once with e5 and stores the
vectors as a sentence-transformers ``StaticEmbedding`` model, with the
tokenizer that :mod:`matcher.encoders.static` describes.

Token vectors may be re-weighted (SIF: ``a / (a + p(w))`` with ``p`` from
jieba's dictionary frequencies and the mined corpus) and centred (the common
direction of all e5 vectors removed); both are folded into the weight matrix,
so loading needs nothing but sentence-transformers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from matcher.encoders.base import Encoder
from matcher.encoders.static import FORMAT_VERSION, META_FILE, UNK
from matcher.encoders.static_vocab import Vocabulary

Role = Literal["passage", "query", "both"]
Weighting = Literal["none", "sif"]

# Batched e5 calls are cheap per token; big batches amortise the ctypes call.
_E5_BATCH = 256


@dataclass
class DistillReport:
    out_dir: str
    tokens: int
    words: int
    chars: int
    dim: int
    role: str
    weighting: str
    sif_a: float
    center: bool
    remove_components: int
    encoded: int  # tokens actually run through e5 (cache misses)
    embed_seconds: float
    tokens_per_second: float
    total_seconds: float
    source_model: str
    sources: dict[str, int]


def embed_tokens(tokens: list[str], embed: Callable[[list[str]], np.ndarray],
                 batch_size: int = _E5_BATCH) -> np.ndarray:
    chunks = [np.asarray(embed(tokens[i : i + batch_size]), dtype=np.float32)
              for i in range(0, len(tokens), batch_size)]
    return np.concatenate(chunks) if chunks else np.zeros((0, 0), dtype=np.float32)


def token_weights(vocab: Vocabulary, weighting: Weighting, sif_a: float) -> np.ndarray:
    if weighting == "none":
        return np.ones(len(vocab.tokens), dtype=np.float32)
    if weighting == "sif":
        p = np.array([vocab.probs[t] for t in vocab.tokens], dtype=np.float64)
        return (sif_a / (sif_a + p)).astype(np.float32)
    raise ValueError(f"unknown weighting {weighting!r}: use 'none' or 'sif'")


def effective_components(requested: int, n_tokens: int, dim: int) -> int:
    """How many principal directions may be removed. The dominant directions
    are only common-to-all-text directions on a large, general vocabulary; on
    a small topical one they are the topics themselves, so allow one per 500
    tokens (none below 500)."""
    return max(0, min(requested, n_tokens // 500, dim // 4))


def build_weight_matrix(vecs: np.ndarray, weights: np.ndarray, center: bool,
                        remove_components: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows for [UNK] + tokens, and the unit vector used for texts with no known token.

    ``center`` removes the mean token vector; ``remove_components`` then also
    projects out the top principal directions of the (centred) token vectors
    ("all-but-the-top"): e5 vectors share a few dominant directions that carry
    little meaning and swamp averages of many tokens.
    """
    vecs = vecs.astype(np.float32)
    mean = vecs.mean(axis=0)
    fallback = mean / (np.linalg.norm(mean) or 1.0)
    if center or remove_components:
        vecs = vecs - mean
    remove_components = effective_components(remove_components, vecs.shape[0], vecs.shape[1])
    if remove_components > 0:
        _, _, vt = np.linalg.svd(vecs.astype(np.float64), full_matrices=False)
        top = vt[:remove_components].astype(np.float32)
        vecs = vecs - (vecs @ top.T) @ top
    rows = vecs * weights[:, None]
    # [UNK] gets a tiny vector: it barely moves a text with known tokens, and a
    # text made only of unknown pieces still gets a direction (not a zero vector).
    unk = (fallback * 1e-4).astype(np.float32)
    return np.vstack([unk[None, :], rows]).astype(np.float32), fallback.astype(np.float32)


def save_model(out_dir: Path, tokens: list[str], matrix: np.ndarray, meta: dict[str, Any]) -> None:
    from sentence_transformers import SentenceTransformer

    try:
        from sentence_transformers.sentence_transformer.modules import Normalize, StaticEmbedding
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.models import Normalize, StaticEmbedding
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordPiece
    from transformers import PreTrainedTokenizerFast

    vocab = {UNK: 0}
    for i, t in enumerate(tokens, start=1):
        vocab[t] = i
    # Empty continuation prefix: WordPiece becomes greedy longest-match segmentation.
    model = WordPiece(vocab=vocab, unk_token=UNK, continuing_subword_prefix="",
                      max_input_chars_per_word=10_000)
    tok = Tokenizer(model)
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token=UNK)
    static = StaticEmbedding(fast, embedding_weights=matrix)
    st = SentenceTransformer(modules=[static, Normalize()], device="cpu")
    out_dir.mkdir(parents=True, exist_ok=True)
    st.save(str(out_dir))
    (out_dir / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")


def distill(
    out_dir: Path | str,
    vocab: Vocabulary,
    encoder: Encoder | None = None,
    *,
    role: Role = "passage",
    weighting: Weighting = "sif",
    sif_a: float = 1e-3,
    center: bool = True,
    remove_components: int = 12,
) -> DistillReport:
    """Embed ``vocab`` with ``encoder`` (default: the bundled e5) and save a
    StaticEmbedding model in ``out_dir``.

    ``role`` picks which e5 prefix the token vectors come from ("both" = mean).
    Pass a ``CachedEncoder`` to reuse token vectors across rebuilds; its
    ``progress`` callback then reports the tokens actually encoded.
    """
    t_start = time.perf_counter()
    out = Path(out_dir)
    if encoder is None:
        from matcher.encoders.e5 import E5Encoder

        encoder = E5Encoder()
    misses_before = getattr(encoder, "misses", None)
    t0 = time.perf_counter()
    if role == "passage":
        vecs = embed_tokens(vocab.tokens, encoder.encode_passages)
    elif role == "query":
        vecs = embed_tokens(vocab.tokens, encoder.encode_queries)
    elif role == "both":
        vecs = embed_tokens(vocab.tokens, encoder.encode_passages)
        vecs = vecs + embed_tokens(vocab.tokens, encoder.encode_queries)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True).clip(1e-12)
    else:
        raise ValueError(f"unknown role {role!r}: use passage, query or both")
    embed_seconds = time.perf_counter() - t0
    if misses_before is not None:
        n_encoded = int(getattr(encoder, "misses", 0)) - int(misses_before)
    else:
        n_encoded = len(vocab.tokens) * (2 if role == "both" else 1)
    matrix, fallback = build_weight_matrix(vecs, token_weights(vocab, weighting, sif_a), center,
                                           remove_components)
    n_chars = sum(1 for t in vocab.tokens if len(t) == 1)
    report = DistillReport(
        out_dir=str(out), tokens=len(vocab.tokens), words=len(vocab.tokens) - n_chars, chars=n_chars,
        dim=int(matrix.shape[1]), role=role, weighting=weighting, sif_a=sif_a, center=center,
        remove_components=effective_components(remove_components, vecs.shape[0], vecs.shape[1]),
        encoded=n_encoded, embed_seconds=round(embed_seconds, 2),
        tokens_per_second=round(n_encoded / embed_seconds, 1) if embed_seconds > 0 and n_encoded else 0.0,
        total_seconds=0.0, source_model=encoder.name, sources=dict(vocab.sources),
    )
    meta: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "segmentation": "matcher.segment (jieba + data/userdict.txt + stopwords), joined by spaces",
        "fallback": [float(x) for x in fallback],
    }
    save_model(out, vocab.tokens, matrix, meta)
    report.total_seconds = round(time.perf_counter() - t_start, 2)
    meta["report"] = asdict(report)
    (out / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    return report
