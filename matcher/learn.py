"""Learned fusion and calibrated match grades, fitted on judged (demand, candidate) pairs.

``fit`` takes the signal stack of every judged demand against every candidate
(``matcher/signals.py``) and a grade matrix, and returns a ``MatchModel``:

- a ``Linear`` fusion: L2-regularised logistic regression on the clipped
  z-scores of a few signals. Training pairs are the judged pairs plus a seeded
  sample of unjudged candidates per demand as negatives (the judgments were
  pooled from several rankers' top 10s, so an unjudged pair is almost always
  irrelevant); grade-2 pairs weigh double;
- a calibration: logistic regression of "judged relevant" (grade >= 1) on the
  fused logit and the absolute strength of the pair (raw best-item cosine and
  character n-gram cosine), so that a demand whose best candidates are all weak
  in absolute terms gets low probabilities even though per-query z-scores
  always rank someone first;
- grade thresholds on that probability: 高 at a calibrated probability of
  0.7 or more, 中 where the demands with no grade-2 candidate are best told
  apart from the others.

Every figure in ``MatchModel.report`` is measured on held-out folds (the
demands of a fold never train the model that scores them).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from matcher.fusion import Linear, TwoChannel, get_fusion

RANK_SIGNALS = ("bm25_rare", "char", "dense_prf", "dense_item", "title_item", "part_item")
ABSOLUTE_SIGNALS = ("dense_profile", "dense_item", "title_item", "char", "bm25")
GRADES = ("高", "中", "低")
NO_MATCH = "无合适人选"


@dataclass(frozen=True)
class Calibration:
    a: float  # weight of the fused logit
    b: dict[str, float]  # weights of raw (absolute) signals
    c: float  # intercept
    high: float  # probability at or above which a pair is 高
    mid: float  # ... 中

    def probability(self, fused: np.ndarray, raw: np.ndarray, signals: Sequence[str]) -> np.ndarray:
        col = {s: i for i, s in enumerate(signals)}
        x = self.c + self.a * np.asarray(fused, dtype=np.float64)
        for s, w in self.b.items():
            x = x + w * raw[..., col[s]]
        return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))

    def grade(self, p: float) -> str:
        return "高" if p >= self.high else "中" if p >= self.mid else "低"


@dataclass
class MatchModel:
    """The fusion of a kind and its calibration. ``fusion`` is a fitted ``Linear``
    model, or a named two-channel strategy kept as it is (``TwoChannel``) when
    only the calibration was fitted."""

    kind: str
    fusion: Linear | TwoChannel
    calibration: Calibration | None
    report: dict[str, Any] = field(default_factory=dict)
    encoder: str = ""  # the encoder the calibration was fitted with (cosines are encoder-specific)

    def to_json(self) -> str:
        return json.dumps({
            "kind": self.kind,
            "encoder": self.encoder,
            "fusion": ({"weights": dict(self.fusion.weights), "intercept": self.fusion.intercept,
                        "clip": list(self.fusion.clip)} if isinstance(self.fusion, Linear)
                       else {"strategy": self.fusion.name, "lexical": self.fusion.lexical,
                             "semantic": self.fusion.semantic}),
            "calibration": asdict(self.calibration) if self.calibration else None,
            "report": self.report,
        }, ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> MatchModel:
        obj = json.loads(text)
        f = obj["fusion"]
        cal = obj.get("calibration")
        fusion: Linear | TwoChannel = (
            TwoChannel(get_fusion(str(f["strategy"])), str(f.get("lexical", "bm25")),
                       str(f.get("semantic", "dense_lse"))) if "strategy" in f else
            Linear({k: float(v) for k, v in f["weights"].items()}, float(f["intercept"]),
                   (float(f["clip"][0]), float(f["clip"][1]))))
        return cls(
            kind=obj["kind"],
            fusion=fusion,
            calibration=Calibration(**cal) if cal else None,
            report=obj.get("report", {}),
            encoder=str(obj.get("encoder") or ""),
        )


def no_suitable(grades: Sequence[str | None]) -> bool:
    """无合适人选: the list is graded and no candidate reaches 中."""
    graded = [g for g in grades if g is not None]
    return bool(graded) and not any(g in ("高", "中") for g in graded)


# -- fitting ----------------------------------------------------------------------
def _logreg(x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(y)) < 2:
        raise ValueError("需要同时有相关和不相关的已评判配对才能拟合")
    lr = LogisticRegression(C=c, max_iter=5000).fit(x, y, sample_weight=w)
    return lr.coef_.ravel(), float(lr.intercept_[0])


def _training_pairs(z: np.ndarray, grades: np.ndarray, judged: np.ndarray, queries: np.ndarray,
                    cols: list[int], negatives: int, seed: int, clip: tuple[float, float]
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xs, ys, ws = [], [], []
    for qi in queries:
        m = judged[qi].copy()
        unjudged = np.flatnonzero(~judged[qi])
        if len(unjudged):
            m[rng.choice(unjudged, size=min(negatives, len(unjudged)), replace=False)] = True
        g = np.where(judged[qi][m], grades[qi][m], 0.0)
        xs.append(np.clip(z[qi][m][:, cols], *clip))
        ys.append((g >= 1).astype(int))
        ws.append(np.where(g >= 2, 2.0, 1.0))
    return np.vstack(xs), np.concatenate(ys), np.concatenate(ws)


def fit_fusion(z: np.ndarray, grades: np.ndarray, judged: np.ndarray, signals: Sequence[str],
               queries: np.ndarray, use: Sequence[str] = RANK_SIGNALS, c: float = 1.0,
               negatives: int = 100, seed: int = 0, clip: tuple[float, float] = (-3.0, 6.0)) -> Linear:
    cols = [list(signals).index(s) for s in use]
    x, y, w = _training_pairs(z, grades, judged, queries, cols, negatives, seed, clip)
    coef, intercept = _logreg(x, y, w, c)
    return Linear({s: round(float(v), 5) for s, v in zip(use, coef, strict=True)},
                  round(intercept, 5), clip)


def _calibration_pairs(fused: np.ndarray, raw: np.ndarray, grades: np.ndarray, judged: np.ndarray,
                       queries: np.ndarray, cols: list[int], depth: int = 10
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Judged pairs and every pair in each demand's top ``depth`` (unjudged there = 0)."""
    xs, ys = [], []
    for qi in queries:
        top = np.argsort(-fused[qi], kind="stable")[:depth]
        m = judged[qi].copy()
        m[top] = True
        g = np.where(judged[qi][m], grades[qi][m], 0.0)
        xs.append(np.column_stack([fused[qi][m], raw[qi][m][:, cols]]))
        ys.append((g >= 1).astype(int))
    return np.vstack(xs), np.concatenate(ys)


