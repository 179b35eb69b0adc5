"""``--resume``: reuse finished case results across interrupted runs.

A cached result is reused only when everything it depends on is unchanged: the model's
identity (name, revision or a fingerprint of its files, family, dtype, generation settings,
frames shown), the case's content hash, the scoring settings, the dynbench version and the
scoring code itself (a digest of answer extraction and J&F). Each process appends to its own
file, one fsync'd JSON line per case, so many xdist workers can write at once and a
``kill -9`` can at worst leave one torn last line, which reading skips; lines that are not
case records (someone else's file) are skipped with a warning. A mask case's prediction strip
and, for ``--save-masks``, its masks are kept beside the records and copied into the new
report folder when the case is reused, so that folder is complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from dynbench import runfolder
from dynbench.modelspec import ModelSpec
from dynbench.notices import warn

SCORING_MODULES = ("dynbench.answers", "dynbench.scoring", "dynbench.metrics")

IDENTITY_FIELDS = ("name", "alias", "adapter", "torch_dtype", "attn_implementation",
                   "revision", "device_map", "max_frames", "generation", "seed")


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def folder_fingerprint(folder: Path) -> str:
    """Names, sizes and modification times of a checkpoint's files: changes when weights do,
    without reading gigabytes."""
    entries = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            st = path.stat()
            entries.append((path.relative_to(folder).as_posix(), st.st_size, st.st_mtime_ns))
    return _digest(entries)[:16]


def model_key(spec: ModelSpec, family: str, predictions: str | None) -> str:
    """The model's identity for caching purposes (the device it runs on is not part of it)."""
    identity: dict[str, Any] = {f: getattr(spec, f) for f in IDENTITY_FIELDS}
    identity["family"] = family
    if predictions:
        identity["predictions"] = folder_fingerprint(Path(predictions))
    elif spec.path is not None:
        identity["weights"] = folder_fingerprint(spec.path)
    return _digest(identity)[:20]


def scoring_code_version() -> str:
    """A digest of the code that turns outputs into scores: any change to it (a new answer
    form, a J&F fix) invalidates cached verdicts."""
    import importlib

    h = hashlib.sha256()
    for name in SCORING_MODULES:
        h.update(Path(importlib.import_module(name).__file__).read_bytes())
    return h.hexdigest()[:12]


def scoring_key(scoring: dict) -> str:
    from dynbench import __version__

    return _digest({**scoring, "dynbench": __version__,
                    "scoring_code": scoring_code_version()})[:12]


def is_case_record(value: Any) -> bool:
    return (isinstance(value, dict) and isinstance(value.get("id"), str)
            and isinstance(value.get("content_hash"), str) and value.get("status") == "ok")


class ResumeCache:
    """Finished records of one (model, scoring) combination."""

    def __init__(self, root: Path, model: str, scoring: str, writer: str) -> None:
        self.folder = root / model / scoring
        self.writer = writer
        self._done: dict[tuple[str, str], dict] | None = None
        self._file = None
        self._broken = False

    def _load(self) -> dict[tuple[str, str], dict]:
        done: dict[tuple[str, str], dict] = {}
        if self.folder.is_dir():
            for path in sorted(self.folder.glob("*.jsonl")):
                lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
                foreign = 0
                for n, line in enumerate(lines, 1):
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        foreign += n < len(lines)  # only a kill's torn last line is expected
                        continue
                    if not is_case_record(record):
                        foreign += 1
                        continue
                    done[(record["id"], record["content_hash"])] = record
                if foreign:
                    warn(f"resume cache {path}: skipped {foreign} line(s) that are not "
                         "dynbench case records")
        return done

    def get(self, case_id: str, content_hash: str) -> dict | None:
        if self._done is None:
            self._done = self._load()
        return self._done.get((case_id, content_hash))

    def put(self, record: dict, report_dir: Path | None = None) -> None:
        """Keep only clean results (errors are retried on the next run), with the case's
        prediction files from ``report_dir``. A cache that cannot be written (full disk) is
        said once and no longer used; the record itself is never lost (the report has it)."""
        if record.get("status") != "ok" or self._broken:
            return
        try:
            if report_dir is not None:
                self._store(record["id"], report_dir)
            if self._file is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._file = open(self.folder / f"{self.writer}.jsonl", "a",  # noqa: SIM115
                                  encoding="utf-8")
            self._file.write(json.dumps(record, sort_keys=True, default=str) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            self._broken = True
            warn(f"resume cache {self.folder} cannot be written ({exc.strerror or exc}); "
                 "results from here on are not cached (the report still has them)")

    @property
    def files(self) -> Path:
        return self.folder / "files"

    def restore(self, record: dict, report_dir: Path | None, *, masks: bool) -> bool:
        """Copy a cached mask case's files into the new report folder. False when the run
        needs its masks (``--save-masks``) but the cache has none: recompute the case."""
        if record.get("kind") != "mask" or report_dir is None:
            return True
        kept = self.files / record["id"]
        if masks and not (kept / "masks").is_dir():
            return False
        try:
            self._restore(record["id"], report_dir, masks)
        except OSError:
            return False
        return True

    def _outputs(self, case_id: str, report_dir: Path) -> list[tuple[Path, Path, bool]]:
        """(file in a report folder, its copy in the cache, is-masks) for one case."""
        kept = self.files / case_id
        return [(runfolder.thumb_file(report_dir, case_id), kept / "thumb.png", False),
                (runfolder.mask_dir(report_dir, case_id), kept / "masks", True)]

    def _store(self, case_id: str, report_dir: Path) -> None:
        for in_report, in_cache, _ in self._outputs(case_id, report_dir):
            _copy(in_report, in_cache)

    def _restore(self, case_id: str, report_dir: Path, masks: bool) -> None:
        for in_report, in_cache, is_masks in self._outputs(case_id, report_dir):
            if masks or not is_masks:
                _copy(in_cache, in_report)


def _copy(source: Path, target: Path) -> None:
    if source.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    elif source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
