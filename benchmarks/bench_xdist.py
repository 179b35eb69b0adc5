"""xdist scaling on CPU with the chance baseline: serial vs -n 2 (vs -n 4 with --workers 4).

Run: python benchmarks/bench_xdist.py [--scenes 40] [--workers 2]
The baseline answers instantly, so what scales is the suite's own work per case (frame
decoding, ground-truth loading, J&F scoring, records) plus xdist's overhead. Prints wall
time, cases per second, speed-up and efficiency (speed-up / workers), and checks that the
reports' scores are identical.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(data: Path, out: Path, workers: int) -> float:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--data-dir",
           str(data), "--report-dir", str(out), "--progress-every", "0"]
    if workers > 1:
        cmd += ["-n", str(workers)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(proc.stdout[-3000:] + proc.stderr[-2000:])
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenes", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--size", default="640x480")
    args = parser.parse_args()
    from dynbench import synth

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        synth.main([str(data), "--scenes", str(args.scenes), "--frames", "16", "--size",
                    args.size, "--seed", "2"])
        serial_s = run(data, Path(tmp) / "serial", 1)
        par_s = run(data, Path(tmp) / "parallel", args.workers)
        a = json.loads((Path(tmp) / "serial/summary.json").read_text())
        b = json.loads((Path(tmp) / "parallel/summary.json").read_text())
    n = a["counts"]["cases"]
    speedup = serial_s / par_s
    print(f"cases: {n} ({args.scenes} scenes, 16 frames {args.size})")
    print(f"serial:        {serial_s:6.2f} s  {n / serial_s:7.1f} cases/s")
    print(f"-n {args.workers}:          {par_s:6.2f} s  {n / par_s:7.1f} cases/s")
    print(f"speed-up {speedup:.2f}x, efficiency {speedup / args.workers:.0%} "
          f"(includes interpreter and collection start-up of each run)")
    print(f"identical scores: {a['tasks'] == b['tasks'] and a['overall'] == b['overall']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
