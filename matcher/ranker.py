"""Ranking: lexical + semantic channels over a ``CandidateIndex``, fused, filtered,
explained.

Semantic score of a candidate = ``alpha * cos(query, whole profile) +
(1 - alpha) * reduce(cos(query, item) for its items)``. The default
``reduce`` is a log-sum-exp ("lse", a soft max) whose temperature is
``item_tau`` times the spread (std) of the query's item similarities, so it
behaves the same for encoders with compressed (e5: std ~0.016) or wide cosine
ranges. It is the best item's similarity plus a bonus for further items
nearly as close: a candidate with one or several profile items squarely on
topic scores well even when the rest of its profile is about other things.
On the abstracts -> societies dev set (e5): whole profile alone nDCG@10 0.653,
hard max blend 0.645, lse blend 0.729.

Lexical score = BM25 of the query tokens against the candidate's tokens
(whole profile), optionally blended with the best single item's BM25.

Small collections are scored exhaustively (exact). Above
``RankConfig.exhaustive_limit`` candidates, FAISS (profile and item vectors)
and BM25 each propose a shortlist, and only their union is scored exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from matcher.encoders.base import Encoder
from matcher.fusion import FusionFn, get_fusion
from matcher.index import CandidateIndex, Snapshot
from matcher.lexical import group_reduce
from matcher.reasons import build_reasons, shared_terms
from matcher.types import Candidate, CandidateKind, Filters, Match

Segmenter = Callable[[str], list[str]]


@dataclass(frozen=True)
class RankConfig:
    alpha: float = 0.25  # weight of the whole-profile vector vs the items
    item_reduce: str = "lse"  # lse (spread-scaled soft max) | max | mean | softmax (fixed temperature)
    item_tau: float = 0.75  # lse temperature in units of the query's item-similarity std
    item_temperature: float = 0.05  # for "softmax"
    spread_sample: int = 4096  # items used to measure that std (a fixed stride sample)
    lex_item_weight: float = 0.0  # 0 = whole-profile BM25 only
    exhaustive_limit: int = 20_000
    shortlist: int = 200


@dataclass
class Scores:
    """Channel scores for a batch of queries against ``rows`` of a snapshot."""

    rows: np.ndarray  # (n_cols,) snapshot rows scored, shared by all queries
    lexical: np.ndarray  # (n_q, n_cols) raw BM25 (blended)
    semantic: np.ndarray  # (n_q, n_cols)
    fused: np.ndarray  # (n_q, n_cols)


class Ranker:
    def __init__(self, index: CandidateIndex, encoder: Encoder, segment: Segmenter,
                 fusion: str | FusionFn | None = None, config: RankConfig | None = None) -> None:
        self.index = index
        self.encoder = encoder
        self.segment = segment
        self.fusion = get_fusion(fusion)
        self.config = config or RankConfig()

    @classmethod
    def from_candidates(cls, candidates: Sequence[Candidate], encoder: Encoder, segment: Segmenter,
                        fusion: str | FusionFn | None = None, config: RankConfig | None = None,
                        index_type: str = "auto") -> Ranker:
        kind: CandidateKind = candidates[0].kind if candidates else "expert"
        index = CandidateIndex(kind, encoder.name, encoder.dim, index_type=index_type)
        index.upsert(candidates, encoder, segment)
        return cls(index, encoder, segment, fusion, config)

    # -- channels -----------------------------------------------------------
    def lexical_scores(self, snap: Snapshot, q_tokens: Sequence[list[str]]) -> np.ndarray:
        lex = snap.bm25.score(q_tokens)
        w = self.config.lex_item_weight
        if w > 0:
            lex = (1 - w) * lex + w * snap.item_bm25.score(q_tokens)
        return lex

    def _temperature(self, snap: Snapshot, q_vecs: np.ndarray) -> np.ndarray | float:
        cfg = self.config
        if cfg.item_reduce != "lse":
            return cfg.item_temperature
        n_items = snap.items.shape[0]
        step = max(1, -(-n_items // cfg.spread_sample))
        sims = q_vecs @ snap.item_sample(step).T
        spread = sims.std(axis=1, keepdims=True) if sims.shape[1] > 1 else np.ones((len(q_vecs), 1))
        return np.maximum(cfg.item_tau * spread, 1e-4)

    def semantic_scores(self, snap: Snapshot, q_vecs: np.ndarray,
                        rows: np.ndarray | None = None) -> np.ndarray:
        cfg = self.config
        how = "softmax" if cfg.item_reduce == "lse" else cfg.item_reduce
        temp = self._temperature(snap, q_vecs)
        if rows is None:
            prof = q_vecs @ snap.profile.T
            item_sims = q_vecs @ snap.items.T
            reduced = group_reduce(item_sims, snap.item_owner, len(snap), how, temp)
            has_items = np.diff(snap.item_start) > 0
        else:
            prof = q_vecs @ snap.profile[rows].T
            counts = np.diff(snap.item_start)[rows]
            local_owner = np.repeat(np.arange(len(rows)), counts)
            # items of each row in turn: the row's first item + position within the row
            offsets = np.arange(len(local_owner)) - np.repeat(np.cumsum(counts) - counts, counts)
            sel = snap.item_start[rows][local_owner] + offsets
            item_sims = q_vecs @ snap.items[sel].T
            reduced = group_reduce(item_sims, local_owner, len(rows), how, temp)
            has_items = np.diff(snap.item_start)[rows] > 0
        reduced = np.where(has_items[None, :], reduced, prof)
        return (cfg.alpha * prof + (1 - cfg.alpha) * reduced).astype(np.float32)

    def encode_queries(self, texts: Sequence[str]) -> tuple[np.ndarray, list[list[str]]]:
        vecs = self.encoder.encode_queries(list(texts))
        return vecs, [self.segment(t) for t in texts]

    def score(self, q_vecs: np.ndarray, q_tokens: Sequence[list[str]],
              snap: Snapshot | None = None) -> Scores:
        """Exact channel and fused scores of every query against every candidate."""
        snap = snap or self.index.snapshot()
        lex = self.lexical_scores(snap, q_tokens)
        sem = self.semantic_scores(snap, q_vecs)
        fused = self.fusion(lex, sem) if len(snap) else np.zeros_like(sem, dtype=np.float64)
        return Scores(np.arange(len(snap)), lex, sem, np.asarray(fused, dtype=np.float64))

    # -- ranking ------------------------------------------------------------
    def rank(self, query_text: str, top_k: int = 10, filters: Filters | None = None) -> list[Match]:
        return self.rank_many([query_text], top_k, filters)[0]

    def rank_many(self, query_texts: Sequence[str], top_k: int = 10,
                  filters: Filters | None = None) -> list[list[Match]]:
        if not query_texts:
            return []
        q_vecs, q_tokens = self.encode_queries(query_texts)
        return self.rank_encoded(q_vecs, q_tokens, top_k, filters)

    def rank_encoded(self, q_vecs: np.ndarray, q_tokens: Sequence[list[str]], top_k: int = 10,
                     filters: Filters | None = None) -> list[list[Match]]:
        snap = self.index.snapshot()
        n = len(snap)
        if n == 0:
            return [[] for _ in q_tokens]
        allowed = snap.attr_table.mask(filters)
        if n <= self.config.exhaustive_limit:
            scores = self.score(q_vecs, q_tokens, snap)
            return [self._top(snap, scores.rows, scores, qi, q_vecs[qi], q_tokens[qi], allowed, top_k)
                    for qi in range(len(q_tokens))]
        lex_all = self.lexical_scores(snap, q_tokens)
        near = self.index.search_shortlist(q_vecs, self.config.shortlist)
        out = []
        for qi in range(len(q_tokens)):
            m = max(self.config.shortlist, top_k * 5)
            lex_top = np.argpartition(-lex_all[qi], min(m, n - 1))[:m]
            rows = np.unique(np.concatenate([
                lex_top, np.fromiter((snap.row_of[c] for c in near[qi]), dtype=np.int64)
            ]))
            sem = self.semantic_scores(snap, q_vecs[qi : qi + 1], rows)
            lex = lex_all[qi : qi + 1, rows]
            fused = np.asarray(self.fusion(lex, sem), dtype=np.float64)
            s = Scores(rows, lex, sem, fused)
            out.append(self._top(snap, rows, s, 0, q_vecs[qi], q_tokens[qi], allowed, top_k))
        return out

    def _top(self, snap: Snapshot, rows: np.ndarray, scores: Scores, qi: int, q_vec: np.ndarray,
             q_tok: list[str], allowed: np.ndarray, top_k: int) -> list[Match]:
        fused = np.where(allowed[rows], scores.fused[qi], -np.inf)
        k = min(top_k, int(np.isfinite(fused).sum()))
        if k <= 0:
            return []
        part = np.argpartition(-fused, k - 1)[:k]
        order = part[np.lexsort((part, -fused[part]))]
        lex_row = scores.lexical[qi]
        lex_best = float(lex_row.max()) if lex_row.size else 0.0
        return [self._match(snap, int(rows[c]), float(fused[c]),
                            float(lex_row[c] / lex_best) if lex_best > 0 else 0.0,
                            float(scores.semantic[qi, c]), q_vec, q_tok)
                for c in order]

    def explain(self, snap: Snapshot, row: int, q_vec: np.ndarray, q_tok: list[str]
                ) -> tuple[list[str], int | None, float | None]:
        rec = snap.records[row]
        a, b = int(snap.item_start[row]), int(snap.item_start[row + 1])
        best, best_sim = None, None
        if b > a:
            sims = snap.items[a:b] @ q_vec
            best = int(np.argmax(sims))
            best_sim = float(sims[best])
        terms = shared_terms(q_tok, rec.tokens, snap.bm25.term_idf)
        return terms, best, best_sim

    def _match(self, snap: Snapshot, row: int, fused: float, lexical: float, semantic: float,
               q_vec: np.ndarray, q_tok: list[str]) -> Match:
        rec = snap.records[row]
        terms, best, best_sim = self.explain(snap, row, q_vec, q_tok)
        best_item = rec.items[best] if best is not None else None
        return Match(
            id=rec.id, kind=self.index.kind, name=rec.name, score=fused, lexical=lexical,
            semantic=semantic, best_item=best_item, shared_terms=terms,
            reasons=build_reasons(terms, best_item, lexical, semantic, best_sim),
        )

    def reasons_for(self, snap: Snapshot, row: int, q_vec: np.ndarray, q_tok: list[str],
                    lexical: float, semantic: float) -> list[str]:
        terms, best, best_sim = self.explain(snap, row, q_vec, q_tok)
        best_item = snap.records[row].items[best] if best is not None else None
        return build_reasons(terms, best_item, lexical, semantic, best_sim)
