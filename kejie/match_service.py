"""The bridge between the database and the matcher, used by the API, the batch
planner and the CLI.

One ``CandidateIndex`` per kind (expert, society, demand) lives under
``settings.resolved_index_dir/<encoder>/<kind>/``; embeddings are cached in
``settings.resolved_index_dir/embeddings.sqlite`` so a rebuild or a changed
record only encodes texts never seen before. The first DB-backed call for a
kind in a process syncs that kind with the database (cheap when nothing
changed: records are compared by content hash); ``refresh`` keeps it current
after writes.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from kejie.index_files import folder_lock
from kejie.loaded_indexes import LoadedIndexes
from kejie.match_models import load_model
from kejie.settings import Settings
from matcher import profiles
from matcher.cache import CachedEncoder, EmbeddingCache, ProgressFn
from matcher.encoders import load_encoder
from matcher.encoders.base import Encoder
from matcher.errors import IndexOutOfDate, MatcherError, NotFound
from matcher.filters import with_exclusions
from matcher.fusion import FusionFn, Linear
from matcher.index import CandidateIndex
from matcher.index_faiss import INDEX_TYPES
from matcher.learn import MatchModel
from matcher.ranker import RankConfig, Ranker
from matcher.rules import affiliation_parts, contains_either, normalise_org
from matcher.segment import Segmenter, make_segmenter
from matcher.types import Candidate, CandidateKind, Filters, Match

log = logging.getLogger(__name__)
KINDS: tuple[CandidateKind, ...] = ("expert", "society", "demand")
REVERSE_SHORTLIST = 30  # demands re-scored in the forward direction for an expert's list


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "encoder"


def _org_parts(affiliation: Any) -> tuple[str, ...]:
    return tuple(affiliation_parts(str(affiliation or "")))


def _same(value: Any) -> Any:
    return value


def _demand_query(d: Any) -> tuple[str, str]:
    """A demand as the ranker reads it: its title apart, then the rest."""
    ent = d.enterprise
    return d.title or "", profiles.demand_query_text("", d.description or "",
                                                     ent.main_business if ent else "", d.keywords or [])


class MatchService:
    def __init__(self, settings: Settings, encoder: Encoder | None = None,
                 segment: Callable[[str], list[str]] | None = None,
                 fusion: str | FusionFn | None = None, config: RankConfig | None = None,
                 index_type: str | None = None) -> None:
        self.settings = settings
        self._raw_encoder = encoder
        self._encoder: CachedEncoder | None = None
        self._segment = segment
        self.fusion = fusion
        self.config = config or RankConfig()
        self.index_type = index_type or settings.index_type
        if self.index_type not in INDEX_TYPES:
            raise MatcherError(f"未知的索引类型 {self.index_type!r}；可选：{', '.join(INDEX_TYPES)}")
        self.indexes = LoadedIndexes(self.index_dir, self._read_index, self._empty_index)
        self._rankers: dict[str, Ranker] = {}
        self._synced: set[str] = set()
        # ``_lock`` guards the dictionaries above and is only ever held briefly;
        # ``_write_lock`` serialises writers (sync, refresh), which encode and save
        # while readers go on querying the previous snapshot of the index.
        self._lock = threading.RLock()
        self._write_lock = threading.RLock()
        self.progress: ProgressFn | None = None

    # -- plumbing ---------------------------------------------------------------
    @property
    def encoder(self) -> CachedEncoder:
        with self._lock:
            if self._encoder is None:
                inner = self._raw_encoder if self._raw_encoder is not None else load_encoder(self.settings)
                cache = EmbeddingCache(Path(self.settings.resolved_index_dir) / "embeddings.sqlite")
                self._encoder = CachedEncoder(inner, cache)
            self._encoder.progress = self.progress
            return self._encoder

    @property
    def segment(self) -> Segmenter:
        if self._segment is None:
            self._segment = make_segmenter(mode="search")
        return self._segment

    def index_dir(self, kind: str) -> Path:
        return Path(self.settings.resolved_index_dir) / _slug(self.encoder.name) / kind

    def _read_index(self, directory: Path) -> CandidateIndex:
        return CandidateIndex.load(directory, self.encoder.name, self.index_type)

    def _empty_index(self, kind: str) -> CandidateIndex:
        enc = self.encoder
        return CandidateIndex(kind, enc.name, enc.dim, self.index_type)  # type: ignore[arg-type]

    def index(self, kind: str, create: bool = True, fresh: bool = False) -> CandidateIndex:
        """The in-memory index of ``kind`` (``kejie.loaded_indexes``): loaded on first
        use; when another process saved it since, writers (``fresh``) read that save
        now, queries go on with this copy while it is read in the background."""
        return self.indexes.get(kind, create=create, fresh=fresh)

    def _save(self, kind: str, idx: CandidateIndex, build_ann: bool = False) -> None:
        self.indexes.save(kind, idx, build_ann=build_ann)

    def ranker(self, kind: str) -> Ranker:
        idx = self.index(kind)  # may be a reloaded copy, which drops a stale ranker (not under _lock: it may wait)
        with self._lock:
            r = self._rankers.get(kind)
            if r is None or r.index is not idx:
                r = Ranker(idx, self.encoder, self.segment, self.fusion, self.config,
                           model=self.model(kind))
                self._rankers[kind] = r
            return r

    def model(self, kind: str) -> MatchModel | None:
        """The fitted fusion/calibration for ``kind`` (None: two-channel fusion, no grades)."""
        if self.fusion is not None:
            return None
        return load_model(kind, self.settings.match_model_dir)

    # -- loading from the DB ------------------------------------------------------
    @staticmethod
    def load_candidates(session: Session, kind: str, ids: Iterable[int] | None = None) -> list[Candidate]:
        from models import Demand, Expert, Society

        model, to_candidate = {"expert": (Expert, profiles.expert_candidate),
                               "society": (Society, profiles.society_candidate),
                               "demand": (Demand, profiles.demand_candidate)}.get(kind, (None, None))
        if model is None or to_candidate is None:
            raise ValueError(f"unknown kind {kind!r}")
        stmt = select(model)
        if model is Demand:
            stmt = stmt.options(selectinload(Demand.enterprise))
        if ids is not None:
            stmt = stmt.where(model.id.in_(list(ids)))
        return [to_candidate(row) for row in session.scalars(stmt)]

    def _sync_kind(self, session: Session, kind: str, rebuild: bool = False) -> dict[str, int]:
        with self._write_lock, folder_lock(self.index_dir(kind)):  # another process's save is read first
            idx = self.index(kind, fresh=True)
            fresh = self._empty_index(kind) if rebuild else idx
            candidates = self.load_candidates(session, kind)
            counts = fresh.upsert(candidates, self.encoder, self.segment)
            live = {c.id for c in candidates}
            counts["removed"] = fresh.remove([cid for cid in fresh.ids() if cid not in live])
            counts["total"] = len(fresh)
            fresh.snapshot().warm()  # by the writer, with what rankings read, not by the next reader
            if rebuild or counts["added"] or counts["updated"] or counts["removed"]:
                # sync runs offline (CLI, start-up): build HNSW now, not at the first search
                self._save(kind, fresh, build_ann=True)
            if fresh is not idx:  # a rebuilt index replaces the old one in one step
                self.indexes.replace(kind, fresh)
            self._synced.add(kind)
            return counts

    def _ensure(self, session: Session, kind: str) -> None:
        if kind not in self._synced:
            with self._write_lock:
                if kind not in self._synced:  # another thread may have synced it meanwhile
                    self._sync_kind(session, kind)

    # -- public API -------------------------------------------------------------
    def sync(self, session: Session, kinds: Iterable[str] = KINDS,
             rebuild: bool = False) -> dict[str, int]:
        """Bring the indexes in line with the DB; returns per-kind and total counts."""
        out: dict[str, int] = {"added": 0, "updated": 0, "removed": 0, "unchanged": 0}
        for kind in kinds:
            counts = self._sync_kind(session, kind, rebuild=rebuild)
            for key, value in counts.items():
                out[f"{kind}_{key}"] = value
                if key in out:
                    out[key] += value
        return out

    def refresh(self, session: Session, kind: CandidateKind, ids: Iterable[int]) -> None:
        ids = [int(i) for i in ids]
        if not ids:
            return
        with self._write_lock, folder_lock(self.index_dir(kind)):  # see kejie/index_files.py
            idx = self.index(kind, fresh=True)
            found = self.load_candidates(session, kind, ids)
            idx.upsert(found, self.encoder, self.segment)  # encodes before it takes the index lock
            present = {c.id for c in found}
            idx.remove([str(i) for i in ids if str(i) not in present])
            # saved first: other processes start reading the write while this one
            # builds its next snapshot (its readers keep the last one till then)
            self._save(kind, idx)
        idx.snapshot()
        if idx.unsaved_ngrams(self.index_dir(kind)) is not None:
            # the snapshot fitted its n-grams afresh: the other processes read that fit
            # at their next reload instead of each fitting its own
            with self._write_lock, folder_lock(self.index_dir(kind)):
                idx.save_ngrams(self.index_dir(kind))

    def match_demand(self, session: Session, demand_id: int, kind: Literal["expert", "society"],
                     top_k: int = 10, filters: Filters | None = None) -> list[Match]:
        from models import Conflict, Demand

        demand = session.get(Demand, demand_id, options=[joinedload(Demand.enterprise)])
        if demand is None:
            raise NotFound("demand", demand_id)
        self._ensure(session, kind)
        ent = demand.enterprise
        text = _demand_query(demand)
        exclude: set[str] = set()
        if kind == "expert" and ent is not None:
            exclude |= {str(i) for i in session.scalars(
                select(Conflict.expert_id).where(Conflict.enterprise_id == ent.id))}
            # conflict of interest: the one containment rule of matcher.rules
            ent_norm = normalise_org(ent.name)
            snap = self.index(kind).snapshot()
            for parts, same in snap.attr_table.groups("affiliation", _org_parts).items():
                if parts and contains_either(list(parts), ent_norm):
                    exclude |= {snap.ids[r] for r in same}
        return self.ranker(kind).rank(text, top_k, with_exclusions(filters, exclude))

    def match_text(self, text: str, kind: Literal["expert", "society", "demand"], top_k: int = 10,
                   filters: Filters | None = None) -> list[Match]:
        idx = self.index(kind, create=False)
        if len(idx) == 0 and kind not in self._synced:
            raise IndexOutOfDate(f"{kind} 索引为空；请先运行 kejie index build")
        return self.ranker(kind).rank(text, top_k, filters)

    def _recommend(self, session: Session, kind: str, candidate_id: int, text: str,
                   exclude_enterprises: set[int], affiliation: str, top_k: int,
                   filters: Filters | None) -> list[Match]:
        self._ensure(session, "demand")
        snap = self.index("demand").snapshot()
        table = snap.attr_table
        parts = affiliation_parts(affiliation)
        rows: list[int] = []
        if exclude_enterprises:
            by_enterprise = table.groups("enterprise_id", _same)
            for ent_id in exclude_enterprises:
                rows.extend(by_enterprise.get(ent_id, []))
        if parts:
            for ent_norm, same in table.groups("enterprise", normalise_org).items():
                if contains_either(parts, ent_norm):
                    rows.extend(same)
        exclude = {snap.ids[r] for r in rows}
        status: dict[str, list[Any]] = {"status": ["open"]}
        shortlist = self.ranker("demand").rank(text, max(3 * top_k, REVERSE_SHORTLIST),
                                               with_exclusions(filters, exclude, status))
        return self._forward_rescore(session, kind, candidate_id, shortlist, top_k)

    def _forward_rescore(self, session: Session, kind: str, candidate_id: int,
                         shortlist: list[Match], top_k: int) -> list[Match]:
        """Re-rank a shortlist of demands for one expert or society by the forward
        pair score (the demand as the query, as on the demand page and in the event
        planner), so that a pair scores and grades the same in both directions."""
        from models import Demand

        if not shortlist:
            return []
        self._ensure(session, kind)
        snap = self.index(kind).snapshot()
        row = snap.row_of.get(str(candidate_id))
        if row is None:
            return shortlist[:top_k]
        found = {str(d.id): d for d in session.scalars(
            select(Demand).options(selectinload(Demand.enterprise))
            .where(Demand.id.in_([int(m.id) for m in shortlist])))}
        kept = [m for m in shortlist if m.id in found]
        ranker = self.ranker(kind)
        eq = ranker.encode_queries([_demand_query(found[m.id]) for m in kept])
        # a learned fusion scores one column exactly as in a full scoring (z-scores
        # against fixed stats rows); the two-channel strategies normalise over the
        # columns they get, so they score the whole index and take this column
        linear = isinstance(ranker.fusion, Linear)
        scores = ranker.score(eq, snap, np.array([row], dtype=np.int64)) if linear else ranker.score(eq, snap)
        col = 0 if linear else row
        key = scores.probability if scores.probability is not None else scores.fused
        out: list[Match] = []
        for qi in np.argsort(-key[:, col], kind="stable")[:top_k]:
            m, fwd = kept[int(qi)], ranker.match_at(snap, scores, int(qi), col, eq, int(qi))
            out.append(Match(id=m.id, kind=m.kind, name=m.name, score=fwd.score, lexical=fwd.lexical,
                             semantic=fwd.semantic, best_item=m.best_item, shared_terms=fwd.shared_terms,
                             reasons=fwd.reasons, probability=fwd.probability, grade=fwd.grade))
        return out

    def recommend_for_expert(self, session: Session, expert_id: int, top_k: int = 10,
                             filters: Filters | None = None) -> list[Match]:
        from models import Conflict, Expert

        e = session.get(Expert, expert_id)
        if e is None:
            raise NotFound("expert", expert_id)
        text = profiles.expert_query_text(list(e.research_areas or []), list(e.achievements or []),
                                          list(e.keywords or []), list(e.disciplines or []))
        conflicts = set(session.scalars(
            select(Conflict.enterprise_id).where(Conflict.expert_id == expert_id)))
        return self._recommend(session, "expert", expert_id, text or e.name, conflicts,
                               e.affiliation or "", top_k, filters)

    def recommend_for_society(self, session: Session, society_id: int, top_k: int = 10,
                              filters: Filters | None = None) -> list[Match]:
        from models import Society

        s = session.get(Society, society_id)
        if s is None:
            raise NotFound("society", society_id)
        text = profiles.society_query_text(s.name, s.description or "", list(s.keywords or []),
                                           list(s.representative_works or []), list(s.disciplines or []))
        return self._recommend(session, "society", society_id, text, set(), "", top_k, filters)

    def score_matrix(self, session: Session, demand_ids: list[int], kind: Literal["expert", "society"],
                     candidate_ids: list[int]) -> tuple[np.ndarray, Callable[[int, int], list[str]]]:
        """Fused scores (len(demand_ids), len(candidate_ids)) and ``reasons(i, j)``.

        Scores are normalised over the whole index of ``kind`` (not over the
        requested columns), so the same pair gets the same score whatever else
        is asked for, and they are comparable between demands (~0..1).
        """
        from models import Demand

        self._ensure(session, kind)
        demands = {d.id: d for d in session.scalars(
            select(Demand).options(selectinload(Demand.enterprise)).where(Demand.id.in_(demand_ids)))}
        for did in demand_ids:
            if did not in demands:
                raise NotFound("demand", did)
        idx = self.index(kind)
        missing = [c for c in candidate_ids if str(c) not in idx]
        if missing:
            self.refresh(session, kind, missing)
            for c in missing:
                if str(c) not in idx:
                    raise NotFound(kind, c)
        texts = [_demand_query(demands[did]) for did in demand_ids]
        ranker = self.ranker(kind)
        snap = idx.snapshot()
        if not demand_ids or not candidate_ids:
            return np.zeros((len(demand_ids), len(candidate_ids))), lambda i, j: []
        eq = ranker.encode_queries(texts)
        cols = np.array([snap.row_of[str(c)] for c in candidate_ids], dtype=np.int64)
        # scored against the whole index (the two-channel strategies normalise over
        # the columns they get), so a pair's score does not depend on what else is asked
        scores = ranker.score(eq, snap)
        # calibrated probabilities where the kind has a model: comparable between demands
        full = scores.probability if scores.probability is not None else scores.fused
        matrix = np.asarray(full[:, cols], dtype=np.float64)

        def reasons(i: int, j: int) -> list[str]:
            return ranker.match_at(snap, scores, i, int(cols[j]), eq, i).reasons

        return matrix, reasons
