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

Those two channels are two of the signals in ``matcher/signals.py``; a ranker
scores all of them and fuses them with its ``SignalFusion``: a two-channel
strategy from ``matcher/fusion.py`` (societies: ``semantic_boost``) or a learned
``Linear`` model with its calibration (experts: ``matcher/learn.py``), which
also gives each match a probability of being relevant and a grade (高/中/低).

Small collections are scored exhaustively (exact). Above
``RankConfig.exhaustive_limit`` candidates, FAISS (profile and item vectors)
and BM25 each propose a shortlist, and only their union is scored exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from matcher.demand_text import DemandText
from matcher.encoders.base import Encoder
from matcher.fusion import FusionFn, Linear, SignalFusion, get_signal_fusion
from matcher.index import CandidateIndex
from matcher.learn import Calibration, MatchModel
from matcher.lexical import group_reduce
from matcher.probe_threads import PROBES
from matcher.reasons import build_reasons, shared_terms
from matcher.selection import top_m
from matcher.signals import (
    SIGNALS,
    EncodedQueries,
    needed_signals,
    normalised_signals,
    prf_vectors,
    rare_tokens,
    row_profiles,
    snapshot_stats_rows,
)
from matcher.signals import _row_items as row_items
from matcher.signals import encode_queries as encode_query_batch
from matcher.snapshot import Snapshot
from matcher.types import Candidate, CandidateKind, Filters, Match

Query = str | DemandText | tuple[str, str]

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
    # Stage 1 above ``exhaustive_limit``: how deep each source of the shortlist is read.
    # Depths from where the rows of exact full scoring's top 10 are found (bench/README.md,
    # "shortlist"): most by the feedback vector's profile neighbours (``dense_prf`` has the
    # largest weight), then the focus's items, the lexical tops and the focus's profiles;
    # the title's and sub-problems' neighbours add few.
    shortlist: int = 100  # FAISS neighbours of the focus vector by whole profile
    shortlist_items: int = 800  # ... and by item
    shortlist_prf: int = 800  # FAISS neighbours of the feedback (dense_prf) vector by whole profile
    shortlist_aux: int = 25  # FAISS neighbours of the title vector by whole profile
    shortlist_aux_items: int = 0  # ... and by item
    # ... and of each sub-problem's vector: 0, as the sub-problems found no row of the
    # exact top 10 that the other sources missed (45 dev demands at 250k rows, recall@10
    # 0.967 with and without), and a demand with 8 of them paid ~1 ms for those searches
    shortlist_parts: int = 0
    shortlist_lexical: int = 200  # tops by focus BM25, rare-word BM25 and character n-grams
    # the n-gram top is read from the n-grams in at most this share of the rows: at 250k
    # rows 55 % fewer postings, recall@10 of exact scoring unchanged (0.967, 45 demands;
    # 0.05: 0.964); the n-gram signal itself is computed exactly on the scored rows
    char_top_max_share: float = 0.1


@dataclass
class Scores:
    """Signals and fused scores for a batch of queries against ``rows`` of a snapshot."""

    rows: np.ndarray  # (n_cols,) snapshot rows scored, shared by all queries
    raw: np.ndarray  # (n_q, n_cols, n_signals)
    z: np.ndarray  # (n_q, n_cols, n_signals) per-query z-scores
    fused: np.ndarray  # (n_q, n_cols)
    probability: np.ndarray | None  # (n_q, n_cols) when the ranker is calibrated

    def signal(self, name: str) -> np.ndarray:
        return self.raw[:, :, SIGNALS.index(name)]

    @property
    def lexical(self) -> np.ndarray:
        return self.signal("bm25")

    @property
    def semantic(self) -> np.ndarray:
        return self.signal("dense_lse")


