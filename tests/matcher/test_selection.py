import numpy as np
import pytest

from matcher.selection import top_m


def _check(x: np.ndarray, m: int) -> None:
    got = top_m(x, m)
    assert len(got) == min(m, len(x))
    assert len(np.unique(got)) == len(got)
    want = np.sort(x)[::-1][: len(got)]
    np.testing.assert_array_equal(np.sort(x[got])[::-1], want)


@pytest.mark.parametrize("n", [1, 50, 4_000, 250_000])
@pytest.mark.parametrize("m", [1, 10, 200])
def test_top_m_gives_the_largest_values(n: int, m: int) -> None:
    rng = np.random.default_rng(n + m)
    _check(rng.random(n).astype(np.float32), m)
    _check(-rng.random(n).astype(np.float32), m)  # all negative


def test_ties_and_mostly_zero_scores() -> None:
    rng = np.random.default_rng(1)
    x = np.zeros(250_000, dtype=np.float32)
    x[rng.choice(len(x), 150, replace=False)] = rng.random(150).astype(np.float32)
    _check(x, 200)  # fewer positives than m: zeros fill the rest
    _check(np.ones(250_000, dtype=np.float32), 200)
    _check(np.round(rng.random(250_000), 2).astype(np.float32), 200)  # heavy ties


def test_a_sample_holding_the_largest_values_falls_back_to_a_full_partition() -> None:
    # the strided sample's points are the largest values: the threshold keeps fewer than m
    x = np.zeros(250_000, dtype=np.float32)
    step = len(x) // (20 * 200)
    x[::step] = 1.0 + np.arange(len(x[::step]), dtype=np.float32)
    _check(x, 200)


def test_values_between_the_sample_points() -> None:
    x = np.zeros(250_000, dtype=np.float32)
    step = len(x) // (20 * 200)
    x[1::step] = 1.0
    _check(x, 200)


def test_no_rows_asked() -> None:
    assert len(top_m(np.arange(10.0), 0)) == 0
