"""A run folder on disk: the one place that knows its layout, writes it and reads it back.

A benchmark run, a merge of shards and ``dynbench html`` write a folder; the gate, ``html``,
``compare`` and ``merge`` read one. Layout::

    report.json            pytest-json-report document + top-level "dynbench" section
    summary.json           the "dynbench" section alone
    samples.jsonl          one case record per line, sorted by case id
    samples.partial.jsonl  records appended while the run goes (gone once it finished)
    answers.jsonl          QA outputs in the --predictions layout
    masks/<case id>/frame_XXXX.png   predicted masks (--save-masks)
    thumbs/<case id>.png   small prediction strips for report.html
    report.html            the self-contained page
    shard.json             a --shard run: its shard, the plan and fingerprints (for merge)

Final files are written atomically (temp file + rename): a killed run never leaves half a
report, and they get the permissions the umask allows (like any file the user creates), so
colleagues on a shared server can read them when the umask says so. Reading errors are
:class:`RunFolderError`, naming the file and what is wrong.

Default run folders are ``reports/<model>/<run id>/``: the run id is the start time, and a
run that finds its id taken (two runs started in the same second) takes ``<time>-2``,
``-3``...; the folder is claimed with an atomic ``mkdir``, so no two runs share one. When a run
finished, ``reports/<model>/latest`` points to it, and reading ``reports/<model>`` means that
run (``--baseline reports/<model>``).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from dynbench.notices import warn

REPORT = "report.json"
SUMMARY = "summary.json"
SAMPLES = "samples.jsonl"
PARTIAL = "samples.partial.jsonl"
ANSWERS = "answers.jsonl"
HTML = "report.html"
SHARD = "shard.json"
MASKS = "masks"
THUMBS = "thumbs"
LATEST = "latest"  # in a model's folder: the link to its newest finished run


class RunFolderError(ValueError):
    """A run folder (or report file) that cannot be read."""


class ReportDirError(OSError):
    """A report folder that cannot be created or written; the message says which and why."""


# --- paths -------------------------------------------------------------------------------


def mask_dir(folder: Path, case_id: str) -> Path:
    """Where a case's predicted masks live (``frame_XXXX.png``, XXXX = source index)."""
    return Path(folder) / MASKS / case_id


def mask_file(folder: Path, case_id: str, index: int) -> Path:
    return mask_dir(folder, case_id) / f"frame_{index:04d}.png"


def thumb_file(folder: Path, case_id: str) -> Path:
    """A mask case's prediction strip for report.html."""
    return Path(folder) / THUMBS / f"{case_id}.png"


# --- writing -----------------------------------------------------------------------------


def atomic_write(path: Path, text: str) -> None:
    """Write to a temp file, then rename, so a killed run never leaves half a report."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, file_mode())  # mkstemp's 0600 would hide reports from colleagues
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(r, sort_keys=True, default=str) + "\n" for r in records)


def write_run_files(folder: Path, records: list[dict], summary: dict) -> None:
    """samples.jsonl (one line per case), summary.json, and answers.jsonl in the
    ``--predictions`` layout, so a run's outputs can be re-scored without the model."""
    folder = Path(folder)
    ordered = sorted(records, key=lambda r: r["id"])
    atomic_write(folder / SAMPLES, jsonl(ordered))
    atomic_write(folder / SUMMARY, json.dumps(summary, indent=2, default=str) + "\n")
    answers = [{"id": r["id"], "output": r["output"]} for r in ordered
               if r["kind"] == "qa" and r.get("output") is not None]
    atomic_write(folder / ANSWERS, jsonl(answers))
    (folder / PARTIAL).unlink(missing_ok=True)


def write_report(folder: Path, report: dict) -> Path:
    """report.json: the whole pytest-json-report document."""
    path = Path(folder) / REPORT
    atomic_write(path, json.dumps(report, indent=1, default=str) + "\n")
    return path


def write_shard(folder: Path, document: dict) -> Path:
    """shard.json of a ``--shard`` run."""
    path = Path(folder) / SHARD
    atomic_write(path, json.dumps(document, indent=1) + "\n")
    return path


