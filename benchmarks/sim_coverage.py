"""Coverage of the 95% task intervals on synthetic runs with correlated answers per video.

    python benchmarks/sim_coverage.py [--runs 5000] [--seed 0]

Each synthetic run has C videos with 5-9 cases each (Dyn-Bench asks about seven questions per
video). A video has its own level drawn from a Beta distribution with mean mu and
intra-video correlation rho (the share of the variance that is between videos):

* QA: each answer is correct with the video's probability p_c ~ Beta(mean mu, ICC rho);
* masks: each J&F is Beta-distributed around the video's level (itself Beta(mean mu, rho)).

The true task mean is mu in both cases. The script counts how often the clustered interval
(``ci95``: Wilson at n / deff, or CR1 Student-t with C - 1 df) and the independent one
(``ci95_iid``) contain mu, and prints one line per setting, then whether every clustered
coverage lies in 93-97% and how many independent ones do not. Not a timed test.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

try:
    from dynbench import stats
except ImportError:  # a checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from dynbench import stats

SETTINGS = [  # (kind, videos, mu, rho)
    ("qa", 30, 0.6, 0.3), ("qa", 60, 0.45, 0.3), ("qa", 120, 0.7, 0.5), ("qa", 60, 0.3, 0.15),
    ("mask", 30, 0.55, 0.3), ("mask", 60, 0.4, 0.5), ("mask", 120, 0.65, 0.3),
    ("mask", 60, 0.5, 0.15),
]


def beta_params(mu: float, rho: float) -> tuple[float, float]:
    """Beta(a, b) with mean mu and 1 / (a + b + 1) = rho."""
    total = 1.0 / rho - 1.0
    return mu * total, (1.0 - mu) * total


def synthetic_run(rng: np.random.Generator, kind: str, videos: int, mu: float, rho: float):
    sizes = rng.integers(5, 10, size=videos)
    levels = rng.beta(*beta_params(mu, rho), size=videos)
    clusters = np.repeat(np.arange(videos), sizes)
    level = levels[clusters]
    if kind == "qa":
        values = (rng.random(len(clusters)) < level).astype(float)
    else:  # J&F around the video's level, within-video spread kept moderate
        k = 12.0
        values = rng.beta(np.maximum(level * k, 1e-3), np.maximum((1 - level) * k, 1e-3))
    return values.tolist(), clusters.tolist()


def intervals(kind: str, values: list[float], clusters: list[int]):
    if kind == "qa":
        clustered = stats.clustered_accuracy(values, clusters)
        iid = stats.wilson_interval(int(sum(values)), len(values))
    else:
        clustered = stats.clustered_mean(values, clusters)
        iid = stats.mean_interval(values)
    return clustered, iid


def coverage(kind: str, videos: int, mu: float, rho: float, runs: int, seed: int):
    rng = np.random.default_rng(seed)
    hit_c = hit_i = 0
    deffs = []
    for _ in range(runs):
        values, clusters = synthetic_run(rng, kind, videos, mu, rho)
        clustered, iid = intervals(kind, values, clusters)
        hit_c += clustered.interval.low <= mu <= clustered.interval.high
        hit_i += iid.low <= mu <= iid.high
        deffs.append(clustered.design_effect)
    return hit_c / runs, hit_i / runs, float(np.mean(deffs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5000, help="synthetic runs per setting")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"{'kind':<5} {'videos':>6} {'mu':>5} {'rho':>5} {'deff':>6} "
          f"{'clustered':>10} {'iid':>8}   ({args.runs} runs each, nominal 95%)")
    ok, iid_off = True, 0
    for i, (kind, videos, mu, rho) in enumerate(SETTINGS):
        c, iid, deff = coverage(kind, videos, mu, rho, args.runs, args.seed + i)
        ok &= 0.93 <= c <= 0.97
        iid_off += not 0.93 <= iid <= 0.97
        print(f"{kind:<5} {videos:>6} {mu:>5.2f} {rho:>5.2f} {deff:>6.2f} {100 * c:>9.1f}% "
              f"{100 * iid:>7.1f}%")
    print(f"clustered coverage within 93-97% in every setting: {'yes' if ok else 'NO'}; "
          f"independent coverage outside 93-97% in {iid_off} of {len(SETTINGS)} settings")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
