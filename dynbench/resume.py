"""``--resume``: reuse finished case results across interrupted runs.

A cached result is reused only when everything it depends on is unchanged: the model's
identity (name, revision or a fingerprint of its files, family, dtype, generation settings,
frames shown), the case's content hash and the scoring settings. Each process appends to
its own file, one fsync'd JSON line per case, so many xdist workers can write at once and a
``kill -9`` can at worst leave one torn last line, which reading skips.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from dynbench.modelspec import ModelSpec

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


def scoring_key(scoring: dict) -> str:
    return _digest(scoring)[:12]


class ResumeCache:
    """Finished records of one (model, scoring) combination."""

    def __init__(self, root: Path, model: str, scoring: str, writer: str) -> None:
        self.folder = root / model / scoring
        self.writer = writer
        self._done: dict[tuple[str, str], dict] | None = None
        self._file = None

    def _load(self) -> dict[tuple[str, str], dict]:
        done: dict[tuple[str, str], dict] = {}
        if self.folder.is_dir():
            for path in sorted(self.folder.glob("*.jsonl")):
                for line in path.read_text(encoding="utf-8").splitlines():
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a line torn by a kill
                    done[(record["id"], record.get("content_hash"))] = record
        return done

    def get(self, case_id: str, content_hash: str) -> dict | None:
        if self._done is None:
            self._done = self._load()
        return self._done.get((case_id, content_hash))

    def put(self, record: dict) -> None:
        """Keep only clean results: errors are retried on the next run."""
        if record.get("status") != "ok":
            return
        if self._file is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._file = open(self.folder / f"{self.writer}.jsonl", "a",  # noqa: SIM115
                              encoding="utf-8")
        self._file.write(json.dumps(record, sort_keys=True, default=str) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