class PartialSamples:
    """``samples.partial.jsonl``: one line per finished case, written as it lands, so a
    killed run loses nothing already computed. Opened on the first record. A failed write
    (full disk) keeps the records in memory, says so once and retries with the next record;
    :attr:`complete` tells whether every record reached the file."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / PARTIAL
        self._fd: int | None = None
        self._pending: list[bytes] = []
        self._torn = False
        self.error: OSError | None = None

    @property
    def complete(self) -> bool:
        return not self._pending and self.path.exists()

    def append(self, record: dict) -> None:
        self._pending.append((json.dumps(record, sort_keys=True, default=str) + "\n").encode())
        self.flush()

    def flush(self) -> None:
        try:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            if self._torn:  # end the line a failed write may have cut
                _write_all(self._fd, b"\n")
                self._torn = False
            while self._pending:
                self._torn = True
                _write_all(self._fd, self._pending[0])
                self._torn = False
                self._pending.pop(0)
        except OSError as exc:
            if self.error is None:
                warn(f"{self.path}: cannot write ({exc.strerror or exc}); case results are "
                     "kept in memory and written when space is back")
            self.error = exc

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


# --- naming and claiming folders ---------------------------------------------------------


def run_id(now: float | None = None) -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(now))


def claim_new(base: Path, stamp: str | None = None) -> Path:
    """Create and return a fresh ``base/<run id>`` that no other run can have."""
    stamp = stamp or run_id()
    for n in range(1, 10_000):
        folder = Path(base) / (stamp if n == 1 else f"{stamp}-{n}")
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


# --- reading -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """A finished run read back from disk: its folder, summary and case records."""

    folder: Path
    summary: dict
    records: list[dict]

    @property
    def label(self) -> str:
        model = self.summary.get("model", {})
        return str(model.get("label") or model.get("name") or self.folder.name)


def read_json(path: Path) -> dict:
    """A JSON object from a file; anything else is a :class:`RunFolderError`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise RunFolderError(f"{path}: expected a JSON object")
    return data


def _summary_from(doc: dict, path: Path) -> dict:
    if isinstance(doc.get("dynbench"), dict):
        return doc["dynbench"]
    if "tasks" in doc and "settings" in doc:
        return doc  # summary.json
    raise RunFolderError(f"{path} is not a dynbench report (no 'dynbench' section)")


def _finished(folder: Path) -> bool:
    return any((folder / f).is_file() for f in (REPORT, SUMMARY))


def resolve_run(path: Path) -> Path:
    """A run folder from what the user named: the folder itself, or for a model's folder
    (``reports/<model>``) its ``latest`` run, else its newest finished run."""
    if not path.is_dir() or _finished(path):
        return path
    latest = path / LATEST
    if latest.is_dir() and _finished(latest):
        return latest.resolve()
    runs = sorted((p for p in path.iterdir() if p.is_dir() and p.name != LATEST
                   and _finished(p)), key=_run_order)
    return runs[-1] if runs else path


def _run_order(folder: Path) -> tuple[str, int]:
    """``20250101-120000`` < ``20250101-120000-2`` < ``20250101-120000-10``."""
    stamp, rest = folder.name[:15], folder.name[15:]
    return (stamp, int(rest[1:]) if rest[:1] == "-" and rest[1:].isdigit() else 1)


def report_file(path: str | Path) -> Path:
    """The report file a path names: a run folder's report.json (else summary.json), the
    file itself, or for a model's folder its latest run's."""
    path = resolve_run(Path(path).expanduser())
    if path.is_dir():
        files = [f for f in (path / REPORT, path / SUMMARY) if f.is_file()]
        if not files:
            raise RunFolderError(f"{path} holds no {REPORT} or {SUMMARY}")
        return files[0]
    if path.is_file():
        return path
    raise RunFolderError(f"{path} does not exist (expected a report dir or {REPORT})")


def load_run(path: str | Path, *, samples: bool = True) -> Run:
    """A report dir, or its report.json / summary.json; ``samples`` also reads samples.jsonl."""
    file = report_file(path)
    summary = _summary_from(read_json(file), file)
    return Run(file.parent, summary, read_samples(file.parent) if samples else [])


def read_samples(folder: Path) -> list[dict]:
    """The case records of a finished run (samples.jsonl)."""
    path = Path(folder) / SAMPLES
    if not path.is_file():
        raise RunFolderError(f"{folder} has no {SAMPLES} (the per-case records)")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(f"cannot read {path}: {exc}") from None


def read_shard(folder: Path) -> dict | None:
    """A shard run's shard.json; ``None`` when the folder is not a shard's."""
    path = Path(folder) / SHARD
    return read_json(path) if path.is_file() else None
