"""Run progress: done/total, cases/s, ETA and the running score of each task.

On a terminal one status line is kept just below pytest's own output and redrawn in place
(:class:`LiveLine`); pytest's dot line above it is never touched. In a CI log or a pipe a
plain line is written every ``--progress-every`` seconds (:class:`PlainLines`), and only where
pytest's dot line ends, so it neither breaks that line nor glues onto it (``-n 2``). With
``-v`` each case also says what it scored (:func:`outcome_word`) instead of ``PASSED``.
"""

from __future__ import annotations

import os
import time

from dynbench.tasks import TASK_ORDER, TASKS

SAVE, RESTORE, DOWN, UP, CLEAR = "\x1b7", "\x1b8", "\x1b[1B", "\x1b[1A", "\x1b[2K"


class Progress:
    """Counts finished records; :meth:`line` is the status text."""

    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self.total: int | None = None
        self.start = clock()
        self.done = 0
        self.errors = 0
        self.sums: dict[str, list[float]] = {}  # task -> [sum, n]

    def add(self, record: dict) -> None:
        self.done += 1
        self.errors += record.get("status") == "error"
        if record.get("status") not in ("n/a", "skipped") and record.get("task") in TASKS:
            value = record.get("correct") if record.get("kind") == "qa" else record.get("jf")
            acc = self.sums.setdefault(record["task"], [0.0, 0])
            acc[0] += float(value or 0.0)
            acc[1] += 1

    def line(self, now: float | None = None) -> str:
        now = self.clock() if now is None else now
        elapsed = max(now - self.start, 1e-9)
        total = f"/{self.total}" if self.total else ""
        rate = self.done / elapsed
        parts = [f"[dynbench] {self.done}{total} cases", f"{rate:.2f} cases/s"
                 if rate < 10 else f"{rate:.0f} cases/s"]
        if self.total and self.done:
            parts.append(f"ETA {_clock(elapsed / self.done * max(self.total - self.done, 0))}")
        scores = " ".join(f"{t} {100 * acc[0] / acc[1]:.1f}" for t in TASK_ORDER
                          if (acc := self.sums.get(t)) and acc[1])
        parts.append(scores or "-")
        parts.append(f"errors {self.errors}")
        return " | ".join(parts)


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def outcome_word(record: dict) -> tuple[str, dict]:
    """What ``-v`` prints for a case, with its colour."""
    if record.get("status") in ("n/a", "skipped"):
        return record["status"].upper(), {"yellow": True}
    if record.get("status") == "error":
        return "ERROR", {"red": True}
    if record.get("kind") == "qa":
        if record.get("unparsed"):
            return "UNPARSED", {"yellow": True}
        if record.get("correct"):
            return "CORRECT", {"green": True}
        return f"WRONG {record.get('extracted') or '?'} vs {record.get('truth') or '?'}", \
            {"red": True}
    return f"J&F {100 * float(record.get('jf') or 0.0):.1f}", {"cyan": True}


def live_terminal(config) -> bool:
    """A real terminal that can redraw a line: a TTY, not CI, not a dumb TERM, output not
    interleaved by ``-s``."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    stream = getattr(getattr(reporter, "_tw", None), "_file", None)
    return bool(stream is not None and getattr(stream, "isatty", lambda: False)()
                and not os.environ.get("CI") and os.environ.get("TERM", "") != "dumb"
                and config.getoption("capture", "fd") != "no")


class LiveLine:
    """One status line below the terminal reporter's current line, redrawn in place.

    :meth:`clear` must run before the reporter writes (it may write a newline onto the status
    row) and :meth:`draw` after; the cursor always goes back to where the reporter left it.
    """

    def __init__(self, reporter, every_s: float = 0.2, clock=time.monotonic) -> None:
        self.tw = reporter._tw
        self.stream = self.tw._file
        self.every_s = every_s
        self.clock = clock
        self.shown = False
        self.last = -1e9
        self.text = ""

    def clear(self) -> None:
        if self.shown:
            self._out(SAVE + DOWN + "\r" + CLEAR + RESTORE)
            self.shown = False

    def draw(self, text: str, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self.last < self.every_s and self.text:
            text = self.text  # redraw the last text; no recount more than 5 times a second
        self.last, self.text = now, text
        width = max(20, self.tw.fullwidth - 1)
        column = self.tw.width_of_current_line
        self._out("\n\r" + text[:width] + "\x1b[K" + UP + f"\x1b[{column + 1}G")
        self.shown = True

    def _out(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


class PlainLines:
    """A progress line every ``every_s`` seconds, at the start of a line: written when the
    reporter's current line is empty, or after a further ``every_s`` on a new line."""

    def __init__(self, reporter, every_s: float, clock=time.monotonic) -> None:
        self.reporter = reporter
        self.every_s = every_s
        self.clock = clock
        self.last = clock()

    def maybe_write(self, text: str) -> bool:
        now = self.clock()
        due = now - self.last
        if self.every_s <= 0 or due < self.every_s:
            return False
        if self.reporter._tw.width_of_current_line and due < 2 * self.every_s:
            return False  # wait for the end of pytest's dot line
        self.reporter.ensure_newline()
        if self.reporter._tw.width_of_current_line:
            self.reporter._tw.line()
        self.reporter.write_line(text)
        self.last = now
        return True
