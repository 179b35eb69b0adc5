"""Progress: one live line on a terminal, plain lines in logs, outcome words under -v."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from dynbench.progress import PlainLines, Progress, outcome_word
from tests.builders import QUESTION, SLOW_CONFTEST, small_dataset, write_scene

ROOT = Path(__file__).resolve().parents[1]
BENCH_TEST = (ROOT / "bench_tests" / "test_dynbench.py").read_text()


def project(tmp: Path) -> tuple[Path, Path]:
    folder = tmp / "project"
    folder.mkdir()
    (folder / "test_dynbench.py").write_text(BENCH_TEST)
    (folder / "conftest.py").write_text(SLOW_CONFTEST)
    (folder / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    data = small_dataset(tmp / "d")
    for i in range(3):
        write_scene(data, "srcB", f"v{i}", qa={"qa": [QUESTION] * 6})
    return folder, data


# --- a terminal, emulated just enough to see what the user sees ----------------------------


class Screen:
    """Applies the bytes a program wrote to a terminal: text, CR, LF (scrolling), cursor
    save/restore, up/down/column moves, erase line; colours are ignored."""

    CSI = re.compile(r"\x1b\[([0-9;]*)([A-Za-z])|\x1b([78])")

    def __init__(self, rows: int, cols: int) -> None:
        self.rows, self.cols = rows, cols
        self.lines = [[" "] * cols for _ in range(rows)]
        self.row = self.col = 0
        self.saved = (0, 0)
        self.scrollback: list[list[str]] = []

    def feed(self, text: str) -> None:
        pos = 0
        for m in self.CSI.finditer(text):
            self._text(text[pos:m.start()])
            self._control(m)
            pos = m.end()
        self._text(text[pos:])

    def _newline(self) -> None:
        if self.row == self.rows - 1:
            self.scrollback.append(self.lines[0])
            self.lines = self.lines[1:] + [[" "] * self.cols]
        else:
            self.row += 1

    def _text(self, text: str) -> None:
        for ch in text:
            if ch == "\r":
                self.col = 0
            elif ch == "\n":
                self._newline()
            elif ch >= " ":
                if self.col >= self.cols:
                    self.col = 0
                    self._newline()
                self.lines[self.row][self.col] = ch
                self.col += 1

    def _control(self, m: re.Match) -> None:
        if m.group(3) == "7":
            self.saved = (self.row, self.col)
            return
        if m.group(3) == "8":
            self.row, self.col = self.saved
            return
        arg, op = m.group(1), m.group(2)
        n = int(arg) if arg.isdigit() else (1 if op in "ABG" else 0)
        if op == "A":
            self.row = max(0, self.row - n)
        elif op == "B":
            self.row = min(self.rows - 1, self.row + n)
        elif op == "G":
            self.col = n - 1
        elif op == "K":
            line = self.lines[self.row]
            start = 0 if n == 2 else self.col
            end = self.col + 1 if n == 1 else self.cols
            line[start:end] = [" "] * (end - start)

    def text(self) -> list[str]:
        return ["".join(line).rstrip() for line in self.scrollback + self.lines]


def run_in_terminal(cmd: list[str], cwd: Path, rows: int, cols: int, env: dict) -> str:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen(cmd, cwd=cwd, stdin=slave, stdout=slave, stderr=slave, env=env,
                            close_fds=True)
    os.close(slave)
    chunks = []
    deadline = time.time() + 300
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=60)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


def terminal_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    return {**env, "TERM": "xterm", "COLUMNS": "", "LINES": "", **extra}


def test_live_line_on_a_terminal_leaves_the_dot_line_intact(tmp_path):
    folder, data = project(tmp_path)
    for rows in (60, 12):  # 12: the screen scrolls while the status line is shown
        raw = run_in_terminal([sys.executable, "-m", "pytest", "--data-dir", str(data),
                               "--report-dir", str(tmp_path / f"out{rows}")], folder, rows,
                              120, terminal_env(SLOW_S="0.05"))
        assert "[dynbench] " in raw and "cases/s" in raw and "ETA" in raw, raw[-2000:]
        screen = Screen(rows=rows, cols=120)
        screen.feed(raw)
        lines = screen.text()
        dots = [x for x in lines if x.startswith("test_dynbench.py ")]
        assert len(dots) == 1, lines
        assert re.fullmatch(r"test_dynbench\.py \.{28} +\[100%\]", dots[0]), dots[0]
        assert not any("[dynbench]" in x for x in lines), "the status line was not cleared"
        assert any(x.startswith("run ") and "cases/s" in x for x in lines)


def test_live_status_shows_counts_rate_eta_and_scores(tmp_path):
    folder, data = project(tmp_path)
    raw = run_in_terminal([sys.executable, "-m", "pytest", "--data-dir", str(data),
                           "--report-dir", str(tmp_path / "out")], folder, 40, 160,
                          terminal_env(SLOW_S="0.05"))
    shown = re.findall(r"\[dynbench\] (\d+)/28 cases \| ([\d.]+) cases/s \| ETA \d+m\d\ds \| "
                       r"([^|]+) \| errors (\d+)", raw)
    assert shown, raw[-2000:]
    assert [int(s[0]) for s in shown] == sorted(int(s[0]) for s in shown)
    assert int(shown[-1][0]) == 28 and shown[-1][3] == "0"
    assert "cameraqa " in shown[-1][2] and "objmask " in shown[-1][2]


def test_plain_lines_in_a_log_never_glue_under_xdist(tmp_path):
    folder, data = project(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "pytest", "--data-dir", str(data),
                           "--report-dir", str(tmp_path / "out"), "-n", "2",
                           "--progress-every", "0.05"], cwd=folder, capture_output=True,
                          text=True, env=terminal_env(SLOW_S="0.05"), timeout=300)
    assert proc.returncode == 0, proc.stdout
    progress = [x for x in proc.stdout.splitlines() if "[dynbench]" in x]
    assert progress and all(x.startswith("[dynbench] ") for x in progress), progress
    assert "\x1b" not in proc.stdout  # no terminal control in a log


class FakeTW:
    def __init__(self) -> None:
        self.width_of_current_line = 0
        self.written: list[str] = []

    def line(self, text: str = "") -> None:
        self.written.append(text)
        self.width_of_current_line = 0


class FakeReporter:
    def __init__(self) -> None:
        self._tw = FakeTW()

    def ensure_newline(self) -> None:
        pass

    def write_line(self, text: str) -> None:
        self._tw.line(text)


def test_plain_lines_wait_for_the_end_of_the_dot_line():
    now = [0.0]
    reporter = FakeReporter()
    plain = PlainLines(reporter, every_s=10, clock=lambda: now[0])
    now[0] = 5
    assert not plain.maybe_write("a")  # not due
    now[0], reporter._tw.width_of_current_line = 12, 30
    assert not plain.maybe_write("b")  # due, but pytest is mid-line: wait
    reporter._tw.width_of_current_line = 0
    assert plain.maybe_write("c")  # the dot line ended
    now[0], reporter._tw.width_of_current_line = 35, 30
    assert plain.maybe_write("d")  # waited long enough: a new line, never glued
    assert reporter._tw.written == ["c", "", "d"]


def test_progress_line_text():
    now = [100.0]
    p = Progress(clock=lambda: now[0])
    p.total = 10
    for r in ({"status": "ok", "task": "qa", "kind": "qa", "correct": True},
              {"status": "ok", "task": "qa", "kind": "qa", "correct": False},
              {"status": "error", "task": "objmask", "kind": "mask", "jf": 0.0},
              {"status": "ok", "task": "objmask", "kind": "mask", "jf": 0.5},
              {"status": "n/a", "task": "cameramask", "kind": "mask"}):
        p.add(r)
    now[0] = 110.0
    assert p.line() == ("[dynbench] 5/10 cases | 0.50 cases/s | ETA 0m10s | qa 50.0 "
                        "objmask 25.0 | errors 1")


def test_outcome_words():
    assert outcome_word({"kind": "qa", "status": "ok", "correct": True})[0] == "CORRECT"
    assert outcome_word({"kind": "qa", "status": "ok", "correct": False, "extracted": "B",
                         "truth": "D"})[0] == "WRONG B vs D"
    assert outcome_word({"kind": "qa", "status": "ok", "unparsed": True})[0] == "UNPARSED"
    assert outcome_word({"kind": "mask", "status": "ok", "jf": 0.4123})[0] == "J&F 41.2"
    assert outcome_word({"kind": "mask", "status": "n/a"})[0] == "N/A"


def test_verbose_says_what_each_case_scored(tmp_path):
    folder, data = project(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-v", "--data-dir", str(data),
                           "--report-dir", str(tmp_path / "out")], cwd=folder,
                          capture_output=True, text=True, env=terminal_env(), timeout=300)
    cases = [x for x in proc.stdout.splitlines() if "test_dynbench.py::test_" in x]
    assert len(cases) == 28 and not any("PASSED" in x for x in cases)
    words = {re.search(r"\] (CORRECT|WRONG [A-D?] vs [A-D]|UNPARSED|J&F \d+\.\d)", x)
             is not None for x in cases}
    assert words == {True}, cases
    assert any(" J&F " in x for x in cases) and any(" WRONG " in x or " CORRECT" in x
                                                   for x in cases)
