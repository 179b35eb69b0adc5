"""Confidence intervals for task scores, independent and clustered by video.

Pure functions over plain Python numbers, no pytest machinery. Scores are fractions here;
callers scale to percent for display.

Independent intervals (every case an independent draw):

- Accuracy (a count of correct answers out of n): Wilson score interval. Unlike the normal
  ("Wald") interval it stays inside [0, 1] and is not degenerate at 0 or n correct, which
  small tasks and ``--limit`` runs hit all the time.
- J&F and other per-case means: Student-t interval of the mean (sample standard deviation,
  n - 1 degrees of freedom). It is not clipped to [0, 1]; with very few cases it may leave
  that range, which honestly shows how little a handful of cases says.

Clustered intervals (cases grouped by video; Dyn-Bench asks several questions per video and
answers about one video are correlated, so independent intervals are too narrow). With n
cases in C clusters and mean m, the CR1 cluster-robust variance of the mean is

    SE² = C / (C - 1) · Σ_c (Σ_{i∈c} (s_i - m))² / n²

- per-case means (J&F): m ± t(1 - α/2, df = C - 1) · SE, clipped to [0, 1];
- accuracy: the Wilson interval at the effective sample size n_eff = n / deff with
  m · n_eff successes, deff = max(1, SE² / (m(1 - m) / n)) (deff = 1 when m is 0 or 1).

Undefined cases return ``None`` rather than a made-up interval: n == 0 for both, n == 1 for
the t-interval (one value has no spread estimate), and C < 2 clusters for the clustered ones.
A sample whose values are all equal has zero spread, so its t-interval is the single point
(mean, mean).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class Clustered:
    """A clustered estimate: the interval and the numbers it was computed from."""

    mean: float | None
    n: int
    clusters: int
    se: float | None  # CR1 standard error of the mean; None when C < 2
    design_effect: float | None  # see clustered_accuracy / clustered_mean
    interval: Interval | None


def _two_sided_quantile(dist: str, confidence: float, **kwargs) -> float:
    """Upper quantile of ``scipy.stats.<dist>`` leaving (1 - confidence) / 2 in each tail."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    from scipy import stats  # imported when an interval is computed, not with the gate

    return float(getattr(stats, dist).ppf(0.5 + confidence / 2.0, **kwargs))


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Interval | None:
    """Wilson score interval for a binomial proportion; ``None`` when n == 0."""
    successes, n = operator.index(successes), operator.index(n)
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        _two_sided_quantile("norm", confidence)  # a bad confidence is still an error
        return None
    return wilson_fraction(successes / n, n, confidence)


def wilson_fraction(p: float, n: float, confidence: float = 0.95) -> Interval:
    """Wilson interval for proportion ``p`` at a (possibly fractional) sample size n > 0.

    The ends at p = 0 and p = 1 are exactly 0 and 1 (the formula gives them only up to
    rounding)."""
    if not (0.0 <= p <= 1.0 and n > 0 and math.isfinite(n)):
        raise ValueError(f"need 0 <= p <= 1 and n > 0, got p={p!r}, n={n!r}")
    z = _two_sided_quantile("norm", confidence)
    z2n = z * z / n
    center = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n))
    low = 0.0 if p == 0.0 else max(0.0, center - half)
    high = 1.0 if p == 1.0 else min(1.0, center + half)
    return Interval(low, high)


def _finite_floats(values: Sequence[float]) -> list[float]:
    out = [float(v) for v in values]
    if not all(math.isfinite(v) for v in out):
        raise ValueError("values must be finite numbers (no NaN or infinity)")
    return out


