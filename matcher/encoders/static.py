"""A static-embedding encoder distilled from the bundled e5: thousands of texts/s on CPU.

This module runs a distilled model (``StaticEncoder``, the ``static`` backend of
:func:`matcher.encoders.load_encoder`) and owns the format of its directory;
:mod:`matcher.encoders.static_vocab` chooses the tokens and
:mod:`matcher.encoders.static_distill` builds the model (CLI
``kejie encoder distill``). The model is a sentence-transformers
``StaticEmbedding``: a text's vector is the (weighted) mean of its token
vectors, no transformer at run time.

Tokenisation. StaticEmbedding tokenises with a HF ``tokenizers`` tokenizer,
which knows nothing of Chinese words, so two layers cooperate:

* the encoder wrapper (``StaticEncoder``) segments text with jieba
  (``matcher.segment``: domain dictionary, stopwords removed) and joins the
  words with spaces;
* the saved tokenizer (NFKC + lower-case, ``Whitespace`` pre-tokenizer, then
  ``WordPiece`` with an *empty* continuation prefix) splits each word by
  greedy longest match against the vocabulary. A word in the vocabulary stays
  whole; an unknown word falls back to its known sub-words and characters.

Every character of every vocabulary word is itself in the vocabulary, and the
wrapper blanks out characters the vocabulary lacks, so the WordPiece step
never turns a whole word into ``[UNK]``. The model directory also works
without the wrapper (e.g. through the generic sentence-transformers backend):
longest-match then does the segmenting, only less well.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np

from matcher.encoders.base import EncoderConfig
from matcher.errors import EncoderUnavailable

FORMAT_VERSION = 1
META_FILE = "kejie_static.json"
UNK = "[UNK]"


def normalize(text: str) -> str:
    """The same normalisation as ``matcher.segment`` and the saved tokenizer."""
    return unicodedata.normalize("NFKC", text or "").lower()


def default_model_dir(settings: EncoderConfig) -> Path:
    return Path(settings.var_dir) / "encoders" / "static"


# ------------------------------------------------------------------ run time


def _fingerprint(model_dir: Path) -> str:
    h = hashlib.sha256()
    for name in ("tokenizer.json", "model.safetensors", "pytorch_model.bin"):
        for f in sorted(model_dir.rglob(name)):
            with f.open("rb") as fh:
                for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()[:12]


Segmentation = Literal["jieba", "longest-match"]


class StaticEncoder:
    """``Encoder`` over a distilled static model. Queries and passages share one table.

    ``segmentation``: ``"jieba"`` (default; ``matcher.segment``) or
    ``"longest-match"`` (skip jieba, let the tokenizer's greedy longest match
    segment: several times faster, less accurate — see bench/README.md).

    The model is loaded and run by sentence-transformers (``StaticEmbedding``
    + ``Normalize``); jieba segmentation dominates the cost (bench_encode.py).
    """

    def __init__(self, model_dir: Path | str, threads: int = 0, batch_size: int = 1024,
                 segment: Callable[[str], list[str]] | None = None,
                 segmentation: Segmentation = "jieba") -> None:
        path = Path(model_dir).expanduser()
        meta_path = path / META_FILE
        if not meta_path.exists():
            raise EncoderUnavailable(
                f"{path} 不是静态编码器模型目录（缺少 {META_FILE}）：请先运行 "
                f"kejie encoder distill --out {path}，再设置 KEJIE_ENCODER_MODEL={path}"
            )
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise EncoderUnavailable(f"无法读取 {meta_path}：{exc}；请重新运行 kejie encoder distill") from exc
        if meta.get("format") != FORMAT_VERSION:
            raise EncoderUnavailable(
                f"{path} 的静态编码器格式版本为 {meta.get('format')}，需要 {FORMAT_VERSION}；"
                "请重新运行 kejie encoder distill"
            )
        if segmentation not in ("jieba", "longest-match"):
            raise ValueError(f"unknown segmentation {segmentation!r}: use 'jieba' or 'longest-match'")
        try:
            import torch
            from sentence_transformers import SentenceTransformer

            if threads > 0:
                torch.set_num_threads(threads)
            self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as exc:
            raise EncoderUnavailable(f"无法加载静态编码器 {path}：{exc}；请重新运行 kejie encoder distill") from exc
        if segment is None and segmentation == "jieba":
            from matcher.segment import make_segmenter

            segment = make_segmenter()
        self._segment = segment
        self.segmentation = segmentation
        static = self._model[0]
        vocab = static.tokenizer.get_vocab()
        chars = sorted(t for t in vocab if len(t) == 1)
        # everything that is not a known character (or a space) becomes a space, so
        # WordPiece never meets a character it cannot match and never emits [UNK]
        self._unknown = re.compile("[^\\s" + "".join(re.escape(c) for c in chars) + "]")
        self.vocab_size = len(vocab)
        self.dim = int(static.get_embedding_dimension())
        self._fallback = np.asarray(meta.get("fallback") or np.ones(self.dim), dtype=np.float32)
        self._fallback /= np.linalg.norm(self._fallback) or 1.0
        self.batch_size = batch_size
        self.path = path
        suffix = "" if segmentation == "jieba" else ":lm"
        self.name = f"static:{path.name}:{_fingerprint(path)}{suffix}"
        self._lock = threading.Lock()

    def prepare(self, text: str) -> str:
        """The text as fed to the tokenizer: segmented words joined by spaces,
        characters outside the vocabulary blanked out."""
        joined = " ".join(self._segment(text)) if self._segment is not None else normalize(text)
        return self._unknown.sub(" ", joined)

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        prepared = [self.prepare(t) for t in texts]
        with self._lock:
            out = self._model.encode(prepared, batch_size=self.batch_size, convert_to_numpy=True,
                                     normalize_embeddings=True, show_progress_bar=False)
        out = np.ascontiguousarray(np.asarray(out, dtype=np.float32))
        # a text with no known token has a zero vector: give it the fallback direction
        empty = np.linalg.norm(out, axis=1) < 0.5
        if empty.any():
            out[empty] = self._fallback
        return out

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts))

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts))


def load(settings: EncoderConfig) -> StaticEncoder:
    """The static encoder in ``settings.encoder_model`` (default ``var/encoders/static``)."""
    model_dir = Path(settings.encoder_model) if settings.encoder_model else default_model_dir(settings)
    if not model_dir.exists():
        raise EncoderUnavailable(
            f"静态编码器目录 {model_dir} 不存在：请运行 kejie encoder distill --out {model_dir} "
            f"并设置 KEJIE_ENCODER_MODEL={model_dir}"
        )
    return StaticEncoder(model_dir, threads=settings.encoder_threads)
