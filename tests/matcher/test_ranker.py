from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from matcher.fusion import Linear
from matcher.ranker import RankConfig, Ranker
from matcher.types import Candidate, Filters

DEMAND = "高镍三元正极材料循环寿命提升：锂电池正极材料高温循环容量衰减快，需要表面包覆改性技术"


@pytest.fixture
def expert_ranker(experts: list[Candidate], tiny_encoder, segment) -> Ranker:  # type: ignore[no-untyped-def]
    return Ranker.from_candidates(experts, tiny_encoder, segment)


def test_demand_to_experts(expert_ranker: Ranker) -> None:
    matches = expert_ranker.rank(DEMAND, top_k=3)
    assert [m.id for m in matches][0] == "E1"
    assert len(matches) == 3
    assert matches[0].score >= matches[1].score >= matches[2].score
    top = matches[0]
    assert top.kind == "expert" and top.name == "张材料"
    assert top.best_item is not None and top.best_item.text in {"锂离子电池正极材料", "高镍三元材料表面包覆改性"}
    assert "正极材料" in top.shared_terms and "材料" not in top.shared_terms
    assert top.reasons[0].startswith("最相关的研究方向：")
    assert any(r.startswith("共同关键词：") for r in top.reasons)
    assert top.lexical == pytest.approx(1.0)  # best lexical match of the query


def test_profile_to_demands(demands: list[Candidate], tiny_encoder, segment) -> None:  # type: ignore[no-untyped-def]
    ranker = Ranker.from_candidates(demands, tiny_encoder, segment)
    sea = ranker.rank("海水养殖病害防控；鱼类育种；海洋生物活性物质提取", top_k=2)
    assert sea[0].id == "D2" and sea[0].kind == "demand"
    vision = ranker.rank("工业互联网平台；智能制造产线视觉检测；工业机器人控制", top_k=1)
    assert vision[0].id == "D3"


def test_filters_applied(expert_ranker: Ranker) -> None:
    ids = [m.id for m in expert_ranker.rank(DEMAND, 10, Filters(cities=["厦门"]))]
    assert ids == ["E2"]
    ids = [m.id for m in expert_ranker.rank(DEMAND, 10, Filters(academician_only=True))]
    assert set(ids) == {"E1", "E4"}
    ids = [m.id for m in expert_ranker.rank(DEMAND, 10, Filters(available_only=True, exclude_ids={"E1"}))]
    assert "E1" not in ids and "E3" not in ids and ids
    assert expert_ranker.rank(DEMAND, 10, Filters(cities=["北京"])) == []


def test_rank_many_matches_rank(expert_ranker: Ranker) -> None:
    texts = [DEMAND, "中医药治疗脑卒中的临床研究"]
    many = expert_ranker.rank_many(texts, top_k=4)
    for text, got in zip(texts, many, strict=True):
        single = expert_ranker.rank(text, top_k=4)
        assert [m.id for m in got] == [m.id for m in single]
        assert [m.score for m in got] == pytest.approx([m.score for m in single])
    assert many[1][0].id == "E2"
    assert expert_ranker.rank_many([], 3) == []


def test_shortlist_path_agrees_with_exhaustive(expert_ranker: Ranker) -> None:
    exact = expert_ranker.rank(DEMAND, top_k=4)
    expert_ranker.config = dataclasses.replace(RankConfig(), exhaustive_limit=0, shortlist=10)
    approx = expert_ranker.rank(DEMAND, top_k=4)
    assert [m.id for m in approx] == [m.id for m in exact]


def test_score_matrix_shape_and_strategies(experts: list[Candidate], tiny_encoder, segment) -> None:  # type: ignore[no-untyped-def]
    for strategy in ("semantic_boost", "weighted", "rrf", "semantic", "lexical"):
        r = Ranker.from_candidates(experts, tiny_encoder, segment, fusion=strategy)
        s = r.score(r.encode_queries([DEMAND, "海洋"]))
        assert s.fused.shape == (2, 4) and s.semantic.shape == (2, 4)
        assert np.isfinite(s.fused).all()
        assert int(np.argmax(s.fused[0])) == 0