def mean(values: Sequence[float]) -> float | None:
    """Arithmetic mean (``math.fsum`` for accuracy); ``None`` for no values."""
    vals = _finite_floats(values)
    return math.fsum(vals) / len(vals) if vals else None


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> Interval | None:
    """Student-t interval of the mean; ``None`` for n < 2, a point when all values are equal."""
    vals = _finite_floats(values)
    n = len(vals)
    t = _two_sided_quantile("t", confidence, df=max(n - 1, 1))
    if n < 2:
        return None
    m = math.fsum(vals) / n
    if min(vals) == max(vals):
        return Interval(m, m)
    sd = math.sqrt(math.fsum((v - m) ** 2 for v in vals) / (n - 1))
    half = t * sd / math.sqrt(n)
    return Interval(m - half, m + half)


# ---------------------------------------------------------------- clustered by video


def _grouped(values: Sequence[float], clusters: Sequence[Hashable]) -> dict[Hashable, list]:
    vals = _finite_floats(values)
    if len(vals) != len(clusters):
        raise ValueError(f"{len(vals)} values but {len(clusters)} cluster labels")
    groups: dict[Hashable, list[float]] = {}
    for v, c in zip(vals, clusters, strict=True):
        groups.setdefault(c, []).append(v)
    return groups


def cr1_variance(values: Sequence[float], clusters: Sequence[Hashable]) -> float | None:
    """CR1 variance of the mean, C/(C-1) · Σ_c (Σ_{i∈c}(s_i - m))² / n²; None when C < 2."""
    moments = _Moments.of(values, clusters)
    return None if moments.se2 is None else float(moments.se2)


@dataclass(frozen=True)
class _Moments:
    """Mean, CR1 variance and sample variance of one clustered sample, in exact rational
    arithmetic (no cancellation: equal values give exactly zero spread)."""

    n: int
    clusters: int
    mean: Fraction | None
    se2: Fraction | None  # None when C < 2
    s2: Fraction | None  # sample variance, None when n < 2

    @classmethod
    def of(cls, values: Sequence[float], clusters: Sequence[Hashable]) -> _Moments:
        groups = _grouped(values, clusters)
        scaled, scale = _common_denominator([v for g in groups.values() for v in g])
        n, c = len(scaled), len(groups)
        if n == 0:
            return cls(0, 0, None, None, None)
        it = iter(scaled)
        sums = [(sum(next(it) for _ in g), len(g)) for g in groups.values()]
        total = sum(x for x, _ in sums)
        mean_ = Fraction(total, n * scale)
        # Σ_c (S_c - n_c·m)², with S_c and m in units of 1/scale: (n·S_c - n_c·total) / n
        se2 = None if c < 2 else Fraction(
            c * sum((n * x - k * total) ** 2 for x, k in sums), (c - 1) * n**4 * scale**2)
        s2 = None if n < 2 else Fraction(n * sum(x * x for x in scaled) - total * total,
                                         n * (n - 1) * scale**2)
        return cls(n, c, mean_, se2, s2)


