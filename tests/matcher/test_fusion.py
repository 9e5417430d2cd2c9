from __future__ import annotations

import numpy as np
import pytest

from matcher.errors import UnknownFusion
from matcher.fusion import (
    DEFAULT,
    RRF,
    SemanticBoost,
    Weighted,
    fuse,
    get_fusion,
    minmax,
    ranks,
    zscore,
)


def test_minmax_zscore_and_ranks() -> None:
    x = np.array([[1.0, 3.0, 2.0], [5.0, 5.0, 5.0]])
    assert minmax(x).tolist() == [[0.0, 1.0, 0.5], [0.0, 0.0, 0.0]]
    z = zscore(x)
    assert z[0].mean() == pytest.approx(0) and z[1].tolist() == [0, 0, 0]
    assert ranks(x).tolist() == [[3, 1, 2], [1, 2, 3]]


def test_weighted_exact() -> None:
    lex = np.array([[0.0, 10.0, 5.0]])
    sem = np.array([[0.9, 0.7, 0.8]])
    out = Weighted(w_sem=0.7, w_lex=0.3)(lex, sem)
    assert out[0].tolist() == pytest.approx([0.7, 0.3, 0.5])


def test_rrf_exact() -> None:
    lex = np.array([[3.0, 2.0, 1.0]])
    sem = np.array([[0.1, 0.3, 0.2]])
    out = RRF(k=1)(lex, sem)
    # candidate 0: lex rank 1, sem rank 3 -> 1/2 + 1/4
    assert out[0].tolist() == pytest.approx([1 / 2 + 1 / 4, 1 / 3 + 1 / 2, 1 / 4 + 1 / 3])


def test_semantic_boost_exact() -> None:
    lex = np.array([[0.0, 0.0, 0.0, 8.0]])  # best/median = inf -> gate fully open
    sem = np.array([[0.5, 0.5, 0.5, 0.3]])
    f = SemanticBoost(boost=1.0)
    sd = sem.std()
    out = f(lex, sem)
    assert out[0].tolist() == pytest.approx([0.5, 0.5, 0.5, 0.3 + sd])


def test_default_is_semantic_boost() -> None:
    assert DEFAULT == "semantic_boost"
    assert isinstance(get_fusion(None), SemanticBoost)


def test_lexical_noise_cannot_overturn_strong_semantic_lead() -> None:
    rng = np.random.default_rng(0)
    n = 50
    sem = rng.normal(0.80, 0.01, size=(200, n))
    sem[:, 0] = sem.max(axis=1) + 0.05  # clear semantic winner
    lex = rng.exponential(3.0, size=(200, n))
    lex[:, 0] = 0.0  # shares no words with the query
    lex[:, 1] = lex.max(axis=1) * 5  # a keyword-stuffed rival
    fused = fuse(lex, sem)  # the default strategy
    assert (fused.argmax(axis=1) == 0).all()
    # whereas equal-say fusion lets the lexical noise win
    assert (RRF()(lex, sem).argmax(axis=1) != 0).any()


def test_boost_is_bounded_by_spread() -> None:
    sem = np.array([[0.6, 0.7, 0.8]])
    lex = np.array([[100.0, 0.0, 0.0]])
    f = SemanticBoost(boost=0.5)
    out = f(lex, sem)
    assert out[0, 0] - sem[0, 0] <= 0.5 * sem.std() + 1e-12


def test_flat_lexical_profile_gives_no_boost() -> None:
    sem = np.array([[0.6, 0.7, 0.8]])
    lex = np.array([[3.0, 3.0, 3.0]])  # every candidate shares the same boilerplate word
    assert SemanticBoost()(lex, sem)[0].tolist() == pytest.approx(sem[0].tolist())


def test_unknown_fusion() -> None:
    with pytest.raises(UnknownFusion) as exc:
        get_fusion("nope")
    assert "rrf" in str(exc.value)


def test_linear_clips_and_signal_adapters() -> None:
    from matcher.fusion import Linear, Single, TwoChannel, get_signal_fusion

    sig = ("bm25", "dense_lse", "char")
    z = np.zeros((1, 2, 3))
    z[0, 0, 0] = 50.0  # an outlying BM25 spike is clipped to 6
    z[0, 1, 2] = 2.0
    out = Linear({"bm25": 1.0, "char": 1.0}, intercept=-1.0)(z, z, sig)
    assert out.tolist() == [[5.0, 1.0]]
    with pytest.raises(UnknownFusion):
        Linear({"nope": 1.0})(z, z, sig)
    raw = np.random.default_rng(0).random((2, 5, 3))
    two = TwoChannel(RRF())(raw, raw, sig)
    np.testing.assert_allclose(two, fuse(raw[:, :, 0], raw[:, :, 1], RRF()))
    assert Single("char")(raw, raw, sig).tolist() == raw[:, :, 2].tolist()
    assert get_signal_fusion("signal:char").name == "char"
    assert get_signal_fusion(None).name == DEFAULT
