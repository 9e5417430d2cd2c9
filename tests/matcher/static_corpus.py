"""A tiny domain corpus and a stand-in for e5, for the static-encoder tests."""

from __future__ import annotations

import hashlib

import numpy as np

TEXTS = [
    "锂离子电池正极材料循环寿命短，低温性能差，希望提高能量密度。",
    "动力电池负极材料首次效率低，电解液与隔膜需要优化。",
    "污水处理厂出水不达标，膜污染严重，需要降低处理成本。",
    "印染废水处理与回用技术，降低化学需氧量。",
    "数控机床加工精度不稳定，主轴振动噪声大。",
    "工业机器人减速器寿命不足，需要提高定位精度。",
    "水稻育种与病虫害绿色防控，提高产量。",
    "茶叶种植与加工，乌龙茶品质提升。",
    "中药饮片质量标准研究，有效成分提取。",
    "人工智能与机器学习在图像识别中的应用。",
] * 2
TERMS = [
    "锂离子电池", "正极材料", "负极材料", "动力电池", "储能电池", "锂电池", "电解液", "隔膜",
    "污水处理", "废水治理", "废水处理", "膜污染", "印染废水", "数控机床", "机械加工", "工业机器人",
    "减速器", "水稻育种", "水稻", "病虫害", "茶叶种植", "乌龙茶", "中药饮片", "中药", "中医",
    "人工智能", "机器学习", "图像识别", "半导体", "芯片", "鲍鱼养殖", "大黄鱼", "混凝土", "桥梁",
]


class HashEncoder:
    """Deterministic stand-in for e5: a pseudo-random unit vector per text."""

    name = "hash-test"
    dim = 24

    def __init__(self) -> None:
        self.calls = 0

    def _vec(self, text: str, salt: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256((salt + text).encode()).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return v / np.linalg.norm(v)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return np.stack([self._vec(t, "p") for t in texts])

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return np.stack([self._vec(t, "q") for t in texts])

