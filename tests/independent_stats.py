"""Literal implementations of the clustered statistics, written from the formulas in README
("Protocols and metrics", "Regression gate"), independent of dynbench.stats / dynbench.gate:
exact rational arithmetic where the formula is arithmetic, plain loops everywhere else.

Also a recomputation of a saved run's numbers from its samples.jsonl alone.
"""

from __future__ import annotations

import itertools
import json
import math
import statistics
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy import stats as sps

QA_TASKS = {"cameraqa", "qa", "sceneqa"}
MASK_TASKS = {"cameramask", "objmask", "scenemask"}
Z95 = statistics.NormalDist().inv_cdf(0.975)


# --- intervals ---------------------------------------------------------------------------


def cr1(values: list[float], clusters: list) -> tuple[Fraction, Fraction | None, int]:
    """(mean, SE² = C/(C-1) · Σ_c (Σ_{i∈c}(s_i - m))² / n², C), exactly; SE² None if C < 2."""
    n = len(values)
    m = sum(Fraction(v) for v in values) / n
    residual: dict = {}
    for v, c in zip(values, clusters, strict=True):
        residual[c] = residual.get(c, Fraction(0)) + Fraction(v) - m
    c = len(residual)
    if c < 2:
        return m, None, c
    return m, Fraction(c, c - 1) * sum(r * r for r in residual.values()) / (n * n), c


def wilson(p: float, n: float) -> tuple[float, float]:
    """Wilson (1927) at a real sample size, written out; exact ends at p = 0 and 1."""
    z2 = Z95 * Z95
    center = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    low = 0.0 if p == 0 else max(0.0, center - half)
    high = 1.0 if p == 1 else min(1.0, center + half)
    return low, high


def qa_interval(values: list[float], clusters: list):
    """(interval, C, deff) for accuracy: Wilson at n_eff = n / deff,
    deff = max(1, SE² / (m(1 - m)/n)), 1 when m is 0 or 1."""
    n = len(values)
    m, se2, c = cr1(values, clusters)
    if se2 is None:
        return None, c, None
    deff = Fraction(1) if m in (0, 1) else max(Fraction(1), se2 / (m * (1 - m) / n))
    return wilson(float(m), float(n / deff)), c, float(deff)


def mask_interval(values: list[float], clusters: list):
    """(interval, C, deff) for J&F: m ± t(0.975, C - 1) · SE clipped to [0, 1];
    deff = SE² / (s² / n), s² the sample variance, 1 when all values are equal."""
    n = len(values)
    m, se2, c = cr1(values, clusters)
    if se2 is None:
        return None, c, None
    s2 = sum((Fraction(v) - m) ** 2 for v in values) / (n - 1)
    deff = Fraction(1) if s2 == 0 else se2 / (s2 / n)
    half = float(sps.t.ppf(0.975, c - 1)) * math.sqrt(se2)
    return (max(0.0, float(m) - half), min(1.0, float(m) + half)), c, float(deff)


# --- the sign-flip test ------------------------------------------------------------------


def sign_flip(diffs: list[float], flips: int = 10_000, seed: int = 0) -> float:
    """Two-sided sign-flip p of Σ D: every pattern when at most 16 D != 0, else ``flips``
    patterns 2·b - 1, b = default_rng(seed).integers(0, 2, (flips, k)), p = (1+hits)/(1+flips).
    A hit is |T*| >= |T| - 1e-9 · Σ|D|."""
    d = [x for x in diffs if x != 0]
    if not d:
        return 1.0
    threshold = abs(math.fsum(d)) - 1e-9 * math.fsum(abs(x) for x in d)
    if len(d) <= 16:
        hits = sum(abs(math.fsum(s * x for s, x in zip(signs, d, strict=True))) >= threshold
                   for signs in itertools.product((1, -1), repeat=len(d)))
        return hits / 2 ** len(d)
    bits = np.random.default_rng(seed).integers(0, 2, size=(flips, len(d)), dtype=np.int8)
    hits = 0
    for row in bits:
        total = math.fsum((2 * int(b) - 1) * x for b, x in zip(row, d, strict=True))
        hits += abs(total) >= threshold
    return (1 + hits) / (1 + flips)


def mcnemar(broken: int, fixed: int) -> float:
    """Exact McNemar: min(1, 2 · P(X <= min(b, c))), X ~ Binomial(b + c, 1/2), exactly."""
    n = broken + fixed
    tail = sum(Fraction(math.comb(n, i), 2**n) for i in range(min(broken, fixed) + 1))
    return float(min(Fraction(1), 2 * tail))


# --- recomputing a saved run -------------------------------------------------------------


def read_samples(folder: Path) -> list[dict]:
    lines = (folder / "samples.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _scored(r: dict) -> bool:
    return r["task"] in QA_TASKS | MASK_TASKS and r["status"] != "n/a" and \
        not r.get("file_problem")


def _value(r: dict) -> float:
    if r["status"] == "error":
        return 0.0
    return (1.0 if r["correct"] else 0.0) if r["task"] in QA_TASKS else float(r["jf"])


def recompute_tasks(records: list[dict]) -> dict[str, dict]:
    """Per task: score, ci95 (percent), clusters and design_effect from the records."""
    out = {}
    for task in sorted({r["task"] for r in records if _scored(r)}):
        rows = [r for r in records if r["task"] == task and _scored(r)]
        values = [_value(r) for r in rows]
        videos = [r["video"] for r in rows]
        interval, c, deff = (qa_interval if task in QA_TASKS else mask_interval)(values, videos)
        out[task] = {"score": 100 * float(sum(Fraction(v) for v in values) / len(values)),
                     "ci95": None if interval is None else [100 * interval[0], 100 * interval[1]],
                     "clusters": c, "design_effect": deff}
    return out


def recompute_gate(current: list[dict], baseline: list[dict]) -> dict[str, dict]:
    """Per task: paired cases, paired videos and the p-value of the by-video sign-flip test."""
    base = {r["id"]: r for r in baseline if _scored(r)}
    out = {}
    for task in sorted({r["task"] for r in current}):
        d: dict[str, Fraction] = {}
        n = 0
        for r in current:
            if r["task"] == task and _scored(r) and r["id"] in base:
                n += 1
                d[r["video"]] = d.get(r["video"], Fraction(0)) + Fraction(_value(r)) - \
                    Fraction(_value(base[r["id"]]))
        if n:
            diffs = [float(d[v]) for v in sorted(d)]
            out[task] = {"n_paired": n, "videos_paired": len(d), "p_value": sign_flip(diffs)}
    return out
