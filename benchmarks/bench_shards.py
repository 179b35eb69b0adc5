"""Shard balance: max shard cost / mean shard cost for N = 2, 4, 8, 16 (target <= 1.05).

Run: python benchmarks/bench_shards.py [--videos 1000] [--seed 0] [--max-frames K]

Builds a 1,000-video index the way the suite reads one: the generator's multi_json/ (JSON
only, ~11 cases per video) plus one frame folder per video holding an uneven number of
(empty) frame_XXXX.jpg files, drawn log-normal between 8 and 600 frames. The shard planner
then reads it exactly as a run does (dataset reader, frame listing, no decoding), and every
number below is measured from the plan it produces:

* balance = max shard cost / mean (cost = cases x frames shown), the issue's target;
* the same for two naive splits (contiguous blocks of videos, videos round-robin), to show
  what cost balancing buys;
* the largest single video as a fraction of the mean shard (no video-atomic plan can beat
  1 + that when it is large);
* the wall time of planning (listing included) and of the data fingerprint.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
COUNTS = (2, 4, 8, 16)


def build_index(root: Path, videos: int, seed: int) -> dict[str, int]:
    """JSON from the generator, frame folders of uneven length; returns video -> frames."""
    from dynbench import synth

    synth.generate(root, seed=seed, scenes=videos, json_only=True)
    rng = random.Random(seed)
    frames: dict[str, int] = {}
    for source in sorted((root / "multi_json").iterdir()):
        scenes = sorted({p.stem.rpartition("_")[0] for p in source.glob("*.json")
                         if "frame_sampling" not in p.name})
        for scene in scenes:
            n = min(600, max(8, int(rng.lognormvariate(4.2, 0.9))))
            folder = root / "frames" / source.name / scene
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                (folder / f"frame_{i:04d}.jpg").touch()
            frames[f"{source.name}/{scene}"] = n
    return frames


def naive_balance(costs: dict[str, int], count: int, how: str) -> float:
    keys = sorted(costs)
    loads = [0] * count
    for i, key in enumerate(keys):
        shard = i * count // len(keys) if how == "blocks" else i % count
        loads[shard] += costs[key]
    return max(loads) / (sum(loads) / count)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-frames", type=int, default=None)
    args = parser.parse_args()
    from dynbench import shards
    from dynbench.data import read_dataset

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "index"
        start = time.perf_counter()
        frames = build_index(root, args.videos, args.seed)
        built = time.perf_counter() - start
        cases = read_dataset(root).cases
        lengths = sorted(frames.values())
        print(f"index: {len(frames)} videos, {len(cases)} cases, frames per video min "
              f"{lengths[0]} / median {lengths[len(lengths) // 2]} / max {lengths[-1]}, "
              f"{sum(lengths)} frame files (built in {built:.1f} s); max_frames "
              f"{args.max_frames}")
        costs = shards.video_costs(cases, root, args.max_frames)
        worst = []
        print(f"{'N':>3} {'balance':>8} {'blocks':>8} {'round-robin':>12} {'largest video':>14} "
              f"{'plan s':>7}")
        for count in COUNTS:
            shards.list_frames.cache_clear()  # time the listing too, as a fresh run pays it
            start = time.perf_counter()
            plan = shards.make_plan(cases, root, args.max_frames, count)
            seconds = time.perf_counter() - start
            mean = sum(plan.costs) / count
            worst.append(plan.balance)
            print(f"{count:>3} {plan.balance:>8.4f} {naive_balance(costs, count, 'blocks'):>8.4f}"
                  f" {naive_balance(costs, count, 'round-robin'):>12.4f} "
                  f"{max(costs.values()) / mean:>13.3f}x {seconds:>7.2f}")
        start = time.perf_counter()
        shards.data_fingerprint(cases, root)
        print(f"data fingerprint of {len(cases)} cases: {time.perf_counter() - start:.2f} s")
        verdict = "met" if max(worst) <= 1.05 else "NOT met"
        print(f"target max/mean <= 1.05 for N <= 16: {verdict} (worst {max(worst):.4f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
