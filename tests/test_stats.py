"""Confidence intervals, checked against independent formulas."""

from __future__ import annotations

import dataclasses
import math
import random
import statistics

import numpy as np
import pytest
from scipy import stats as sps

from dynbench.stats import (
    Interval,
    SignFlip,
    clustered_accuracy,
    clustered_mean,
    cr1_variance,
    mean,
    mean_interval,
    sign_flip_test,
    wilson_fraction,
    wilson_interval,
)
from tests import independent_stats

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


# ------------------------------------------------------------------ clustered by video


def random_clusterings(seed: int, count: int, qa: bool):
    """(kind, values, clusters): random sizes, plus the edge cases C = 1, C = 2, singletons,
    all-equal values and (accuracy) p = 0 / p = 1."""
    rng = random.Random(seed)
    kinds = ["random", "singletons", "two", "one", "equal", "zero", "one-valued", "big"]
    for i in range(count):
        kind = kinds[i % len(kinds)]
        c = {"one": 1, "two": 2, "big": rng.randint(20, 40)}.get(kind, rng.randint(2, 25))
        sizes = [1] * c if kind == "singletons" else [rng.randint(1, 9) for _ in range(c)]
        clusters = [f"src/v{j}" for j, size in enumerate(sizes) for _ in range(size)]
        rng.shuffle(clusters)
        yield kind, _values(rng, kind, clusters, qa), clusters


def _values(rng: random.Random, kind: str, clusters: list[str], qa: bool) -> list[float]:
    if kind == "zero":
        return [0.0] * len(clusters)
    if kind == "one-valued":
        return [1.0] * len(clusters)
    if kind == "equal":
        v = rng.choice([0.0, 1.0]) if qa else rng.random()
        return [v] * len(clusters)
    level = {c: rng.random() for c in set(clusters)}  # correlated within a video
    if qa:
        return [float(rng.random() < level[c]) for c in clusters]
    return [min(1.0, max(0.0, rng.gauss(level[c], 0.1))) for c in clusters]


def _close(got, expected, tol=1e-12) -> bool:
    if got is None or expected is None:
        return got is expected
    return abs(got - expected) <= tol * max(1.0, abs(expected))


def test_clustered_accuracy_matches_literal_formula_on_thousands_of_clusterings() -> None:
    for kind, values, clusters in random_clusterings(seed=1, count=2000, qa=True):
        got = clustered_accuracy(values, clusters)
        interval, c, deff = independent_stats.qa_interval(values, clusters)
        where = (kind, values, clusters)
        assert got.clusters == c == len(set(clusters)), where
        assert got.mean == pytest.approx(sum(values) / len(values), abs=1e-15), where
        assert _close(got.design_effect, deff, 1e-9), (where, got)
        if interval is None:
            assert got.interval is None and c < 2, where
        else:
            assert _close(got.interval.low, interval[0]), (where, got)
            assert _close(got.interval.high, interval[1]), (where, got)
            assert got.interval.low <= got.mean <= got.interval.high
            assert got.design_effect >= 1.0


def test_clustered_mean_matches_literal_formula_on_thousands_of_clusterings() -> None:
    for kind, values, clusters in random_clusterings(seed=2, count=2000, qa=False):
        got = clustered_mean(values, clusters)
        interval, c, deff = independent_stats.mask_interval(values, clusters)
        where = (kind, values, clusters)
        assert got.clusters == c, where
        assert _close(got.design_effect, deff, 1e-9), (where, got)
        if interval is None:
            assert got.interval is None and c < 2, where
        else:
            assert _close(got.interval.low, interval[0]), (where, got)
            assert _close(got.interval.high, interval[1]), (where, got)
            assert 0.0 <= got.interval.low <= got.mean <= got.interval.high <= 1.0


def test_cr1_variance_exact() -> None:
    for _kind, values, clusters in random_clusterings(seed=3, count=500, qa=False):
        _m, se2, c = independent_stats.cr1(values, clusters)
        got = cr1_variance(values, clusters)
        assert (got is None) == (se2 is None) and (se2 is None or _close(got, float(se2), 1e-9))


def test_singleton_clusters_give_the_independent_t_interval() -> None:
    rng = random.Random(4)
    for n in range(2, 60):
        values = [rng.random() for _ in range(n)]
        got = clustered_mean(values, list(range(n)))
        iid = mean_interval(values)
        assert got.interval.low == pytest.approx(max(0.0, iid.low), abs=1e-12)
        assert got.interval.high == pytest.approx(min(1.0, iid.high), abs=1e-12)
        assert got.design_effect == pytest.approx(1.0, rel=1e-12)


def test_singleton_clusters_for_accuracy_use_n_minus_one() -> None:
    # SE² = m(1-m)/(n-1) with one case per video: deff = n/(n-1), n_eff = n - 1
    values = [1.0] * 7 + [0.0] * 13
    got = clustered_accuracy(values, list(range(20)))
    assert got.design_effect == pytest.approx(20 / 19, rel=1e-12)
    expected = wilson_fraction(7 / 20, 19)
    assert (got.interval.low, got.interval.high) == pytest.approx((expected.low, expected.high),
                                                                  abs=1e-12)


