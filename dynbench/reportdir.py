"""A run's report folder: one folder per run, a ``latest`` link per model, readable files.

Default folders are ``reports/<model>/<run id>/``; the run id is the start time, and a run
that finds its id taken (two runs started in the same second) takes ``<time>-2``, ``-3``...:
the folder is claimed with an atomic ``mkdir``, so no two runs ever share one. When a run
finished, ``reports/<model>/latest`` points to it, and ``--baseline reports/<model>`` means
that run. Files get the permissions the umask allows (like any file the user creates), so
colleagues on a shared server can read them when the umask says so.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

LATEST = "latest"
REPORT_FILES = ("report.json", "summary.json")


class ReportDirError(OSError):
    """The report folder cannot be created or written; the message says which and why."""


def run_id(now: float | None = None) -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(now))


def claim_new(base: Path, stamp: str | None = None) -> Path:
    """Create and return a fresh ``base/<run id>`` that no other run can have."""
    stamp = stamp or run_id()
    for n in range(1, 10_000):
        folder = base / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            folder.mkdir(parents=True)
        except FileExistsError:
            continue
        except OSError as exc:
            raise _unwritable(folder, exc) from None
        return folder
    raise ReportDirError(f"report folder {base}: no free run id for {stamp}")


def ensure_writable(folder: Path) -> Path:
    """Create ``folder`` if needed and prove a file can be written there."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-test.")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise _unwritable(folder, exc) from None
    return folder


def _unwritable(folder: Path, exc: OSError) -> ReportDirError:
    return ReportDirError(f"report folder {folder} cannot be written ({exc.strerror or exc}); "
                          "choose another with --report-dir DIR")


def point_latest(folder: Path) -> None:
    """``<model folder>/latest`` -> this run (a relative link, replaced atomically)."""
    link = folder.parent / LATEST
    tmp = folder.parent / f".{LATEST}.{os.getpid()}"
    tmp.unlink(missing_ok=True)
    os.symlink(folder.name, tmp)
    os.replace(tmp, link)


def resolve_run(path: Path) -> Path:
    """A run folder from what the user named: the folder itself, or for a model folder
    (``reports/<model>``) its ``latest`` run, else its newest finished run."""
    if not path.is_dir() or any((path / f).is_file() for f in REPORT_FILES):
        return path
    latest = path / LATEST
    if latest.is_dir() and any((latest / f).is_file() for f in REPORT_FILES):
        return latest.resolve()
    runs = sorted((p for p in path.iterdir() if p.is_dir() and p.name != LATEST
                   and any((p / f).is_file() for f in REPORT_FILES)), key=_run_order)
    return runs[-1] if runs else path


def _run_order(folder: Path) -> tuple[str, int]:
    """``20250101-120000`` < ``20250101-120000-2`` < ``20250101-120000-10``."""
    stamp, rest = folder.name[:15], folder.name[15:]
    return (stamp, int(rest[1:]) if rest[:1] == "-" and rest[1:].isdigit() else 1)


def current_umask() -> int:
    """The process umask, read without changing it where Linux allows."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a plain ``open()`` would give a new file."""
    return 0o666 & ~current_umask()
