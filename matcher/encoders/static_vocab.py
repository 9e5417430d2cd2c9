"""The tokens a static model is distilled over (:mod:`matcher.encoders.static_distill`).

Words come from a domain dictionary, a mined corpus and jieba's general
dictionary; every character of a chosen word, the most common CJK characters,
ASCII letters and digits follow, so any text can fall back to characters. Each
token gets a unigram probability for SIF weighting.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matcher.encoders.static import normalize

_WORD = re.compile(r"^\w+$")
_CJK = re.compile(r"[\u3400-\u9fff]")
_SPLIT_CELL = re.compile(r"[；;、，,\n|｜]+")
_CORPUS_PRIOR = 100_000.0  # pseudo-tokens added to the mined corpus size


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
