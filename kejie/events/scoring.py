"""Scoring an event's scope and hashing every input of the plan.

The raw scores come from a ``ScoreFn`` (in production the match service's
``score_matrix``, built by :func:`kejie.wiring.planning_score_fn`); they are
calibrated against the whole pool of each kind so that ``min_score`` and
``load_penalty`` mean the same for any encoder.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from kejie.events.scope import PLAN_FORMAT, CandidateKind, PlanOptions, ReasonsFn, Scope, ScoreFn
from matcher.errors import (
    ScorerError,
)
from matcher.planner import (
    SCALE,
)
from matcher.rules import affiliation_conflict as affiliation_conflict
from matcher.rules import city_key as _city_key
from matcher.rules import normalise_org as normalise_org
from models import (
    Expert,
    Society,
)

REFERENCE_MIN = 20  # fewer candidates of a kind in the database: no calibration
REFERENCE_MAX = 2000  # reference columns sampled evenly by id beyond this
REFERENCE_TOP = 0.995


@dataclass(frozen=True)
class Calibration:
    """Maps raw scores to the planner's quality scale.

    ``quality = (raw - background) / (top - background)``: 0 is the typical
    score of an unrelated pair (the median over the event's demands against the
    whole pool of that kind in the database), 1 the 99.5th percentile. Dense
    encoders give every pair a high cosine (e5: ~0.87-0.94), so an absolute
    threshold or penalty would mean nothing; on this scale ``min_score`` and
    ``load_penalty`` do.
    """

    background: float
    top: float
    reference_size: int

    def quality(self, raw: np.ndarray) -> np.ndarray:
        return (raw - self.background) / (self.top - self.background)


@dataclass
class Scored:
    raw: np.ndarray  # what the scorer said, for the event's candidates
    quality: np.ndarray  # what the planner optimises
    reasons: ReasonsFn
    calibration: Calibration | None


def reference_ids(session: Session, kind: CandidateKind) -> list[int]:
    model = Expert if kind == "expert" else Society
    ids = list(session.scalars(select(model.id).order_by(model.id)))
    if len(ids) > REFERENCE_MAX:
        step = len(ids) / REFERENCE_MAX
        ids = [ids[int(k * step)] for k in range(REFERENCE_MAX)]
    return ids


def score(
    session: Session,
    score_fn: ScoreFn,
    demand_ids: list[int],
    kind: CandidateKind,
    cand_ids: list[int],
    calibrate: bool,
) -> Scored:
    if not demand_ids or not cand_ids:
        empty = np.zeros((len(demand_ids), len(cand_ids)))
        return Scored(empty, empty, lambda i, j: [], None)
    ref_ids = reference_ids(session, kind) if calibrate else []
    if len(ref_ids) < REFERENCE_MIN:
        ref_ids = []
    cols = sorted(set(cand_ids) | set(ref_ids)) if ref_ids else list(cand_ids)
    scores, reasons = score_fn(session, demand_ids, kind, cols)
    arr = np.asarray(scores, dtype=np.float64)
    if arr.shape != (len(demand_ids), len(cols)):
        raise ScorerError(
            f"评分函数返回的矩阵形状为 {arr.shape}，应为 ({len(demand_ids)}, {len(cols)})（{kind}）"
        )
    pos = {c: n for n, c in enumerate(cols)}
    take = np.array([pos[c] for c in cand_ids], dtype=np.int64)
    raw = arr[:, take]
    calibration = None
    if ref_ids:
        ref = arr[:, [pos[c] for c in ref_ids]]
        finite = ref[np.isfinite(ref)]
        if finite.size:
            # rounded so that scorer noise in the last digits does not re-plan
            background = round(float(np.median(finite)), 3)
            top = round(float(np.quantile(finite, REFERENCE_TOP)), 3)
            if top - background >= 1e-3:
                calibration = Calibration(background, top, len(ref_ids))
    quality = calibration.quality(raw) if calibration is not None else raw

    def mapped_reasons(i: int, j: int) -> list[str]:
        return reasons(i, int(take[j]))

    return Scored(raw, quality, mapped_reasons, calibration)


def _rounded(scores: np.ndarray) -> list[list[int | None]]:
    return [[int(round(v * SCALE)) if np.isfinite(v) else None for v in row] for row in scores]


def input_hash(scope: Scope, scored: dict[CandidateKind, Scored], options: PlanOptions) -> str:
    ev = scope.event
    ents = scope.enterprises
    payload = {
        "format": PLAN_FORMAT,
        "options": asdict(options),
        "event": {
            "regions": sorted(_city_key(r) for r in ev.regions or []),
            "industries": sorted(ev.demand_industries or []),
            "statuses": sorted(str(s) for s in ev.demand_statuses or []),
            "invite_all": bool(ev.invite_all),
            "include_societies": bool(ev.include_societies),
            "min": ev.min_experts_per_demand,
            "max": ev.max_experts_per_demand,
            "default_capacity": ev.default_capacity,
            "academicians_only": bool(ev.academicians_only),
            "candidate_regions": sorted(_city_key(r) for r in ev.candidate_regions or []),
        },
        "calendar": scope.calendar.payload() if scope.calendar is not None else None,
        "interested": [list(p) for p in scope.interested],
        "declined": [list(p) for p in scope.declined],
        "demands": [
            [
                d.id,
                d.enterprise_id,
                ents[d.enterprise_id].name,
                ents[d.enterprise_id].city,
                ents[d.enterprise_id].county,
                ents[d.enterprise_id].industry,
                d.title,
                d.description,
                d.industry,
                list(d.keywords or []),
                str(d.status),
            ]
            for d in scope.demands
        ],
        "experts": [
            [
                e.id,
                cap,
                e.name,
                e.title,
                e.affiliation,
                bool(e.is_academician),
                list(e.disciplines or []),
                list(e.research_areas or []),
                list(e.achievements or []),
                list(e.keywords or []),
                e.city,
            ]
            for e, cap in zip(scope.experts.records, scope.experts.capacity, strict=True)
        ],
        "societies": [
            [
                s.id,
                cap,
                s.name,
                list(s.disciplines or []),
                s.description,
                list(s.keywords or []),
                list(s.representative_works or []),
            ]
            for s, cap in zip(scope.societies.records, scope.societies.capacity, strict=True)
        ],
        "forbidden": sorted(
            [scope.demands[i].id, scope.experts.records[j].id, why]
            for (i, j), why in scope.forbidden.items()
        ),
        "rules": [list(r) for r in scope.rules],
        "rule_problems": scope.rule_problems,
        "scores": {kind: _rounded(sc.raw) for kind, sc in scored.items()},
        "calibration": {
            kind: asdict(sc.calibration) if sc.calibration is not None else None
            for kind, sc in scored.items()
        },
    }
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()

