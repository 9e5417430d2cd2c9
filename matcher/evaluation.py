"""Ranking metrics (nDCG@k, Recall@k, MRR) and an offline evaluation helper
that scores every query once and compares fusion strategies on the same run."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from matcher.fusion import FusionFn, get_fusion
from matcher.ranker import Ranker


def dcg(gains: Sequence[float]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at_k(ranking: Sequence[str], relevant: Mapping[str, float], k: int = 10) -> float:
    """Linear gain (the grade), log2 discount; 0 when nothing is relevant."""
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    if not ideal:
        return 0.0
    gains = [max(relevant.get(c, 0.0), 0.0) for c in ranking[:k]]
    return dcg(gains) / dcg(ideal)


def recall_at_k(ranking: Sequence[str], relevant: Mapping[str, float], k: int) -> float:
    rel = {c for c, g in relevant.items() if g > 0}
    if not rel:
        return 0.0
    return len(rel & set(ranking[:k])) / len(rel)


def reciprocal_rank(ranking: Sequence[str], relevant: Mapping[str, float]) -> float:
    for i, c in enumerate(ranking):
        if relevant.get(c, 0.0) > 0:
            return 1.0 / (i + 1)
    return 0.0


@dataclass
class Metrics:
    ndcg10: float
    recall3: float
    mrr: float
    n: int

    def __str__(self) -> str:
        return f"nDCG@10={self.ndcg10:.4f}  Recall@3={self.recall3:.4f}  MRR={self.mrr:.4f}  (n={self.n})"


def metrics(rankings: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, float]]) -> Metrics:
    qids = [q for q in rankings if q in qrels and any(g > 0 for g in qrels[q].values())]
    if not qids:
        return Metrics(0.0, 0.0, 0.0, 0)
    n = len(qids)
    return Metrics(
        ndcg10=sum(ndcg_at_k(rankings[q], qrels[q], 10) for q in qids) / n,
        recall3=sum(recall_at_k(rankings[q], qrels[q], 3) for q in qids) / n,
        mrr=sum(reciprocal_rank(rankings[q], qrels[q]) for q in qids) / n,
        n=n,
    )


def rankings_from_scores(qids: Sequence[str], ids: Sequence[str], scores: np.ndarray,
                         depth: int = 100) -> dict[str, list[str]]:
    depth = min(depth, scores.shape[1])
    out: dict[str, list[str]] = {}
    for qi, q in enumerate(qids):
        row = scores[qi]
        # stable: ties broken by candidate order
        order = np.lexsort((np.arange(len(row)), -row))[:depth]
        out[q] = [ids[int(c)] for c in order]
    return out


def evaluate(ranker: Ranker, queries: Sequence[tuple[str, str]],
             qrels: Mapping[str, Mapping[str, float]],
             strategies: Mapping[str, str | FusionFn]) -> dict[str, Metrics]:
    """Encode and score all queries once, then rank with each named strategy."""
    qids = [q for q, _ in queries]
    q_vecs, q_tokens = ranker.encode_queries([t for _, t in queries])
    snap = ranker.index.snapshot()
    lex = ranker.lexical_scores(snap, q_tokens)
    sem = ranker.semantic_scores(snap, q_vecs)
    out: dict[str, Metrics] = {}
    for label, strategy in strategies.items():
        fused = get_fusion(strategy)(lex, sem)
        out[label] = metrics(rankings_from_scores(qids, snap.ids, np.asarray(fused)), qrels)
    return out
