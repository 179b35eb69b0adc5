"""Confidence intervals for task scores.

Pure functions over plain Python numbers, no pytest machinery. Scores are fractions here;
callers scale to percent for display.

- Accuracy (a count of correct answers out of n): Wilson score interval. Unlike the normal
  ("Wald") interval it stays inside [0, 1] and is not degenerate at 0 or n correct, which
  small tasks and ``--limit`` runs hit all the time.
- J&F and other per-case means: Student-t interval of the mean (sample standard deviation,
  n - 1 degrees of freedom). It is not clipped to [0, 1]; with very few cases it may leave
  that range, which honestly shows how little a handful of cases says.

Undefined cases return ``None`` rather than a made-up interval: n == 0 for both, and n == 1
for the t-interval (one value has no spread estimate). A sample whose values are all equal
has zero spread, so its t-interval is the single point (mean, mean).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats as _sps


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def _two_sided_quantile(dist, confidence: float, **kwargs) -> float:
    """Upper quantile leaving (1 - confidence) / 2 in each tail."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return float(dist.ppf(0.5 + confidence / 2.0, **kwargs))


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Interval | None:
    """Wilson score interval for a binomial proportion; ``None`` when n == 0."""
    successes, n = operator.index(successes), operator.index(n)
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    z = _two_sided_quantile(_sps.norm, confidence)
    if n == 0:
        return None
    p = successes / n
    z2n = z * z / n
    center = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n))
    # Exact ends at the extremes (the formula gives them only up to rounding).
    low = 0.0 if successes == 0 else max(0.0, center - half)
    high = 1.0 if successes == n else min(1.0, center + half)
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
    t = _two_sided_quantile(_sps.t, confidence, df=max(n - 1, 1))
    if n < 2:
        return None
    m = math.fsum(vals) / n
    if min(vals) == max(vals):
        return Interval(m, m)
    sd = math.sqrt(math.fsum((v - m) ** 2 for v in vals) / (n - 1))
    half = t * sd / math.sqrt(n)
    return Interval(m - half, m + half)
