from __future__ import annotations

import math

import numpy as np
import pytest

from matcher.evaluation import (
    metrics,
    ndcg_at_k,
    rankings_from_scores,
    recall_at_k,
    reciprocal_rank,
)


def test_ndcg_hand_computed() -> None:
    rel = {"a": 2.0, "b": 1.0}
    # ranking c, a, b: DCG = 2/log2(3) + 1/log2(4); IDCG = 2/1 + 1/log2(3)
    expected = (2 / math.log2(3) + 1 / 2) / (2 + 1 / math.log2(3))
    assert ndcg_at_k(["c", "a", "b"], rel, 10) == pytest.approx(expected)
    assert ndcg_at_k(["a", "b", "c"], rel, 10) == pytest.approx(1.0)
    assert ndcg_at_k(["c", "d"], rel, 10) == 0.0
    assert ndcg_at_k(["c", "a"], rel, 1) == 0.0
    assert ndcg_at_k(["a"], {}, 10) == 0.0


def test_recall_and_mrr() -> None:
    rel = {"a": 1.0, "b": 1.0, "z": 0.0}
    assert recall_at_k(["x", "a", "y", "b"], rel, 3) == 0.5
    assert recall_at_k(["a", "b"], rel, 3) == 1.0
    assert reciprocal_rank(["x", "y", "b"], rel) == pytest.approx(1 / 3)
    assert reciprocal_rank(["z", "x"], rel) == 0.0


def test_metrics_average_and_rankings_from_scores() -> None:
    scores = np.array([[0.1, 0.9, 0.5], [0.3, 0.2, 0.1]])
    rankings = rankings_from_scores(["q1", "q2"], ["a", "b", "c"], scores)
    assert rankings == {"q1": ["b", "c", "a"], "q2": ["a", "b", "c"]}
    m = metrics(rankings, {"q1": {"c": 1.0}, "q2": {"a": 1.0}, "q3": {"a": 1.0}})
    assert m.n == 2
    assert m.mrr == pytest.approx((1 / 2 + 1) / 2)
    assert m.recall3 == 1.0
    assert m.ndcg10 == pytest.approx((1 / math.log2(3) + 1) / 2)


def test_evaluate_compares_strategies_on_every_signal(experts, tiny_encoder, segment) -> None:  # type: ignore[no-untyped-def]
    """A learned ranker that skips dense_lse still lets evaluate() score the
    two-channel strategies on their own inputs."""
    from matcher.evaluation import evaluate
    from matcher.fusion import Linear
    from matcher.learn import MatchModel
    from matcher.ranker import Ranker

    queries = [("q1", ("锂电池", "高镍正极材料包覆")), ("q2", "中医药针灸")]
    qrels = {"q1": {"E1": 2.0}, "q2": {"E2": 2.0}}
    model = MatchModel("expert", Linear({"bm25_rare": 0.5, "dense_prf": 1.0}), None, encoder=tiny_encoder.name)
    learned = Ranker.from_candidates(experts, tiny_encoder, segment, model=model)
    assert not learned._needs_blend()
    plain = Ranker(learned.index, tiny_encoder, segment, "semantic_boost")
    a = evaluate(learned, queries, qrels, {"sb": "semantic_boost", "own": None})
    b = evaluate(plain, queries, qrels, {"sb": "semantic_boost"})
    assert a["sb"] == b["sb"]
