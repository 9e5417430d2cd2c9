from __future__ import annotations

import numpy as np

from matcher.fusion import Linear
from matcher.learn import (
    Calibration,
    Features,
    MatchModel,
    choose_thresholds,
    cross_validate,
    fit,
    grade_matrix,
    no_suitable,
)

SIGS = ("good", "noise", "abs")
FEATURES = Features(rank=("good", "noise"), absolute=("abs",))


def _synthetic(n_q: int = 24, n_c: int = 60, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Signal 'good' tells the relevant candidates apart, 'noise' does not; half
    of the demands have nobody relevant, and there 'abs' (an absolute cosine) is low."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n_q, n_c, 3)).astype(np.float32)
    grades = np.zeros((n_q, n_c))
    judged = np.zeros_like(grades, dtype=bool)
    raw = z.copy()
    for qi in range(n_q):
        if qi % 2 == 0:
            rel = rng.choice(n_c, 4, replace=False)
            grades[qi, rel] = 2
            z[qi, rel, 0] += 3.0
            raw[qi, :, 2] = 0.9
        else:
            raw[qi, :, 2] = 0.5
        judged[qi, np.argsort(-z[qi, :, 0])[:10]] = True
    raw[:, :, :2] = z[:, :, :2]
    return raw, z, grades, judged


def test_fit_learns_the_informative_signal_and_calibrates() -> None:
    raw, z, grades, judged = _synthetic()
    model, held = fit("expert", raw, z, SIGS, grades, judged, folds=4, features=FEATURES)
    assert model.fusion.weights["good"] > 5 * abs(model.fusion.weights["noise"])
    cal = model.calibration
    assert cal is not None and cal.mid <= cal.high
    # held-out: relevant pairs get higher probabilities than the rest
    assert held.probability[grades >= 2].mean() > held.probability[grades == 0].mean() + 0.2
    # demands with nobody relevant: their best candidate stays below 中 far more often
    best = held.probability.max(axis=1)
    empty = np.arange(len(best)) % 2 == 1
    assert (best[empty] < cal.mid).mean() > (best[~empty] < cal.mid).mean()


def test_model_json_round_trip() -> None:
    m = MatchModel("expert", Linear({"bm25": 0.2, "char": 0.3}, -1.5),
                   Calibration(0.5, {"dense_item": 3.0}, -2.0, high=0.7, mid=0.4), {"x": 1}, "enc")
    back = MatchModel.from_json(m.to_json())
    assert back == m


def test_grades_thresholds_and_no_suitable() -> None:
    cal = Calibration(1.0, {}, 0.0, high=0.7, mid=0.4)
    assert [cal.grade(p) for p in (0.9, 0.7, 0.5, 0.1)] == ["高", "高", "中", "低"]
    assert no_suitable(["低", "低"]) and not no_suitable(["低", "中"]) and not no_suitable([None, None])
    assert not no_suitable([])
    high, mid = choose_thresholds(np.array([0.9, 0.3, 0.6, 0.2]), np.array([True, False, True, False]))
    assert high == 0.7 and mid == 0.6  # mid: lowest cut that separates the demands best
    # mid never above high
    assert choose_thresholds(np.array([0.95, 0.1]), np.array([True, False]), high=0.7) == (0.7, 0.7)


def test_grade_matrix_and_cross_validation_shapes() -> None:
    g, j = grade_matrix(["q1", "q2"], ["a", "b", "c"], {"q1": {"b": 2, "zz": 1}, "q2": {"a": 0}})
    assert g.tolist() == [[0, 2, 0], [0, 0, 0]] and j.tolist() == [[False, True, False], [True, False, False]]
    raw, z, grades, judged = _synthetic(n_q=10)
    held = cross_validate(raw, z, grades, judged, SIGS, folds=3, features=FEATURES)
    assert held.fused.shape == grades.shape and np.isfinite(held.probability).all()


def test_calibration_only_model_keeps_its_two_channel_fusion() -> None:
    from matcher.fusion import RRF, TwoChannel, get_fusion

    raw, z, grades, judged = _synthetic()
    fixed = TwoChannel(RRF(), lexical="good", semantic="noise")
    model, _ = fit("society", raw, z, SIGS, grades, judged, folds=4,
                   features=Features(fixed=fixed, absolute=("abs",)))
    assert model.fusion is fixed and model.calibration is not None
    back = MatchModel.from_json(model.to_json())
    assert isinstance(back.fusion, TwoChannel) and back.fusion.name == "rrf"
    assert (back.fusion.lexical, back.fusion.semantic) == ("good", "noise")
    assert back.fusion.inner == get_fusion("rrf") and back.calibration == model.calibration


def test_held_out_report_figures_are_in_range() -> None:
    from matcher.learn_report import held_out_report

    raw, z, grades, judged = _synthetic()
    qids = [f"q{i}" for i in range(raw.shape[0])]
    ids = [f"c{j}" for j in range(raw.shape[1])]
    qrels = {q: {ids[j]: float(grades[i, j]) for j in range(len(ids)) if judged[i, j]} for i, q in enumerate(qids)}
    rep = held_out_report(raw, z, SIGS, grades, judged, qids, ids, qrels, folds=3, seeds=2, features=FEATURES)
    assert rep["ndcg10"] is not None and rep["ndcg10"] > 0.6  # 'good' separates the relevant ones
    assert all(v is None or 0.0 <= v <= 10.0 for v in rep.values())
    # demands with nobody relevant show 无合适人选 more often than those with someone
    assert rep["no_match_shown_without_core"] > rep["no_match_shown_with_core"]  # type: ignore[operator]