class Ranker:
    def __init__(self, index: CandidateIndex, encoder: Encoder, segment: Segmenter,
                 fusion: str | FusionFn | SignalFusion | None = None, config: RankConfig | None = None,
                 model: MatchModel | None = None) -> None:
        self.index = index
        self.encoder = encoder
        self.segment = segment
        # A model was fitted on one encoder's signals (and its calibration on that
        # encoder's cosines): with another encoder it is not used, and the kind
        # keeps the two-channel default until it is re-fitted (kejie fusion fit).
        if model is not None and (fusion is not None or model.encoder not in ("", encoder.name)):
            model = None
        self.model = model
        self.fusion = model.fusion if model is not None else get_signal_fusion(fusion)
        self.calibration: Calibration | None = model.calibration if model is not None else None
        self.config = config or RankConfig()

    @property
    def need(self) -> frozenset[str]:
        """The signals this ranker computes (the rest stay 0)."""
        return needed_signals(self._used_signals())

    @classmethod
    def from_candidates(cls, candidates: Sequence[Candidate], encoder: Encoder, segment: Segmenter,
                        fusion: str | FusionFn | SignalFusion | None = None,
                        config: RankConfig | None = None, index_type: str = "auto",
                        model: MatchModel | None = None) -> Ranker:
        kind: CandidateKind = candidates[0].kind if candidates else "expert"
        index = CandidateIndex(kind, encoder.name, encoder.dim, index_type=index_type)
        index.upsert(candidates, encoder, segment)
        return cls(index, encoder, segment, fusion, config, model)

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
        n_items = len(snap.item_owner)
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
            prof = q_vecs @ snap.profile_matrix().T
            item_sims = q_vecs @ snap.item_matrix().T
            reduced = group_reduce(item_sims, snap.item_owner, len(snap), how, temp)
            has_items = np.diff(snap.item_start) > 0
        else:
            prof = q_vecs @ snap.profile_of(rows).T
            it = row_items(snap, rows)  # the stats rows' items are gathered once per snapshot
            reduced = group_reduce(q_vecs @ it.vecs.T, it.owner, len(rows), how, temp)
            has_items = it.has_items
        reduced = np.where(has_items[None, :], reduced, prof)
        return (cfg.alpha * prof + (1 - cfg.alpha) * reduced).astype(np.float32)

    def encode_queries(self, queries: Sequence[Query]) -> EncodedQueries:
        """Understand (boilerplate, sub-problems) and encode a batch of demands once."""
        return encode_query_batch(list(queries), self.encoder, self.segment)

    def score(self, eq: EncodedQueries, snap: Snapshot | None = None,
              rows: np.ndarray | None = None, every_signal: bool = False,
              lexical: tuple[np.ndarray, np.ndarray | None] | None = None,
              rare_lex: np.ndarray | None = None) -> Scores:
        """Signals, fused scores (and probabilities) of every query against ``rows``
        (default: every candidate). ``every_signal``: also the signals this ranker's
        fusion does not use (to compare strategies on one scoring); otherwise those
        are left 0. ``lexical``/``rare_lex``: BM25 rows already computed."""
        snap = snap or self.index.snapshot()
        rows = np.arange(len(snap), dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
        if len(snap) == 0 or len(eq) == 0:
            empty = np.zeros((len(eq), len(rows)))
            return Scores(rows, np.zeros((*empty.shape, len(SIGNALS))),
                          np.zeros((*empty.shape, len(SIGNALS))), empty, None)
        blend = ((lambda v, r: self.semantic_scores(snap, v, r))
                 if every_signal or self._needs_blend() else None)
        need = needed_signals(None) if every_signal else self.need
        raw, z = normalised_signals(snap, eq, rows, blend, lexical, need, rare_lex)
        fused = np.asarray(self.fusion(raw, z, SIGNALS), dtype=np.float64)
        prob = self.calibration.probability(fused, raw, SIGNALS) if self.calibration else None
        return Scores(rows, raw, z, fused, prob)

    def _used_signals(self) -> set[str] | None:
        """The signals this ranker's fusion and calibration read (None: any of them,
        a strategy that does not say)."""
        if isinstance(self.fusion, Linear):
            used = {s for s, w in self.fusion.weights.items() if w}
            if self.calibration is not None:
                used |= set(self.calibration.b)
            return used
        return None

    def _needs_blend(self) -> bool:
        """Whether ``dense_lse`` (the costliest dense signal) is needed; a learned
        model without it skips it."""
        return "dense_lse" in self.need

    # -- ranking ------------------------------------------------------------
    def rank(self, query: Query, top_k: int = 10, filters: Filters | None = None) -> list[Match]:
        return self.rank_many([query], top_k, filters)[0]

    def rank_many(self, queries: Sequence[Query], top_k: int = 10,
                  filters: Filters | None = None) -> list[list[Match]]:
        if not queries:
            return []
        return self.rank_encoded(self.encode_queries(queries), top_k, filters)

    def dense_probes(self, snap: Snapshot, eq: EncodedQueries, qi: int, top_k: int) -> Future[np.ndarray]:
        """The rows FAISS finds near query ``qi``'s focus, title and sub-problem
        vectors (by whole profile and by best item), searched in a probe thread
        when nothing else is ranked meanwhile (``matcher.probe_threads``)."""
        cfg = self.config
        one = eq.subset([qi])
        return PROBES.submit(self.index.search_rows, snap, [
            (one.focus_vecs, max(cfg.shortlist, top_k), max(cfg.shortlist_items, top_k)),
            (one.title_vecs, cfg.shortlist_aux, cfg.shortlist_aux_items),
            (one.part_vecs, cfg.shortlist_parts, 0)])

    def shortlist(self, snap: Snapshot, eq: EncodedQueries, qi: int, top_k: int,
                  focus_lex: np.ndarray | None = None, rare_lex: np.ndarray | None = None,
                  dense: Future[np.ndarray] | None = None) -> np.ndarray:
        """Rows worth scoring exactly for query ``qi`` of a large collection (stage 1):
        the union of the tops by focus BM25, rare-word BM25 and character n-grams
        (sparse products over every row) and the FAISS neighbours of the focus,
        title, sub-problem (``shortlist_parts``) and feedback (``dense_prf``)
        vectors, by whole profile and by best item. Stage 2 scores every signal on
        these rows only; the fixed stats rows make those scores the ones a full
        scoring gives. ``dense``: ``dense_probes`` started by the caller."""
        cfg = self.config
        dense = self.dense_probes(snap, eq, qi, top_k) if dense is None else dense
        n = len(snap)
        m = min(max(cfg.shortlist_lexical, top_k * 5), n - 1)
        lex = snap.bm25.score([eq.focus_tokens[qi]])[0] if focus_lex is None else focus_lex
        rare = snap.bm25.score(rare_tokens(snap, [eq.focus_tokens[qi]]))[0] if rare_lex is None else rare_lex
        one = eq.subset([qi])
        char = snap.char_ngrams.score(snap.char_ngrams.without_common(
            one.focus_char(snap), cfg.char_top_max_share))[0]
        ref = snapshot_stats_rows(snap)
        prf = prf_vectors(snap, one, ref, one.focus_vecs @ row_profiles(snap, ref).T,
                          lex[None, ref])
        near = self.index.search_rows(snap, [(prf, max(cfg.shortlist_prf, top_k), 0)])
        tops = [top_m(x, m) for x in (lex, rare, char)]
        return np.unique(np.concatenate([*tops, near, dense.result()]))

    def rank_encoded(self, eq: EncodedQueries, top_k: int = 10,
                     filters: Filters | None = None) -> list[list[Match]]:
        snap = self.index.snapshot()
        if len(snap) == 0:
            return [[] for _ in range(len(eq))]
        allowed = snap.attr_table.mask(filters)
        if len(snap) <= self.config.exhaustive_limit:
            scores = self.score(eq, snap)
            return [self._top(snap, scores, qi, eq, qi, allowed, top_k) for qi in range(len(eq))]
        out = []
        for qi in range(len(eq)):
            with PROBES.ranking():
                out.append(self._rank_large(snap, eq, qi, top_k, allowed))
        return out

    def _rank_large(self, snap: Snapshot, eq: EncodedQueries, qi: int, top_k: int,
                    allowed: np.ndarray) -> list[Match]:
        """Query ``qi`` of a collection above ``exhaustive_limit``: shortlist, then score."""
        one = eq.subset([qi])
        dense = self.dense_probes(snap, eq, qi, top_k)  # meanwhile, maybe in a probe thread
        lexical = (snap.bm25.score(one.focus_tokens),
                   snap.bm25.score(one.title_tokens) if "title_bm25" in self.need else None)
        rare_lex = snap.bm25.score(rare_tokens(snap, one.focus_tokens))
        rows = self.shortlist(snap, eq, qi, top_k, lexical[0][0], rare_lex[0], dense)
        scores = self.score(one, snap, rows, lexical=lexical, rare_lex=rare_lex)
        return self._top(snap, scores, 0, one, 0, allowed, top_k)

    def _top(self, snap: Snapshot, scores: Scores, si: int, eq: EncodedQueries, qi: int,
             allowed: np.ndarray, top_k: int) -> list[Match]:
        rows = scores.rows
        fused = np.where(allowed[rows], scores.fused[si], -np.inf)
        k = min(top_k, int(np.isfinite(fused).sum()))
        if k <= 0:
            return []
        part = np.argpartition(-fused, k - 1)[:k]
        order = part[np.lexsort((part, -fused[part]))]
        return [self.match_at(snap, scores, si, int(c), eq, qi) for c in order]

    def match_at(self, snap: Snapshot, scores: Scores, si: int, col: int, eq: EncodedQueries,
                 qi: int) -> Match:
        """The explained ``Match`` for column ``col`` of query ``si`` in ``scores``."""
        row = int(scores.rows[col])
        lex_row = scores.lexical[si]
        lex_best = float(lex_row.max()) if lex_row.size else 0.0
        lexical = float(lex_row[col] / lex_best) if lex_best > 0 else 0.0
        semantic = float(scores.semantic[si, col])
        prob = float(scores.probability[si, col]) if scores.probability is not None else None
        grade = self.calibration.grade(prob) if self.calibration and prob is not None else None
        rec = snap.records[row]
        terms, best, best_sim = self.explain(snap, row, eq, qi)
        best_item = rec.items[best] if best is not None else None
        return Match(
            id=rec.id, kind=self.index.kind, name=rec.name, score=float(scores.fused[si, col]),
            lexical=lexical, semantic=semantic, best_item=best_item, shared_terms=terms,
            reasons=build_reasons(terms, best_item, lexical, semantic, best_sim, prob, grade),
            probability=prob, grade=grade,
        )

    def explain(self, snap: Snapshot, row: int, eq: EncodedQueries, qi: int
                ) -> tuple[list[str], int | None, float | None]:
        """Shared discriminative terms and the profile item closest to the demand's
        focus, its title or any of its sub-problems."""
        a, b = int(snap.item_start[row]), int(snap.item_start[row + 1])
        best, best_sim = None, None
        if b > a:
            vecs = np.vstack([eq.focus_vecs[qi: qi + 1], eq.title_vecs[qi: qi + 1],
                              eq.part_vecs[eq.part_owner == qi]])
            sims = (np.asarray(snap.items_of(slice(a, b)), dtype=np.float32) @ vecs.T).max(axis=1)
            best = int(np.argmax(sims))
            best_sim = float(sims[best])
        n_docs = max(len(snap), 1)
        terms = shared_terms(eq.focus_tokens[qi], snap.tokens(row), snap.bm25.term_idf,
                             max_share=0.05 if n_docs >= 200 else 0.5, n_docs=n_docs)
        return terms, best, best_sim
