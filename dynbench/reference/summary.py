"""The report's reference section: convention counts, skipped cases, official scores.

``score_exact`` is the task score computed the way the official code computes it (numpy
mean of the per-case values, times 100), so it can be compared with the official
numbers to floating-point precision; ``score`` is the suite's own full-precision mean (it may
differ from it in the last digits).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from dynbench.reference import CONVENTIONS
from dynbench.tasks import TASKS

SKIPPED = "skipped"
SHOWN_SKIPS = 5


def check_options(*, jf_mode: str | None, qa_mode: str | None) -> None:
    """Settings the official code has no counterpart for are refused, not half-honoured."""
    if jf_mode == "davis":
        raise ValueError("--protocol reference scores masks with the official boundary "
                         "measure; drop --jf-mode davis (or use --protocol fair)")
    if qa_mode == "logits":
        raise ValueError("--protocol reference generates answers as the official code does; "
                         "drop --qa-mode logits (or use --protocol fair)")


def counts(records: list[dict]) -> dict[str, int]:
    """How many cases each convention changed, in the order of ``CONVENTIONS``."""
    found = Counter(name for r in records for name in r.get("reference_conventions") or ())
    return {name: found[name] for name in CONVENTIONS if found[name]}


def case_value(record: dict) -> float:
    if TASKS[record["task"]].kind == "qa":
        return 1.0 if record.get("correct") else 0.0
    return float(record.get("jf") or 0.0)


def exact_score(records: list[dict]) -> float | None:
    """The official task score: np.mean of the per-case values, times 100."""
    values = [case_value(r) for r in records
              if r["status"] not in ("n/a", SKIPPED) and not r.get("file_problem")]
    return float(np.mean(values)) * 100 if values else None


def annotate(summary: dict, records: list[dict]) -> None:
    """Add the reference section to an aggregated summary (in place)."""
    by_task: dict[str, list[dict]] = {}
    for r in records:
        by_task.setdefault(r["task"], []).append(r)
    for task, entry in summary["tasks"].items():
        mine = by_task.get(task, [])
        entry["reference_conventions"] = counts(mine)
        entry["skipped"] = sum(r["status"] == SKIPPED for r in mine)
        entry["score_exact"] = exact_score(mine)
    exact = [summary["tasks"][t]["score_exact"] for t in summary["overall"]["entered"]]
    summary["overall"]["score_exact"] = float(np.mean(exact)) if exact else None
    skipped = [{"id": r["id"], "reason": r.get("reason")} for r in records
               if r["status"] == SKIPPED]
    summary["reference_conventions"] = counts(records)
    summary["skipped"] = sorted(skipped, key=lambda s: s["id"])
    summary["counts"]["skipped"] = len(skipped)


def render_lines(summary: dict) -> list[str]:
    """Terminal lines: which conventions changed how many cases, and what was skipped."""
    named = summary.get("reference_conventions") or {}
    text = ", ".join(f"{k} {v}" for k, v in named.items()) or "none"
    lines = [f"reference conventions (cases they changed vs fair): {text}"]
    skipped = summary.get("skipped") or []
    if skipped:
        ids = ", ".join(s["id"] for s in skipped[:SHOWN_SKIPS])
        more = f" and {len(skipped) - SHOWN_SKIPS} more" if len(skipped) > SHOWN_SKIPS else ""
        lines.append(f"skipped as the official code does, not counted: {len(skipped)} case(s): "
                     f"{ids}{more} ({skipped[0]['reason']})")
    return lines