def test_correlated_videos_widen_the_interval_by_hand() -> None:
    # 4 videos x 5 questions, each video all right or all wrong: SE² = 4/3 · 4 · 2.5² / 400
    values = [1.0] * 10 + [0.0] * 10
    clusters = [c for c in "abcd" for _ in range(5)]
    got = clustered_accuracy(values, clusters)
    se2 = 4 / 3 * 4 * 2.5**2 / 400
    assert got.se == pytest.approx(math.sqrt(se2), rel=1e-12)
    assert got.design_effect == pytest.approx(se2 / (0.25 / 20), rel=1e-12)  # 6.67
    iid = wilson_interval(10, 20)
    assert got.interval.high - got.interval.low > 1.8 * (iid.high - iid.low)


@pytest.mark.parametrize("values", [[], [1.0], [0.0, 1.0, 1.0]])
def test_clustered_undefined_below_two_clusters(values) -> None:
    clusters = ["v"] * len(values)
    for fn in (clustered_accuracy, clustered_mean):
        got = fn(values, clusters)
        assert got.interval is None and got.design_effect is None and got.se is None
        assert got.clusters == (1 if values else 0)


def test_clustered_all_equal_values() -> None:
    got = clustered_mean([0.3] * 6, list("aabbcc"))
    assert got.interval == Interval(0.3, 0.3) and got.design_effect == 1.0
    for p in (0.0, 1.0):
        acc = clustered_accuracy([p] * 6, list("aabbcc"))
        assert acc.design_effect == 1.0
        assert (acc.interval.low, acc.interval.high) == pytest.approx(
            tuple(dataclasses.astuple(wilson_interval(int(6 * p), 6))), abs=1e-12)


def test_clustered_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="cluster labels"):
        clustered_mean([0.1, 0.2], ["a"])
    with pytest.raises(ValueError, match="0 or 1"):
        clustered_accuracy([0.5, 1.0], ["a", "b"])
    with pytest.raises(ValueError, match="finite"):
        clustered_mean([float("nan"), 0.2], ["a", "b"])


# ------------------------------------------------------------------ the sign-flip test


def _random_diffs(rng: random.Random, k: int) -> list[float]:
    style = rng.choice(["int", "float", "equal", "ties"])
    if style == "int":
        return [float(rng.randint(-4, 4)) for _ in range(k)]
    if style == "equal":
        return [rng.choice([-1.0, 1.0, 0.0]) * 0.3 for _ in range(k)]
    if style == "ties":
        return [rng.choice([-0.1, 0.2, 0.1, 0.0, -0.3]) for _ in range(k)]
    return [round(rng.gauss(-0.05, 0.3), rng.choice([2, 6, 12])) for _ in range(k)]


def test_sign_flip_exact_matches_literal_enumeration() -> None:
    rng = random.Random(5)
    for _ in range(1500):
        diffs = _random_diffs(rng, rng.randint(0, 10))
        got = sign_flip_test(diffs)
        assert got.method == "exact"
        assert got.nonzero == sum(d != 0 for d in diffs)
        assert got.p == pytest.approx(independent_stats.sign_flip(diffs), abs=1e-12), diffs


@pytest.mark.parametrize("k", [17, 24, 40])
def test_sign_flip_monte_carlo_matches_literal_draws(k: int) -> None:
    rng = random.Random(k)
    diffs = _random_diffs(rng, k)
    diffs = [d if d else 0.25 for d in diffs]  # all nonzero: Monte Carlo
    got = sign_flip_test(diffs)
    assert got.method == "monte-carlo (10000)"
    assert got.p == independent_stats.sign_flip(diffs)
    assert sign_flip_test(diffs) == got  # deterministic


def test_sign_flip_is_exact_mcnemar_with_one_case_per_video() -> None:
    """0/1 cases, one per video: D_c in {-1, 0, 1}; the test is the exact McNemar test for
    every (broken, fixed) it enumerates."""
    rng = random.Random(6)
    for broken in range(17):
        for fixed in range(17 - broken):
            diffs = [-1.0] * broken + [1.0] * fixed + [0.0] * rng.randint(0, 5)
            rng.shuffle(diffs)
            got = sign_flip_test(diffs)
            assert got.p == pytest.approx(independent_stats.mcnemar(broken, fixed), abs=1e-12)
            assert got.p == pytest.approx(sps.binomtest(broken, broken + fixed).pvalue
                                          if broken + fixed else 1.0, rel=1e-9)


@pytest.mark.parametrize(("broken", "fixed"), [(12, 5), (20, 9), (40, 25), (3, 30)])
def test_sign_flip_monte_carlo_approximates_mcnemar(broken: int, fixed: int) -> None:
    got = sign_flip_test([-1.0] * broken + [1.0] * fixed)
    assert got.method.startswith("monte-carlo")
    assert got.p == pytest.approx(independent_stats.mcnemar(broken, fixed), abs=0.015)


def test_sign_flip_edge_cases() -> None:
    assert sign_flip_test([]) == SignFlip(1.0, "exact", 0)
    assert sign_flip_test([0.0, 0.0]) == SignFlip(1.0, "exact", 0)
    assert sign_flip_test([0.5]).p == 1.0  # one video: both signs are as extreme
    assert sign_flip_test([0.1, -0.1]).p == 1.0
    assert sign_flip_test([0.1, 0.2, 0.3 - 1e-15]).p == pytest.approx(2 / 8)  # float ties
    with pytest.raises(ValueError, match="finite"):
        sign_flip_test([float("nan"), 1.0])