def _common_denominator(values: list[float]) -> tuple[list[int], int]:
    """Floats as integers over one power-of-two denominator: exact sums at integer speed."""
    ratios = [v.as_integer_ratio() for v in values]
    scale = max((den for _, den in ratios), default=1)
    return [num * (scale // den) for num, den in ratios], scale


def clustered_accuracy(correct: Sequence[float], clusters: Sequence[Hashable],
                       confidence: float = 0.95) -> Clustered:
    """Accuracy with a Wilson interval at the effective sample size n / deff.

    ``design_effect`` = max(1, SE² / (m(1 - m) / n)), 1 when m is 0 or 1: the variance
    inflation the interval used (never below 1, so n_eff never exceeds n)."""
    if any(float(v) not in (0.0, 1.0) for v in correct):
        raise ValueError("accuracy values must be 0 or 1")
    mo = _Moments.of(correct, clusters)
    _two_sided_quantile("norm", confidence)
    mean_ = None if mo.mean is None else float(mo.mean)
    if mo.se2 is None:
        return Clustered(mean_, mo.n, mo.clusters, None, None, None)
    iid = mo.mean * (1 - mo.mean) / mo.n
    deff = Fraction(1) if iid == 0 else max(Fraction(1), mo.se2 / iid)
    interval = wilson_fraction(mean_, float(mo.n / deff), confidence)
    return Clustered(mean_, mo.n, mo.clusters, math.sqrt(mo.se2), float(deff), interval)


def clustered_mean(values: Sequence[float], clusters: Sequence[Hashable],
                   confidence: float = 0.95, bounds: tuple[float, float] = (0.0, 1.0)
                   ) -> Clustered:
    """Mean with m ± t(df = C - 1) · SE, clipped to ``bounds`` (J&F lies in [0, 1]).

    ``design_effect`` = SE² / (s² / n) with s² the sample variance (n - 1): how much the
    clustered variance exceeds the independent one (1 with one case per cluster; 1 when
    all values are equal). Informational: the interval uses SE itself."""
    mo = _Moments.of(values, clusters)
    t = _two_sided_quantile("t", confidence, df=max(mo.clusters - 1, 1))
    mean_ = None if mo.mean is None else float(mo.mean)
    if mo.se2 is None:
        return Clustered(mean_, mo.n, mo.clusters, None, None, None)
    deff = Fraction(1) if mo.s2 == 0 else mo.se2 / (mo.s2 / mo.n)
    se = math.sqrt(mo.se2)
    low, high = max(bounds[0], mean_ - t * se), min(bounds[1], mean_ + t * se)
    return Clustered(mean_, mo.n, mo.clusters, se, float(deff), Interval(low, high))


# ---------------------------------------------------------------- paired sign-flip test

EXACT_MAX = 16  # nonzero differences enumerated exactly (2^16 sign patterns)
FLIPS = 10_000  # random sign patterns beyond that
FLIP_SEED = 0
FLIP_CHUNK = 1000  # patterns drawn per step (the same stream as one draw of all of them)
TIE_RTOL = 1e-9


@dataclass(frozen=True)
class SignFlip:
    p: float
    method: str  # "exact" or "monte-carlo (10000)"
    nonzero: int  # differences that are not 0 (the ones that are flipped)


def sign_flip_test(diffs: Sequence[float], *, flips: int = FLIPS, seed: int = FLIP_SEED,
                   exact_max: int = EXACT_MAX) -> SignFlip:
    """Two-sided paired sign-flip test of "no change" on differences D_1..D_k.

    Statistic T = Σ D. Under no change each D is as likely to have either sign, so p is the
    share of sign patterns ε with |Σ ε·D| >= |T| (ties within ``TIE_RTOL`` · Σ|D|, so that
    float rounding never decides). Zeros are dropped (their sign changes nothing). Exact
    over all 2^k patterns when k <= ``exact_max`` nonzero values remain; else ``flips``
    patterns ε = 2·b - 1 with b = ``numpy.random.default_rng(seed).integers(0, 2,
    size=(flips, k))`` (rows in order, columns = the nonzero D in the given order), and
    p = (1 + hits) / (1 + flips). One case per cluster and 0/1 values make this the exact
    McNemar test (for k <= ``exact_max``).
    """
    d = np.asarray([float(x) for x in diffs if x != 0.0], dtype=float)
    if not np.all(np.isfinite(d)):
        raise ValueError("differences must be finite numbers (no NaN or infinity)")
    k = len(d)
    if k == 0:
        return SignFlip(1.0, "exact", 0)
    threshold = abs(math.fsum(d)) - TIE_RTOL * math.fsum(np.abs(d))
    if k <= exact_max:
        bits = (np.arange(2**k)[:, None] >> np.arange(k)) & 1
        hits = int(np.count_nonzero(np.abs((1 - 2 * bits) @ d) >= threshold))
        return SignFlip(hits / 2**k, "exact", k)
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, flips, FLIP_CHUNK):
        rows = min(FLIP_CHUNK, flips - start)
        signs = rng.integers(0, 2, size=(rows, k), dtype=np.int8) * 2 - 1
        hits += int(np.count_nonzero(np.abs(signs @ d) >= threshold))
    return SignFlip((1 + hits) / (1 + flips), f"monte-carlo ({flips})", k)
