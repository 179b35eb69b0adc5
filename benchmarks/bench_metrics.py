"""Time DAVIS J&F on a synthetic 100-frame 720p case against a naive full-frame implementation.

    python benchmarks/bench_metrics.py [--frames 100] [--repeats 5] [--naive-frames 10]

The naive version is the toolkit's recipe written plainly (full-frame boundary maps, full-frame
binary dilation with a disk); at 720p it takes most of a second per frame, so by default it
runs on the first ``--naive-frames`` frames and its time is scaled to the whole case. Values
are compared frame by frame on those frames. Prints PASS/FAIL against the 100 ms target.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

try:
    from dynbench.metrics import boundary_radius, sequence_scores
except ImportError:  # a checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from dynbench.metrics import boundary_radius, sequence_scores

TARGET_MS = 100.0
HEIGHT, WIDTH = 720, 1280


def _blob(shape, cy, cx, ry, rx, wobble, phase, window):
    """A wobbly ellipse, drawn only inside ``window`` (y0, y1, x0, x1) to keep generation fast."""
    mask = np.zeros(shape, dtype=bool)
    y0, y1, x0, x1 = window
    yy, xx = np.mgrid[y0:y1, x0:x1]
    ang = np.arctan2(yy - cy, xx - cx)
    rad = np.hypot((yy - cy) / ry, (xx - cx) / rx)
    mask[y0:y1, x0:x1] = rad < 1 + wobble * np.sin(5 * ang + phase)
    return mask


def synthetic_case(frames: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A ~300x230 px object moving across a 720p frame; the prediction is shifted and reshaped."""
    rng = np.random.default_rng(seed)
    preds = np.zeros((frames, HEIGHT, WIDTH), dtype=bool)
    gts = np.zeros_like(preds)
    for t in range(frames):
        cy, cx = 330 + 80 * math.sin(t / 15), 250 + 7.5 * t
        window = (
            max(int(cy) - 200, 0),
            min(int(cy) + 200, HEIGHT),
            max(int(cx) - 200, 0),
            min(int(cx) + 200, WIDTH),
        )
        gts[t] = _blob(gts.shape[1:], cy, cx, 115, 150, 0.08, t / 10, window)
        dy, dx = rng.integers(-6, 7, 2)
        preds[t] = _blob(gts.shape[1:], cy + dy, cx + dx, 112, 155, 0.05, t / 7 + 1, window)
    return preds, gts


def naive_seg2bmap(mask: np.ndarray) -> np.ndarray:
    """Full-frame boundary map, written as in the DAVIS toolkit."""
    e, s, se = np.zeros_like(mask), np.zeros_like(mask), np.zeros_like(mask)
    e[:, :-1], s[:-1, :], se[:-1, :-1] = mask[:, 1:], mask[1:, :], mask[1:, 1:]
    b = (mask ^ e) | (mask ^ s) | (mask ^ se)
    b[-1, :] = mask[-1, :] ^ e[-1, :]
    b[:, -1] = mask[:, -1] ^ s[:, -1]
    b[-1, -1] = False
    return b


def naive_frame(pred: np.ndarray, gt: np.ndarray, bound_th: float) -> tuple[float, float]:
    """(J, F) by full-frame dilation with an explicit disk."""
    union = np.count_nonzero(pred | gt)
    j = 1.0 if union == 0 else np.count_nonzero(pred & gt) / union
    r = boundary_radius(pred.shape, bound_th)
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    disk = yy**2 + xx**2 <= r * r
    pb, gb = naive_seg2bmap(pred), naive_seg2bmap(gt)
    n_p, n_g = np.count_nonzero(pb), np.count_nonzero(gb)
    if n_p == 0 or n_g == 0:
        precision = 1.0 if n_p == 0 else 0.0
        recall = 1.0 if n_g == 0 else 0.0
    else:
        precision = np.count_nonzero(pb & ndimage.binary_dilation(gb, disk)) / n_p
        recall = np.count_nonzero(gb & ndimage.binary_dilation(pb, disk)) / n_g
    f = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return float(j), float(f)


def best_of(repeats: int, func):
    """Best wall time in seconds over ``repeats`` calls, and the last result."""
    best, result = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--naive-frames", type=int, default=10, help="frames for the naive run (0: all)"
    )
    parser.add_argument("--bound-th", type=float, default=0.008)
    args = parser.parse_args(argv)

    preds, gts = synthetic_case(args.frames)
    radius = boundary_radius(gts.shape[1:], args.bound_th)
    print(f"case: {args.frames} frames of {HEIGHT}x{WIDTH}, boundary radius {radius} px")

    fast_s, score = best_of(
        args.repeats, lambda: sequence_scores(preds, gts, "davis", args.bound_th)
    )
    fast_ms = fast_s * 1e3
    print(
        f"sequence_scores: {fast_ms:8.1f} ms  (best of {args.repeats})  "
        f"J={score.j:.6f} F={score.f:.6f} J&F={score.jf:.6f}"
    )

    n_naive = args.frames if args.naive_frames <= 0 else min(args.naive_frames, args.frames)
    start = time.perf_counter()
    naive = [naive_frame(preds[t], gts[t], args.bound_th) for t in range(n_naive)]
    naive_ms = (time.perf_counter() - start) * 1e3 * args.frames / n_naive
    scaled = "" if n_naive == args.frames else f", {n_naive} frames timed and scaled"
    print(f"naive dilation:  {naive_ms:8.1f} ms  (single run{scaled})")
    print(f"speed-up: {naive_ms / fast_ms:.0f}x")

    fast_values = np.column_stack([score.per_frame_j, score.per_frame_f])[:n_naive]
    diff = float(np.max(np.abs(fast_values - np.array(naive))))
    agree = diff <= 1e-12
    print(f"values agree on {n_naive} frames: {'yes' if agree else 'NO'} (max |diff| {diff:.1e})")
    verdict = "PASS" if fast_ms < TARGET_MS else "FAIL"
    print(f"{verdict}: {fast_ms:.1f} ms vs target {TARGET_MS:.0f} ms for the case")
    return 0


if __name__ == "__main__":
    sys.exit(main())
