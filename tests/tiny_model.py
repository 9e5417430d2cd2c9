"""A tiny sentence-transformers model built locally (no download) for fast tests.

Character-level WordLevel tokenizer over ASCII + the CJK unified ideographs,
seeded random per-character vectors, mean pooling (``StaticEmbedding``): texts
sharing many characters get similar vectors, which is enough to test ranking
plumbing deterministically in milliseconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DIM = 128
SEED = 20240611


def _vocab() -> dict[str, int]:
    chars = ["[UNK]", "[PAD]"]
    chars += [chr(c) for c in range(0x21, 0x7F)]
    chars += [chr(c) for c in range(0x4E00, 0x9FA6)]
    return {c: i for i, c in enumerate(chars)}


def build_tiny_model(directory: Path, dim: int = DIM, seed: int = SEED) -> Path:
    """Write the model to ``directory`` and return it."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    vocab = _vocab()
    tok = Tokenizer(WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    # every non-space character is its own token
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"\S"), behavior="isolated")
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]")
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(len(vocab), dim)).astype(np.float32)
    weights[vocab["[PAD]"]] = 0.0
    weights[vocab["[UNK]"]] = 0.0
    module = StaticEmbedding(fast, embedding_weights=weights)
    model = SentenceTransformer(modules=[module], device="cpu")
    directory.mkdir(parents=True, exist_ok=True)
    model.save(str(directory))
    return directory