def fit_calibration(fused: np.ndarray, raw: np.ndarray, grades: np.ndarray, judged: np.ndarray,
                    signals: Sequence[str], queries: np.ndarray,
                    use: Sequence[str] = ABSOLUTE_SIGNALS, c: float = 1.0) -> Calibration:
    cols = [list(signals).index(s) for s in use]
    x, y = _calibration_pairs(fused, raw, grades, judged, queries, cols)
    # raw cosines vary over a few hundredths: standardise so that the L2 penalty
    # treats every feature alike, then fold the scaling back into the weights
    mu, sd = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)
    coef, intercept = _logreg((x - mu) / sd, y, np.ones(len(y)), c)
    coef = coef / sd
    intercept = float(intercept - (coef * mu).sum())
    return Calibration(float(coef[0]), {s: float(v) for s, v in zip(use, coef[1:], strict=True)},
                       intercept, high=1.0, mid=1.0)


HIGH_PROBABILITY = 0.7  # 高: the calibrated probability that the pair is relevant is at least this


def choose_thresholds(best_p: np.ndarray, has_core: np.ndarray,
                      high: float = HIGH_PROBABILITY) -> tuple[float, float]:
    """``high`` is a probability read off the calibration (高 means "at least 70 %
    likely to be relevant"), not tuned; ``mid`` is the cut on each demand's best
    probability that best separates the demands with a grade-2 candidate from
    those without (balanced accuracy), never above ``high``."""
    best_score, mid = -1.0, high
    pos, neg = best_p[has_core], best_p[~has_core]
    for t in np.unique(best_p):
        tpr = (pos >= t).mean() if len(pos) else 0.0
        tnr = (neg < t).mean() if len(neg) else 0.0
        if (tpr + tnr) / 2 > best_score:
            best_score, mid = (tpr + tnr) / 2, float(t)
    return high, min(mid, high)