def test_item_level_beats_diluted_profile(tiny_encoder, segment) -> None:  # type: ignore[no-untyped-def]
    """One on-topic item among many off-topic ones still wins (max-sim over items)."""
    from tests.matcher.conftest import expert

    focused = expert("A", "甲", ["锂电池正极材料表面包覆"] + [f"古代文学研究{i}" for i in range(12)])
    vague = expert("B", "乙", ["新能源材料", "化学工程"])
    ranker = Ranker.from_candidates([focused, vague], tiny_encoder, segment,
                                    config=RankConfig(alpha=0.0))
    assert ranker.rank("锂电池正极材料表面包覆", 1)[0].id == "A"


def test_empty_index(tiny_encoder, segment) -> None:  # type: ignore[no-untyped-def]
    ranker = Ranker.from_candidates([], tiny_encoder, segment)
    assert ranker.rank("任何", 5) == []


def test_semantic_scores_on_rows_equal_full_columns(expert_ranker: Ranker) -> None:
    snap = expert_ranker.index.snapshot()
    q_vecs = expert_ranker.encode_queries([DEMAND, "中医药"]).focus_vecs
    full = expert_ranker.semantic_scores(snap, q_vecs)
    for rows in (np.array([2, 0]), np.array([3]), np.arange(len(snap)), np.zeros(0, dtype=np.int64)):
        np.testing.assert_allclose(expert_ranker.semantic_scores(snap, q_vecs, rows), full[:, rows],
                                   rtol=1e-5, atol=1e-6)


def test_shortlist_path_applies_filters_like_exhaustive(expert_ranker: Ranker) -> None:
    f = Filters(cities=["福州"], exclude_ids={"E1"})
    exact = expert_ranker.rank(DEMAND, top_k=4, filters=f)
    expert_ranker.config = dataclasses.replace(RankConfig(), exhaustive_limit=0, shortlist=10)
    approx = expert_ranker.rank(DEMAND, top_k=4, filters=f)
    assert [m.id for m in approx] == [m.id for m in exact]
    assert [m.id for m in exact] == ["E4"]


def test_signals_of_a_row_subset_equal_full_columns(expert_ranker: Ranker) -> None:
    """Shortlists and the reverse direction score a few rows: their signals, z-scores
    and (learned, z-based) fused scores must be those of the same rows in a full
    scoring. (The two-channel strategies normalise over the columns they get.)"""
    ranker = Ranker(expert_ranker.index, expert_ranker.encoder, expert_ranker.segment,
                    Linear({"bm25": 0.3, "dense_item": 0.5, "part_item": 0.2, "coverage": 0.4,
                            "bm25_rare": 0.2, "dense_prf": 0.6}))
    eq = ranker.encode_queries([("锂电池正极材料", "1、正极材料包覆 2、电池热管理设计"), "中医药"])
    assert len(eq.part_owner) == 2
    full = ranker.score(eq)
    for rows in (np.array([2, 0]), np.array([3])):
        part = ranker.score(eq, rows=rows)
        np.testing.assert_allclose(part.z, full.z[:, rows], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(part.fused, full.fused[:, rows], rtol=1e-4, atol=1e-4)


def test_rare_tokens_keep_only_words_few_profiles_share(expert_ranker: Ranker) -> None:
    from matcher.signals import rare_tokens

    snap = expert_ranker.index.snapshot()
    common = max(snap.bm25.vocabulary, key=lambda t: -snap.bm25.term_idf(t))  # the most common word
    rare = min(snap.bm25.vocabulary, key=lambda t: -snap.bm25.term_idf(t))
    kept = rare_tokens(snap, [[common, rare, "不在词表里"]])[0]
    assert rare in kept and "不在词表里" not in kept
    # in a 4-profile collection a word in at most 2 profiles counts as rare
    assert all(snap.bm25.term_idf(t) >= snap.bm25.term_idf(common) for t in kept)
