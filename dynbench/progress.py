"""Progress lines for long runs: done/total, running score per task, errors and ETA.

Plain lines (no carriage returns) so they read the same in a terminal and a CI log.
"""

from __future__ import annotations

import time

from dynbench.tasks import TASK_ORDER, TASKS


class Progress:
    def __init__(self, every_s: float = 30.0, clock=time.monotonic) -> None:
        self.every_s = every_s
        self.clock = clock
        self.total: int | None = None
        self.start = clock()
        self.last = self.start
        self.done = 0
        self.errors = 0
        self.sums: dict[str, list[float]] = {}  # task -> [sum, n]

    def add(self, record: dict) -> str | None:
        """Count a record; return a progress line when one is due."""
        self.done += 1
        self.errors += record.get("status") == "error"
        if record.get("status") not in ("n/a", "skipped") and record.get("task") in TASKS:
            value = record.get("correct") if record.get("kind") == "qa" else record.get("jf")
            acc = self.sums.setdefault(record["task"], [0.0, 0])
            acc[0] += float(value or 0.0)
            acc[1] += 1
        now = self.clock()
        if self.every_s <= 0 or now - self.last < self.every_s:
            return None
        self.last = now
        return self.line(now)

    def line(self, now: float | None = None) -> str:
        now = self.clock() if now is None else now
        elapsed = now - self.start
        total = f"/{self.total}" if self.total else ""
        scores = " ".join(f"{t} {100 * s / n:.1f}%" for t in TASK_ORDER
                          if (acc := self.sums.get(t)) and (s := acc[0]) is not None
                          and (n := acc[1]))
        eta = ""
        if self.total and self.done:
            remaining = elapsed / self.done * (self.total - self.done)
            eta = f" | ETA {_clock(remaining)}"
        return (f"[dynbench] {self.done}{total} cases in {_clock(elapsed)} | {scores or '-'} | "
                f"errors {self.errors}{eta}")


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"
