"""Chinese word segmentation (jieba) behind one small function.

This is the only module that imports jieba: everything else takes a
``segment: Callable[[str], list[str]]``. Text is NFKC-normalised (full-width
letters, digits and punctuation become half-width) and lower-cased; stopwords,
punctuation and bare numbers are dropped. Repeated tokens are kept (BM25
uses the counts). A private ``jieba.Tokenizer`` is used
so the domain dictionary never leaks into other users of jieba.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

Segmenter = Callable[[str], list[str]]

# package data of matcher.data, so an installed wheel segments with the domain dictionary too
DEFAULT_USERDICT = Path(str(files("matcher.data") / "userdict.txt"))
DEFAULT_STOPWORDS = Path(str(files("matcher.data") / "stopwords.txt"))

SEGMENT_CACHE = 8192  # texts per segmenter whose tokens are remembered
_KEEP = re.compile(r"[0-9a-z\u3400-\u9fff]")
_NUMBER = re.compile(r"^[0-9.\-+%~]+$")


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


def read_stopwords(path: Path | None) -> frozenset[str]:
    if path is None or not Path(path).exists():
        return frozenset()
    words = set()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.add(normalize(line))
    return frozenset(words)


def _is_token(tok: str, stop: frozenset[str]) -> bool:
    if not tok or tok in stop:
        return False
    if _NUMBER.match(tok):
        return False
    return bool(_KEEP.search(tok))


@lru_cache(maxsize=8)
def _build(userdict: str | None, stopwords: str | None, mode: str) -> Segmenter:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    if userdict and Path(userdict).exists():
        # Loaded line by line (not jieba.load_userdict) so lower-cased latin terms
        # such as "3d打印" and blank/comment lines are handled our way.
        for line in Path(userdict).read_text(encoding="utf-8").splitlines():
            parts = line.strip().split()
            if not parts or parts[0].startswith("#"):
                continue
            word = normalize(parts[0])
            freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
            tokenizer.add_word(word, freq)
    stop = read_stopwords(Path(stopwords) if stopwords else None)
    lock = threading.Lock()

    @lru_cache(maxsize=SEGMENT_CACHE)
    def cached(norm: str) -> tuple[str, ...]:
        with lock:  # jieba's tokenizer lazily mutates shared state
            if mode == "search":
                raw = tokenizer.lcut_for_search(norm, HMM=True)
            else:
                raw = tokenizer.lcut(norm, HMM=True)
        return tuple(t for t in (w.strip() for w in raw) if _is_token(t, stop))

    def segment(text: str) -> list[str]:
        # the same demand is matched again and again (its page, re-plans, the
        # reverse direction): its segmentation is remembered, a fresh list each time
        norm = normalize(text)
        if not norm.strip():
            return []
        return list(cached(norm))

    return segment


SEARCH = "search"


def make_segmenter(
    userdict: Path | str | None = DEFAULT_USERDICT,
    stopwords: Path | str | None = DEFAULT_STOPWORDS,
    mode: str = "precise",
) -> Segmenter:
    """A cached segmenter for this dictionary/stopword pair (cheap to call again).

    ``mode="precise"`` (default) gives one segmentation. ``mode="search"``
    emits a compound word and also its dictionary sub-words (锂离子电池 ->
    离子, 电池, 锂离子, 锂离子电池), so a profile keyword matches a longer or
    shorter phrasing in the query; the ranker uses it (``SEARCH``): on the
    abstracts -> societies dev set it lifts BM25 nDCG@10 from 0.545 to 0.587.
    """
    if mode not in ("search", "precise"):
        raise ValueError(f"mode must be 'search' or 'precise', not {mode!r}")
    return _build(str(userdict) if userdict else None, str(stopwords) if stopwords else None, mode)