def grade_matrix(qids: Sequence[str], ids: Sequence[str], qrels: dict[str, dict[str, float]]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(grades, judged) arrays of shape (len(qids), len(ids)) from qrels."""
    pos = {c: i for i, c in enumerate(ids)}
    grades = np.zeros((len(qids), len(ids)))
    judged = np.zeros_like(grades, dtype=bool)
    for qi, q in enumerate(qids):
        for c, g in qrels.get(q, {}).items():
            if c in pos:
                grades[qi, pos[c]] = g
                judged[qi, pos[c]] = True
    return grades, judged


@dataclass
class HeldOut:
    """Out-of-fold scores: every demand scored by a model that never saw it."""

    fused: np.ndarray
    probability: np.ndarray
    folds: int
    seed: int


@dataclass(frozen=True)
class Features:
    """Which signals the fusion ranks with and which absolute ones calibrate;
    ``fixed``: keep this two-channel fusion and fit only the calibration."""

    rank: tuple[str, ...] = RANK_SIGNALS
    absolute: tuple[str, ...] = ABSOLUTE_SIGNALS
    fixed: TwoChannel | None = None


def fit_parts(raw: np.ndarray, z: np.ndarray, grades: np.ndarray, judged: np.ndarray,
              signals: Sequence[str], train: np.ndarray, c: float = 1.0,
              features: Features = Features()) -> tuple[Linear | TwoChannel, Calibration]:
    fusion: Linear | TwoChannel = (
        features.fixed if features.fixed is not None
        else fit_fusion(z, grades, judged, signals, train, use=features.rank, c=c))
    fused = fusion(raw, z, signals)
    return fusion, fit_calibration(fused, raw, grades, judged, signals, train,
                                   use=features.absolute, c=c)


def cross_validate(raw: np.ndarray, z: np.ndarray, grades: np.ndarray, judged: np.ndarray,
                   signals: Sequence[str], folds: int = 5, seed: int = 0, c: float = 1.0,
                   features: Features = Features()) -> HeldOut:
    n_q = raw.shape[0]
    folds = max(2, min(folds, n_q))
    perm = np.random.default_rng(seed).permutation(n_q)
    fused = np.zeros(raw.shape[:2])
    prob = np.zeros(raw.shape[:2])
    for k in range(folds):
        test = perm[k::folds]
        train = np.setdiff1d(perm, test)
        fusion, cal = fit_parts(raw, z, grades, judged, signals, train, c, features)
        fused[test] = fusion(raw[test], z[test], signals)
        prob[test] = cal.probability(fused[test], raw[test], signals)
    return HeldOut(fused, prob, folds, seed)


def thresholds_from(held: HeldOut, grades: np.ndarray, depth: int = 10) -> tuple[float, float]:
    top = np.argsort(-held.fused, axis=1, kind="stable")[:, :depth]
    best_p = np.take_along_axis(held.probability, top, axis=1).max(axis=1)
    return choose_thresholds(best_p, (grades >= 2).any(axis=1))


def fit(kind: str, raw: np.ndarray, z: np.ndarray, signals: Sequence[str], grades: np.ndarray,
        judged: np.ndarray, folds: int = 5, seed: int = 0, c: float = 1.0,
        features: Features = Features()) -> tuple[MatchModel, HeldOut]:
    """The model fitted on every demand, with thresholds chosen on held-out folds."""
    held = cross_validate(raw, z, grades, judged, signals, folds, seed, c, features)
    high, mid = thresholds_from(held, grades)
    fusion, cal = fit_parts(raw, z, grades, judged, signals, np.arange(raw.shape[0]), c, features)
    cal = Calibration(cal.a, cal.b, cal.c, high=round(high, 5), mid=round(mid, 5))
    return MatchModel(kind, fusion, cal), held
