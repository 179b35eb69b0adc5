"""Confidence intervals, checked against independent formulas."""

from __future__ import annotations

import dataclasses
import math
import random
import statistics

import numpy as np
import pytest
from scipy import stats as sps

from dynbench.stats import Interval, mean, mean_interval, wilson_interval

CONFIDENCES = [0.8, 0.9, 0.95, 0.99]


def wilson_closed_form(k: int, n: int, confidence: float) -> tuple[float, float]:
    """Wilson (1927) written out, with z from the standard library, not scipy."""
    z = statistics.NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = k / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return center - half, center + half


WILSON_GRID = [
    (k, n, c)
    for n in (1, 2, 3, 5, 10, 37, 100, 1000)
    for k in sorted({0, 1, n // 3, n // 2, n - 1, n})
    for c in CONFIDENCES
]


@pytest.mark.parametrize(("k", "n", "confidence"), WILSON_GRID)
def test_wilson_matches_closed_form(k: int, n: int, confidence: float) -> None:
    got = wilson_interval(k, n, confidence)
    low, high = wilson_closed_form(k, n, confidence)
    assert got.low == pytest.approx(max(low, 0.0), abs=1e-12)
    assert got.high == pytest.approx(min(high, 1.0), abs=1e-12)
    assert 0.0 <= got.low <= k / n <= got.high <= 1.0


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # Published values (e.g. Newcombe 1998, Table I, method 3), 95%.
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_published_values(k: int, n: int, low: float, high: float) -> None:
    got = wilson_interval(k, n)
    assert (round(got.low, 4), round(got.high, 4)) == (low, high)


def test_wilson_n_zero_is_none() -> None:
    assert wilson_interval(0, 0) is None


@pytest.mark.parametrize("n", [1, 2, 7, 50, 10_000])
def test_wilson_extremes_are_exact(n: int) -> None:
    none_right, all_right = wilson_interval(0, n), wilson_interval(n, n)
    assert none_right.low == 0.0 and 0.0 < none_right.high < 1.0
    assert all_right.high == 1.0 and 0.0 < all_right.low < 1.0
    z = statistics.NormalDist().inv_cdf(0.975)
    assert none_right.high == pytest.approx(z * z / (n + z * z), rel=1e-12)


def test_wilson_n_one() -> None:
    z2 = statistics.NormalDist().inv_cdf(0.975) ** 2
    assert wilson_interval(1, 1) == Interval(pytest.approx(1 / (1 + z2)), 1.0)
    assert wilson_interval(0, 1) == Interval(0.0, pytest.approx(z2 / (1 + z2)))


@pytest.mark.parametrize(("k", "n"), [(0, 5), (2, 5), (3, 11), (40, 100)])
def test_wilson_is_symmetric(k: int, n: int) -> None:
    a, b = wilson_interval(k, n), wilson_interval(n - k, n)
    assert a.low == pytest.approx(1 - b.high) and a.high == pytest.approx(1 - b.low)


def test_wilson_widens_with_confidence_and_narrows_with_n() -> None:
    widths = [(i.high - i.low) for i in (wilson_interval(30, 60, c) for c in CONFIDENCES)]
    assert widths == sorted(widths) and len(set(widths)) == len(widths)
    small, large = wilson_interval(5, 10), wilson_interval(500, 1000)
    assert large.high - large.low < small.high - small.low


def test_wilson_accepts_numpy_integers() -> None:
    assert wilson_interval(np.int64(3), np.int32(9)) == wilson_interval(3, 9)


@pytest.mark.parametrize(
    ("k", "n", "confidence", "error"),
    [
        (4, 3, 0.95, ValueError),
        (-1, 3, 0.95, ValueError),
        (0, -1, 0.95, ValueError),
        (1, 3, 0.0, ValueError),
        (1, 3, 1.0, ValueError),
        (1, 3, 95, ValueError),
        (0, 0, 2.0, ValueError),
        (1.5, 3, 0.95, TypeError),
    ],
)
def test_wilson_rejects_bad_input(k, n, confidence, error) -> None:
    with pytest.raises(error):
        wilson_interval(k, n, confidence)


# ------------------------------------------------------------------ mean and t-interval


def t_interval_by_hand(values: list[float], confidence: float) -> tuple[float, float]:
    n = len(values)
    m = statistics.fmean(values)
    half = sps.t.ppf(1 - (1 - confidence) / 2, n - 1) * statistics.stdev(values) / math.sqrt(n)
    return m - half, m + half


def _samples() -> list[list[float]]:
    rng = random.Random(7)
    out = [[0.0, 1.0], [0.2, 0.4, 0.9], [1.0, 0.0, 0.0, 1.0, 1.0]]
    for n in (2, 3, 4, 10, 31, 200):
        out.append([rng.random() for _ in range(n)])
        out.append([rng.gauss(50, 20) for _ in range(n)])
    return out


@pytest.mark.parametrize("values", _samples(), ids=lambda v: f"n{len(v)}")
@pytest.mark.parametrize("confidence", CONFIDENCES)
def test_mean_interval_matches_scipy_and_hand_formula(values, confidence) -> None:
    got = mean_interval(values, confidence)
    m = float(np.mean(values))
    ref = sps.t.interval(confidence, len(values) - 1, loc=m, scale=sps.sem(values))
    assert (got.low, got.high) == pytest.approx(ref, rel=1e-10, abs=1e-12)
    assert (got.low, got.high) == pytest.approx(t_interval_by_hand(values, confidence), abs=1e-12)
    assert got.low < mean(values) < got.high


def test_mean_interval_known_value() -> None:
    # mean 3, sd sqrt(2.5), t(0.975, df=4) = 2.7764451
    got = mean_interval([1, 2, 3, 4, 5])
    assert (round(got.low, 4), round(got.high, 4)) == (1.0368, 4.9632)


def test_mean_interval_undefined_for_n_below_two() -> None:
    assert mean_interval([]) is None
    assert mean_interval([0.7]) is None


@pytest.mark.parametrize("values", [[0.5, 0.5], [1.0] * 10, [0.0, 0.0, 0.0], [0.1] * 7])
def test_mean_interval_zero_spread_is_a_point(values) -> None:
    got = mean_interval(values)
    assert got.low == got.high == mean(values)


def test_mean_interval_is_not_clipped() -> None:
    got = mean_interval([0.0, 1.0])
    assert got.low < 0.0 and got.high > 1.0


def test_mean_interval_accepts_numpy_and_tuples() -> None:
    assert mean_interval(np.array([0.1, 0.5, 0.9])) == mean_interval((0.1, 0.5, 0.9))


@pytest.mark.parametrize("bad", [[0.1, float("nan")], [float("inf"), 1.0]])
def test_non_finite_values_are_rejected(bad) -> None:
    with pytest.raises(ValueError, match="finite"):
        mean_interval(bad)
    with pytest.raises(ValueError, match="finite"):
        mean(bad)


@pytest.mark.parametrize("confidence", [0.0, 1.0, -0.5, 95])
def test_mean_interval_rejects_bad_confidence(confidence) -> None:
    with pytest.raises(ValueError, match="confidence"):
        mean_interval([1.0, 2.0], confidence)


def test_mean() -> None:
    assert mean([]) is None
    assert mean([0.25]) == 0.25
    assert mean([1, 0, 1, 1]) == 0.75
    assert mean([0.1] * 10) == pytest.approx(0.1, abs=0)  # fsum: no drift
    assert isinstance(mean(np.array([1, 2], dtype=np.int64)), float)


def test_interval_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Interval(0.1, 0.2).low = 0.0  # type: ignore[misc]
