"""A static-embedding encoder distilled from the bundled e5: thousands of texts/s on CPU.

Distillation (``distill``; CLI ``kejie encoder distill``) embeds every token of
a domain vocabulary once with e5 and stores the vectors as a
sentence-transformers ``StaticEmbedding`` model: a text's vector is then the
(weighted) mean of its token vectors, no transformer at run time.

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

Token vectors may be re-weighted (SIF: ``a / (a + p(w))`` with ``p`` from
jieba's dictionary frequencies and the mined corpus) and centred (the common
direction of all e5 vectors removed); both are folded into the weight matrix,
so loading needs nothing but sentence-transformers.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from matcher.encoders.base import Encoder, EncoderConfig
from matcher.errors import EncoderUnavailable

FORMAT_VERSION = 1
META_FILE = "kejie_static.json"
UNK = "[UNK]"
Role = Literal["passage", "query", "both"]
Weighting = Literal["none", "sif"]

_WORD = re.compile(r"^\w+$")
_CJK = re.compile(r"[\u3400-\u9fff]")
_SPLIT_CELL = re.compile(r"[；;、，,\n|｜]+")
# Batched e5 calls are cheap per token; big batches amortise the ctypes call.
_E5_BATCH = 256
_CORPUS_PRIOR = 100_000.0  # pseudo-tokens added to the mined corpus size


def normalize(text: str) -> str:
    """The same normalisation as ``matcher.segment`` and the saved tokenizer."""
    return unicodedata.normalize("NFKC", text or "").lower()


def default_model_dir(settings: EncoderConfig) -> Path:
    return Path(settings.var_dir) / "encoders" / "static"


# ------------------------------------------------------------------ corpus


def read_corpus_texts(path: Path | str) -> Iterator[str]:
    """Every non-empty text cell of a CSV/JSONL/JSON/XLSX/TXT file.

    Used only to mine vocabulary and token frequencies, so the layout does not
    matter; list cells (``a；b；c``) are also yielded item by item so that short
    keywords count as words of their own.
    """
    path = Path(path)
    suffix = path.suffix.lower()

    def cells(value: Any) -> Iterator[str]:
        if isinstance(value, str):
            value = value.strip()
            if value:
                yield value
                if _SPLIT_CELL.search(value) and len(value) < 2000:
                    yield from (p.strip() for p in _SPLIT_CELL.split(value) if p.strip())
        elif isinstance(value, dict):
            for v in value.values():
                yield from cells(v)
        elif isinstance(value, list):
            for v in value:
                yield from cells(v)

    if suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    yield from cells(cell)
    elif suffix == ".jsonl":
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield from cells(json.loads(line))
    elif suffix == ".json":
        yield from cells(json.loads(path.read_text(encoding="utf-8")))
    elif suffix == ".xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                for cell in row:
                    if cell is not None:
                        yield from cells(str(cell))
    elif suffix in (".txt", ".md", ".tsv"):
        for line in path.read_text(encoding="utf-8").splitlines():
            yield from cells(line)


def read_userdict(path: Path | str) -> list[str]:
    """Words of a jieba user dictionary (first column; ``#`` comments skipped)."""
    words: list[str] = []
    p = Path(path)
    if not p.exists():
        return words
    for line in p.read_text(encoding="utf-8").splitlines():
        parts = line.strip().split()
        if parts and not parts[0].startswith("#"):
            words.append(parts[0])
    return words


def jieba_frequencies() -> dict[str, int]:
    """Word frequencies of jieba's bundled dictionary (a general Chinese corpus)."""
    import jieba

    path = Path(jieba.__file__).with_name("dict.txt")
    freqs: dict[str, int] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                w = normalize(parts[0])
                freqs[w] = freqs.get(w, 0) + int(parts[1])
    return freqs


# ------------------------------------------------------------------ vocabulary


@dataclass
class Vocabulary:
    tokens: list[str]  # words first, then single characters; no [UNK]
    counts: dict[str, int]  # corpus counts (0 for tokens only from a dictionary)
    probs: dict[str, float]  # unigram probability estimate used by SIF
    sources: dict[str, int] = field(default_factory=dict)  # how many tokens each source gave


def _valid(token: str) -> bool:
    return bool(token) and len(token) <= 24 and _WORD.match(token) is not None and "_" not in token


def build_vocabulary(
    texts: Iterable[str],
    terms: Iterable[str] = (),
    *,
    vocab_size: int = 20000,
    chars: int = 3000,
    general_words: bool = True,
    segment: Callable[[str], list[str]] | None = None,
    min_count: int = 2,
) -> Vocabulary:
    """Choose the tokens to distill.

    Words, in priority order, up to ``vocab_size``: the given domain ``terms``
    (and their segments), words mined from ``texts`` (seen ``min_count``+ times,
    most frequent first), then jieba's most frequent dictionary words if
    ``general_words``. Then characters: every character of a chosen word plus
    the ``chars`` most common CJK characters, plus ASCII letters and digits, so
    any text can fall back to characters.
    """
    if segment is None:
        from matcher.segment import make_segmenter

        segment = make_segmenter()
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(segment(text))
    term_list: list[str] = []
    for term in terms:
        t = normalize(term).strip()
        if _valid(t):
            term_list.append(t)
        # a multi-word term ("锂离子电池正极材料") also contributes its parts
        term_list.extend(w for w in segment(term) if _valid(w))
    jfreq = jieba_frequencies()

    words: list[str] = []
    seen: set[str] = set()
    sources = {"terms": 0, "corpus": 0, "general": 0}

    def add(word: str, source: str) -> bool:
        if len(words) >= vocab_size:
            return False
        if word not in seen and len(word) > 1 and _valid(word):
            seen.add(word)
            words.append(word)
            sources[source] += 1
        return True

    for t in dict.fromkeys(term_list):
        if not add(t, "terms"):
            break
    for w, c in counts.most_common():
        if c < min_count or not add(w, "corpus"):
            break
    if general_words:
        for w, _f in sorted(jfreq.items(), key=lambda kv: (-kv[1], kv[0])):
            if len(words) >= vocab_size:
                break
            # only words the segmenter itself produces (not stopwords, not split further)
            if _CJK.search(w) and w not in seen and segment(w) == [w]:
                add(w, "general")

    # character fallback
    char_set: dict[str, None] = {}
    for w in words:
        for ch in w:
            char_set[ch] = None
    char_freq: Counter[str] = Counter()
    for w, f in jfreq.items():
        for ch in w:
            if _CJK.match(ch):
                char_freq[ch] += f
    for ch, _f in char_freq.most_common(chars):
        char_set[ch] = None
    for ch in "abcdefghijklmnopqrstuvwxyz0123456789":
        char_set[ch] = None
    singles = [c for c in char_set if _valid(c) and c not in seen]
    sources["chars"] = len(singles)
    tokens = words + singles

    # unigram probabilities: general-language (jieba) and domain (corpus) estimates
    # (the corpus estimate is damped by a prior mass, so a tiny corpus cannot
    # make a word that occurs twice look as common as "的")
    jtotal = float(sum(jfreq.values())) or 1.0
    ctotal = float(sum(counts.values())) + _CORPUS_PRIOR
    probs: dict[str, float] = {}
    for t in tokens:
        pj = (jfreq.get(t, 0) + char_freq.get(t, 0) * (len(t) == 1)) / jtotal
        pc = counts.get(t, 0) / ctotal
        probs[t] = max(pj, pc, 1.0 / (jtotal + ctotal))
    return Vocabulary(tokens=tokens, counts={t: counts.get(t, 0) for t in tokens}, probs=probs,
                      sources=sources)


# ------------------------------------------------------------------ distillation


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
