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
report. Reading errors are :class:`RunFolderError`, naming the file and what is wrong.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPORT = "report.json"
SUMMARY = "summary.json"
SAMPLES = "samples.jsonl"
PARTIAL = "samples.partial.jsonl"
ANSWERS = "answers.jsonl"
HTML = "report.html"
SHARD = "shard.json"
MASKS = "masks"
THUMBS = "thumbs"


class RunFolderError(ValueError):
    """A run folder (or report file) that cannot be read."""


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
    """``samples.partial.jsonl``: one line per finished case, flushed as it lands, so a
    killed run loses nothing already computed. Opened on the first record."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / PARTIAL
        self._file = None

    def append(self, record: dict) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        self._file.write(json.dumps(record, sort_keys=True, default=str) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


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


def report_file(path: str | Path) -> Path:
    """The report file a path names: a run folder's report.json (else summary.json), or the
    file itself."""
    path = Path(path).expanduser()
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
