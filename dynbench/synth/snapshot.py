"""Pack a generated dataset like the published hub snapshot (``--published``).

The published dataset (``yu2hi13/Dyn-Bench``) holds a dataset card, two parquet tables for
the hub's Dataset Viewer (``qa_tasks.parquet``: rows of the cameraqa/qa/sceneqa files;
``mask_tasks.parquet``: rows of the cameramask/objmask/scenemask files) and zip archives of
the ``frames/``, ``masks/`` and ``multi_json/`` folders. The tables are built here from the
JSON files directly (not through the suite's reader), so cross-checking them against what
the reader makes of ``multi_json/`` is a real comparison. Output is deterministic: sorted
members, fixed timestamps.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

from dynbench.synth.expressions import MASK_TASKS
from dynbench.synth.questions import QA_TASKS

ARCHIVES = ("frames", "masks", "multi_json")
EPOCH = (1980, 1, 1, 0, 0, 0)
CARD = """---
license: apache-2.0
configs:
  - config_name: qa_tasks
    data_files:
      - split: train
        path: qa_tasks.parquet
  - config_name: mask_tasks
    data_files:
      - split: train
        path: mask_tasks.parquet
---

# Dyn-Bench (synthetic stand-in)

Written by `dynbench generate --published`: laid out like the published snapshot, with
synthetic content. `qa_tasks.parquet` holds the rows of the QA task files,
`mask_tasks.parquet` those of the mask task files; `frames.zip`, `masks.zip` and
`multi_json.zip` hold the folders the benchmark reads.
"""


def pack_snapshot(data: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "README.md").write_text(CARD, encoding="utf-8")
    for name in ARCHIVES:
        _zip_folder(data, name, out / f"{name}.zip")
    qa, masks = _table_rows(data / "multi_json")
    _write_parquet(out / "qa_tasks.parquet", qa)
    _write_parquet(out / "mask_tasks.parquet", masks)


def _zip_folder(data: Path, name: str, archive: Path) -> None:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in _walk(data / name):
            arc = path.relative_to(data).as_posix()
            if _undecodable(arc):
                continue  # a zip member name must be text
            info = zipfile.ZipInfo(arc, EPOCH)
            if path.is_symlink():
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(info, os.readlink(path))
            elif path.is_dir():
                info.filename += "/"
                info.external_attr = (stat.S_IFDIR | 0o755) << 16
                zf.writestr(info, b"")
            else:
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED if arc.endswith(".json") \
                    else zipfile.ZIP_STORED
                zf.writestr(info, path.read_bytes())


def _walk(folder: Path) -> list[Path]:
    """Files, empty-or-fault folders and symlinks, sorted; symlinks are never followed."""
    found = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        path = Path(entry.path)
        if entry.is_symlink() or entry.is_file(follow_symlinks=False):
            found.append(path)
        elif entry.is_dir(follow_symlinks=False):
            inner = _walk(path)
            found.extend(inner if inner else [path])
    return found


def _undecodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _table_rows(base: Path) -> tuple[list[dict], list[dict]]:
    qa, masks = [], []
    for source in sorted(p for p in base.iterdir() if p.is_dir() and not p.is_symlink()):
        for path in sorted(source.glob("*.json")):
            if "frame_sampling" in path.name or path.is_symlink() or _undecodable(path.name):
                continue
            scene, _, task = path.stem.rpartition("_")
            try:
                payload = json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, RecursionError):
                continue  # messy files: not exported, exactly like a broken upstream export
            row = {"dataset": source.name, "scene": scene, "task": task}
            if task in QA_TASKS and isinstance(payload, list):
                qa += [{**row, "question_index": i, "question": q.get("question"),
                        "options": q.get("options"), "answer": q.get("answer")}
                       for i, q in enumerate(payload)]
            elif task in MASK_TASKS and isinstance(payload, dict):
                masks += [{**row, "object_id": key, "question": obj.get("question"),
                           "crop_caption": obj.get("crop_caption"),
                           "crop_category": obj.get("crop_category")}
                          for key, obj in payload.items()]
    return qa, masks


def _write_parquet(path: Path, rows: list[dict]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path)
