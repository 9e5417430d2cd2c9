"""The vocabulary a static model is distilled over, and the corpus readers behind it."""

from __future__ import annotations

from pathlib import Path

from matcher.encoders.static_vocab import (
    Vocabulary,
    build_vocabulary,
    read_corpus_texts,
    read_userdict,
)
from tests.matcher.static_corpus import TERMS, TEXTS


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


def test_corpus_readers(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("name,keywords\n学会,锂电池；储能\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text('{"text": "污水处理", "n": 3}\n', encoding="utf-8")
    (tmp_path / "u.txt").write_text("# 注释\n锂电池 10 n\n储能\n", encoding="utf-8")
    assert {"学会", "锂电池；储能", "锂电池", "储能", "name", "keywords"} <= set(read_corpus_texts(tmp_path / "a.csv"))
    assert list(read_corpus_texts(tmp_path / "b.jsonl")) == ["污水处理"]
    assert read_userdict(tmp_path / "u.txt") == ["锂电池", "储能"]
