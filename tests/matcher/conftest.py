"""Fixtures for the matching-engine tests: the segmenter, a counting fake
encoder, small expert/demand candidate sets, and the tiny vocabulary of the
static-encoder tests."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from matcher.encoders.static_vocab import Vocabulary, build_vocabulary
from matcher.segment import Segmenter, make_segmenter
from matcher.types import Candidate, ProfileItem
from tests.matcher.static_corpus import TERMS, TEXTS


def memory_map(a: object) -> np.memmap | None:
    """The memory map ``a`` is (a view of), if any (a loaded index maps its files)."""
    while isinstance(a, np.ndarray):
        if isinstance(a, np.memmap):
            return a
        a = a.base
    return None


class CountingEncoder:
    """Deterministic hashed bag-of-characters encoder that counts its calls."""

    dim = 64

    def __init__(self, name: str = "fake-counting") -> None:
        self.name = name
        self.calls = 0
        self.texts_encoded = 0

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for ch in text:
            h = int.from_bytes(hashlib.blake2b(ch.encode(), digest_size=4).digest(), "little")
            v[h % self.dim] += 1.0 if (h >> 8) & 1 else -1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def _encode(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.texts_encoded += len(texts)
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)


@pytest.fixture(scope="session")
def segment() -> Segmenter:
    """The segmenter the ranker uses (search mode)."""
    return make_segmenter(mode="search")


@pytest.fixture(scope="module")
def tiny_vocab() -> Vocabulary:
    return build_vocabulary(TEXTS, TERMS, vocab_size=200, chars=0, general_words=False, min_count=1)


@pytest.fixture
def counting_encoder() -> CountingEncoder:
    return CountingEncoder()


def expert(cid: str, name: str, areas: list[str], city: str = "福州市", **attrs: object) -> Candidate:
    return Candidate(
        id=cid, kind="expert", name=name,
        items=[ProfileItem("research_area", a) for a in areas],
        attrs={"city": city, "disciplines": attrs.pop("disciplines", []), **attrs},
    )


@pytest.fixture
def experts() -> list[Candidate]:
    return [
        expert("E1", "张材料", ["锂离子电池正极材料", "高镍三元材料表面包覆改性", "固态电解质"],
               disciplines=["材料科学与工程"], is_academician=True, available=True),
        expert("E2", "李中医", ["中医药治疗脑卒中", "针灸推拿临床研究", "中药制剂质量控制"],
               city="厦门市", disciplines=["中医学"], is_academician=False, available=True),
        expert("E3", "王海洋", ["海水养殖病害防控", "海洋生物活性物质提取", "鱼类育种"],
               city="宁德市", disciplines=["水产"], is_academician=False, available=False),
        expert("E4", "赵智造", ["工业互联网平台", "智能制造产线视觉检测", "工业机器人控制"],
               disciplines=["控制科学与工程"], is_academician=True, available=True),
    ]


@pytest.fixture
def demands() -> list[Candidate]:
    def d(cid: str, title: str, desc: str) -> Candidate:
        return Candidate(id=cid, kind="demand", name=title,
                         items=[ProfileItem("title", title), ProfileItem("demand_description", desc)],
                         attrs={"status": "open", "city": "福州市"})

    return [
        d("D1", "高镍正极材料循环寿命提升", "锂电池正极材料高温循环容量衰减快，需要表面包覆改性"),
        d("D2", "大黄鱼养殖病害防控", "海水养殖大黄鱼病害频发，寻求病害防控与育种技术"),
        d("D3", "产线视觉缺陷检测", "智能制造产线需要机器视觉缺陷检测与工业机器人控制"),
    ]
