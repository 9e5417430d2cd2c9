"""Ranking metrics (nDCG@k, Recall@k, MRR) and an offline evaluation helper
that scores every query once and compares fusion strategies on the same run."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from matcher.fusion import FusionFn, SignalFusion, get_signal_fusion
from matcher.ranker import Ranker
from matcher.signals import SIGNALS


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


def evaluate(ranker: Ranker, queries: Sequence[tuple[str, Any]],
             qrels: Mapping[str, Mapping[str, float]],
             strategies: Mapping[str, str | FusionFn | SignalFusion | None],
             graded: bool = False) -> dict[str, Metrics | GradedMetrics]:
    """Encode and score all queries once, then rank with each named strategy
    (``None`` = the ranker's own fusion)."""
    qids = [q for q, _ in queries]
    scores = ranker.score(ranker.encode_queries([t for _, t in queries]), every_signal=True)
    ids = ranker.index.snapshot().ids
    out: dict[str, Metrics | GradedMetrics] = {}
    for label, strategy in strategies.items():
        fused = scores.fused if strategy is None else get_signal_fusion(strategy)(
            scores.raw, scores.z, SIGNALS)
        rankings = rankings_from_scores(qids, ids, np.asarray(fused))
        out[label] = graded_metrics(rankings, qrels) if graded else metrics(rankings, qrels)
    return out


# -- graded metrics for candidate lists with pooled judgments --------------------------
@dataclass
class GradedMetrics:
    """Over demands that have a grade-2 (core) candidate: nDCG@10 (graded gains),
    Hit@3 (a grade-2 candidate in the top 3), P@5 (grade >= 1), judged@10 (share
    of the top 10 that was judged at all: low means the figures are uncertain)."""

    ndcg10: float
    hit3: float
    p5: float
    judged10: float
    n: int

    def __str__(self) -> str:
        return (f"nDCG@10={self.ndcg10:.4f}  Hit@3={self.hit3:.4f}  P@5={self.p5:.4f}  "
                f"judged@10={self.judged10:.4f}  (n={self.n})")


def graded_metrics(rankings: Mapping[str, Sequence[str]],
                   qrels: Mapping[str, Mapping[str, float]]) -> GradedMetrics:
    qids = [q for q in rankings if any(g >= 2 for g in qrels.get(q, {}).values())]
    if not qids:
        return GradedMetrics(0.0, 0.0, 0.0, 0.0, 0)
    nd = hit = p5 = jd = 0.0
    for q in qids:
        rel, ranking = qrels[q], rankings[q]
        nd += ndcg_at_k(ranking, rel, 10)
        hit += float(any(rel.get(c, 0) >= 2 for c in ranking[:3]))
        p5 += sum(rel.get(c, 0) >= 1 for c in ranking[:5]) / 5
        top = ranking[:10]
        jd += sum(c in rel for c in top) / max(len(top), 1)
    n = len(qids)
    return GradedMetrics(nd / n, hit / n, p5 / n, jd / n, n)
