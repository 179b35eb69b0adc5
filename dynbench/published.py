"""The published snapshot's parquet tables (``qa_tasks.parquet``, ``mask_tasks.parquet``).

The Hugging Face dataset ``yu2hi13/Dyn-Bench`` exports the same samples as ``multi_json/``
into two tables for the hub's Dataset Viewer. The benchmark reads ``multi_json/`` (what the
official evaluation code reads); these tables are only cross-checked against it, so a
disagreement between the two exports is visible instead of silently picking one.

The tables' column names are not documented; columns are found by the names below
(first match wins) and a table whose columns cannot be found is reported, not guessed.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from dynbench.data import Case, _truth_letter, number_text
from dynbench.tasks import TASKS

QA_TABLE, MASK_TABLE = "qa_tasks.parquet", "mask_tasks.parquet"
COLUMNS = {
    "source": ("dataset", "source", "source_dataset", "dataset_name"),
    "scene": ("scene", "scene_name", "video", "video_name", "video_id"),
    "task": ("task", "task_type", "task_suffix", "type"),
    "question": ("question",),
    "answer": ("answer",),
    "object": ("object_id", "obj_id", "object", "obj"),
}
NEEDED = {QA_TABLE: ("source", "scene", "task", "question", "answer"),
          MASK_TABLE: ("source", "scene", "task", "object", "question")}
VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".mov", ".avi")


def read_table(path: Path) -> list[dict]:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


def columns_of(rows: list[dict], table: str) -> dict[str, str] | str:
    """Our field -> the table's column, or the message saying which field has no column."""
    present = list(rows[0]) if rows else []
    found = {field: next((c for c in names if c in present), None)
             for field, names in COLUMNS.items()}
    missing = [f for f in NEEDED[table] if found[f] is None]
    if missing:
        return (f"{table}: cannot cross-check with multi_json/: no column for "
                f"{', '.join(missing)} among {present}")
    return {f: c for f, c in found.items() if c}


def cross_check(root: Path, cases: list[Case]) -> list[tuple[str, str]]:
    """(table, message) for every disagreement between a table in ``root`` and the cases."""
    findings = []
    for table, kind in ((QA_TABLE, "qa"), (MASK_TABLE, "mask")):
        path = root / table
        if not path.is_file():
            continue
        try:
            rows = read_table(path)
        except ImportError:
            findings.append((table, "pyarrow is not installed: not cross-checked"))
            continue
        except Exception as exc:  # noqa: BLE001 - a broken table is a finding, not a crash
            findings.append((table, f"cannot be read ({type(exc).__name__}: {exc})"))
            continue
        findings.extend((table, m) for m in _compare(rows, table, kind, cases))
    return findings


def _compare(rows: list[dict], table: str, kind: str, cases: list[Case]) -> list[str]:
    if not rows:
        return [f"{table}: holds no rows"]
    cols = columns_of(rows, table)
    if isinstance(cols, str):
        return [cols]
    published = Counter(_row_key(row, cols, kind) for row in rows)
    ours = Counter(_case_key(c) for c in cases if c.kind == kind and not c.problem)
    only_table = sorted((published - ours).elements(), key=repr)
    only_json = sorted((ours - published).elements(), key=repr)
    out = []
    if only_table:
        out.append(f"{table}: {len(only_table)} row(s) match no multi_json/ case, e.g. "
                   f"{_describe(only_table[0])}")
    if only_json:
        out.append(f"{table}: {len(only_json)} multi_json/ case(s) have no matching row, e.g. "
                   f"{_describe(only_json[0])}")
    return out


def _row_key(row: dict, cols: dict[str, str], kind: str) -> tuple:
    source = str(row[cols["source"]]).strip()
    scene = _scene_name(str(row[cols["scene"]]), source)
    task = str(row[cols["task"]]).strip()
    question = str(row[cols["question"]] or "").strip()
    if kind == "qa":
        return (source, scene, task, question, _truth_letter(_text(row[cols["answer"]])))
    number = "".join(ch for ch in str(row[cols["object"]]).rpartition("_")[2] if ch.isdigit())
    return (source, scene, task, question, number_text(number) if number else None)


def _case_key(case: Case) -> tuple:
    last = case.truth if case.kind == "qa" else case.obj
    return (case.source, case.scene, case.task, case.question.strip(), last)


def _scene_name(value: str, source: str) -> str:
    """``<source>/<scene>.mp4`` or ``<scene>`` -> ``<scene>``."""
    name = value.strip().rsplit("/", 1)[-1]
    for suffix in VIDEO_SUFFIXES:
        name = name.removesuffix(suffix)
    return name


def _text(value) -> str | None:
    return value if isinstance(value, str) else None


def _describe(key: tuple) -> str:
    source, scene, task, question, last = key
    task = task if task in TASKS else repr(task)
    return f"{source}/{scene} {task} {question[:60]!r} ({last})"

