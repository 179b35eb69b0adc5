"""Collection speed: building >= 10,000 cases must take < 3 s (JSON only, no image decoding).

Run: python benchmarks/bench_collect.py [--scenes 920]
Generates a JSON-only synthetic dataset, then times, side by side in one run:
  * read_dataset() alone (the reader),
  * `pytest --collect-only` of the benchmark (what a user waits for), minus
  * an empty `pytest --collect-only` run (interpreter + plugin start-up, for reference).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def collect(data: Path, extra: list[str]) -> float:
    cmd = [sys.executable, "-m", "pytest", "--collect-only", "-q", "--data-dir", str(data),
           "-p", "no:cacheprovider", *extra]
    seconds, proc = timed(lambda: subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True))
    if proc.returncode not in (0, 5):
        raise SystemExit(proc.stdout[-2000:] + proc.stderr[-2000:])
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenes", type=int, default=920, help="~11 cases per scene")
    args = parser.parse_args()
    from dynbench import synth
    from dynbench.data import read_dataset

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "big"
        synth.main([str(data), "--scenes", str(args.scenes), "--json-only", "--seed", "1"])
        read_s, dataset = timed(lambda: read_dataset(data))
        n = len(dataset.cases)
        full = collect(data, [])
        empty = collect(data, ["--task", "cameraqa", "--limit", "1"])  # (0 is refused)
    print(f"cases: {n}")
    print(f"read_dataset:              {read_s:6.2f} s  ({1e6 * read_s / n:.0f} us/case)")
    print(f"pytest --collect-only:     {full:6.2f} s")
    print(f"  start-up (1 case):        {empty:6.2f} s")
    print(f"  collection of the cases: {full - empty:6.2f} s  ratio to start-up "
          f"{full / empty:.1f}x")
    verdict = "PASS" if n >= 10_000 and full < 3.0 else "FAIL"
    print(f"{verdict}: target >= 10,000 cases collected in < 3 s (whole pytest run)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
