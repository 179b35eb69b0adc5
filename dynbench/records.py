"""What a case record means to the statistics: its video (cluster) and the value it scores.

One definition shared by the task scores (report), the regression gate and any
recomputation from ``samples.jsonl``. Light on purpose (no numpy, no scipy): the gate module
is imported by the plugin in every pytest session.
"""

from __future__ import annotations

from dynbench.tasks import TASKS

NOT_SCORED = ("n/a", "skipped")  # not applicable; skipped as the official code does


def video_of(record: dict) -> str:
    """The record's video, ``<source>/<scene>``: the cluster of the intervals and the gate.

    Records carry it as ``"video"``; older runs lack the field, so it is read from
    ``source``/``scene`` or from the case id ``<task>/<source>/<scene>/<case>``.
    """
    video = record.get("video")
    if video:
        return str(video)
    if record.get("source") is not None and record.get("scene") is not None:
        return f"{record['source']}/{record['scene']}"
    parts = str(record["id"]).split("/")
    return "/".join(parts[1:-1]) if len(parts) >= 3 else str(record["id"])


def is_scored(record: dict) -> bool:
    """Counts in its task's score: a benchmark task, applicable and not skipped, not a
    broken-file entry."""
    return (record.get("task") in TASKS and record.get("status") not in NOT_SCORED
            and not record.get("file_problem"))


def case_value(record: dict) -> float:
    """What a case scores, as the task score counts it: correct 1 / wrong 0, or its J&F;
    an errored case scores 0."""
    if record.get("status") == "error":
        return 0.0
    if TASKS[record["task"]].kind == "qa":
        return 1.0 if record.get("correct") else 0.0
    return float(record.get("jf") or 0.0)
