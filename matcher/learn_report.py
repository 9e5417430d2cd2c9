"""Held-out figures for a match model: nested cross-validation by demand (used by
``kejie fusion fit`` to report what the shipped model can be expected to do)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from matcher.evaluation import graded_metrics, rankings_from_scores
from matcher.learn import Calibration, Features, cross_validate, fit_parts, thresholds_from


def _share(flags: list[bool]) -> float:
    return float(np.mean(flags)) if flags else float("nan")


def held_out_report(raw: np.ndarray, z: np.ndarray, signals: Sequence[str], grades: np.ndarray,
                    judged: np.ndarray, qids: list[str], ids: list[str],
                    qrels: Mapping[str, Mapping[str, float]], folds: int, seeds: int,
                    features: Features | None = None) -> dict[str, float | None]:
    """Ranking and grading figures of models that never saw the demands they score.

    For each of ``seeds`` random splits into ``folds`` parts by demand: fit on the
    other parts (grade thresholds chosen by an inner cross-validation of those
    parts only), score the held-out part. Figures are averaged over the seeds:
    nDCG@10, Hit@3, P@5, judged@10 (``evaluation.graded_metrics``); 高 pairs per
    top 10 and the share of them judged relevant; the share of demands without /
    with a grade-2 candidate that show 无合适人选.
    """

    features = features or Features()
    n_q = raw.shape[0]
    figures: list[dict[str, float]] = []
    for seed in range(seeds):
        perm = np.random.default_rng(seed).permutation(n_q)
        fused = np.zeros(raw.shape[:2])
        grade_top: list[tuple[str, float]] = []  # (grade, judged relevant) of top-10 pairs
        no_match: dict[int, bool] = {}
        for k in range(folds):
            test = perm[k::folds]
            train = np.setdiff1d(perm, test)
            inner = cross_validate(raw[train], z[train], grades[train], judged[train], signals,
                                   folds, seed, features=features)
            high, mid = thresholds_from(inner, grades[train])
            fusion, cal = fit_parts(raw, z, grades, judged, signals, train, 1.0, features)
            cal = Calibration(cal.a, cal.b, cal.c, high, mid)
            fused[test] = fusion(raw[test], z[test], signals)
            prob = cal.probability(fused[test], raw[test], signals)
            for j, qi in enumerate(test):
                top = np.argsort(-fused[qi], kind="stable")[:10]
                for c in top:
                    rel = judged[qi, c] and grades[qi, c] >= 1
                    grade_top.append((cal.grade(float(prob[j, c])), float(rel)))
                no_match[int(qi)] = bool(prob[j, top].max() < mid)
        m = graded_metrics(rankings_from_scores(qids, ids, fused), qrels)
        high_rel = [r for g, r in grade_top if g == "高"]
        core = (grades >= 2).any(axis=1)
        figures.append({
            "ndcg10": m.ndcg10, "hit3": m.hit3, "p5": m.p5, "judged10": m.judged10,
            "high_pairs": len(high_rel) / max(1, len(grade_top)) * 10,
            "high_precision": float(np.mean(high_rel)) if high_rel else float("nan"),
            "no_match_shown_without_core": _share([no_match[q] for q in range(n_q) if not core[q]]),
            "no_match_shown_with_core": _share([no_match[q] for q in range(n_q) if core[q]]),
        })
    out: dict[str, float | None] = {}
    for k in figures[0]:
        values = [f[k] for f in figures if not np.isnan(f[k])]
        # None where a figure has nothing to count (e.g. every demand has a core candidate)
        out[k] = round(float(np.mean(values)), 4) if values else None
    return out
