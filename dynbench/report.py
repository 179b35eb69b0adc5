"""Aggregate case records into task / dimension / overall scores; the terminal table.

Pure functions over plain records, so the same code serves a live run, xdist and re-reading
a saved ``samples.jsonl``.
"""

from __future__ import annotations

import math
from typing import Any

from dynbench import stats
from dynbench.records import case_value, is_scored, video_of
from dynbench.tasks import DIMENSION_TITLES, DIMENSIONS, TASK_ORDER, TASKS


def pct(x: float | None) -> float | None:
    """A fraction in percent, at full float precision (rounding is for display only)."""
    return None if x is None else 100.0 * x


def _pct_interval(interval: stats.Interval | None) -> list[float] | None:
    return None if interval is None else [pct(interval.low), pct(interval.high)]


def task_summary(task: str, records: list[dict]) -> dict[str, Any]:
    """Score of one task. Errors score 0 and stay in n; not-applicable and skipped cases
    never count.

    ``ci95`` is clustered by video (see ``dynbench.stats``), ``ci95_iid`` treats every case
    as independent; ``clusters`` is the number of videos, ``design_effect`` the variance
    ratio of the two."""
    in_score = [r for r in records if is_scored(r)]
    values = [case_value(r) for r in in_score]
    videos = [video_of(r) for r in in_score]
    entry: dict[str, Any] = {
        "metric": TASKS[task].metric, "n": len(in_score),
        "errors": sum(r["status"] == "error" for r in records),
        "not_applicable": sum(r["status"] == "n/a" for r in records),
    }
    if TASKS[task].kind == "qa":
        correct = sum(bool(v) for v in values)
        entry.update(correct=correct, unparsed=sum(bool(r.get("unparsed")) for r in in_score))
        clustered = stats.clustered_accuracy(values, videos)
        independent = stats.wilson_interval(correct, len(values))
    else:
        entry["j"] = pct(stats.mean([float(r.get("j") or 0.0) for r in in_score]))
        entry["f"] = pct(stats.mean([float(r.get("f") or 0.0) for r in in_score]))
        entry["unparsed"] = 0
        entry["no_mask"] = sum(r.get("mask_produced") is False for r in in_score)
        clustered = stats.clustered_mean(values, videos)
        independent = _clipped(stats.mean_interval(values))
    entry.update(score=pct(clustered.mean), ci95=_pct_interval(clustered.interval),
                 ci95_iid=_pct_interval(independent), clusters=clustered.clusters,
                 design_effect=clustered.design_effect)
    return entry


def _clipped(interval: stats.Interval | None) -> stats.Interval | None:
    """A mean of values in [0, 1] cannot leave [0, 1]."""
    if interval is None:
        return None
    return stats.Interval(max(0.0, interval.low), min(1.0, interval.high))


DIMENSION_COMBINED = ("not combined: 'qa' is the QA task's accuracy and 'mask' the mask "
                      "task's J&F, each with its own interval (different metrics)")
OVERALL_COMBINED = ("unweighted mean of the entered task scores (percent); no interval "
                    "(the task intervals are clustered by video)")


def aggregate(records: list[dict], *, model: dict, settings: dict) -> dict[str, Any]:
    """The ``dynbench`` section of report.json. Records are taken in case-id order, so the
    result does not depend on the order cases finished in (-n, shards, resume)."""
    records = sorted(records, key=lambda r: r["id"])
    by_task: dict[str, list[dict]] = {}
    for r in records:
        by_task.setdefault(r["task"], []).append(r)
    tasks = {t: task_summary(t, by_task[t]) for t in TASK_ORDER if t in by_task}
    dimensions, entered = {}, []
    for dim in DIMENSIONS:
        row: dict[str, Any] = {"title": DIMENSION_TITLES[dim], "tasks": {}}
        for name, task in TASKS.items():
            if task.dimension != dim:
                continue
            score = tasks.get(name, {}).get("score")
            row[task.kind] = score
            row["tasks"][task.kind] = name
            if score is not None:
                entered.append(name)
        dimensions[dim] = {**row, "combined": DIMENSION_COMBINED}
    scores = [tasks[t]["score"] for t in entered]
    errors = [{"id": r["id"], "message": r.get("error")} for r in records
              if r["status"] == "error"]
    settings = {**settings, "dataset_fingerprint": fingerprint(records)}
    summary = {
        "model": model, "settings": settings, "tasks": tasks, "dimensions": dimensions,
        "overall": {"score": math.fsum(scores) / len(scores) if scores else None,
                    "entered": entered, "combined": OVERALL_COMBINED},
        "counts": {"cases": len(records), "errors": len(errors),
                   "not_applicable": sum(r["status"] == "n/a" for r in records),
                   "unparsed": sum(bool(r.get("unparsed")) for r in records)},
        "errors": errors,
        "other": sorted({r["task"] for r in records} - set(TASKS)),
    }
    if settings.get("protocol") == "reference":
        from dynbench.reference.summary import annotate

        annotate(summary, records)
    return summary


def fingerprint(records: list[dict]) -> str:
    """One hash of the evaluated cases (ids + content hashes): equal data, equal print."""
    import hashlib

    h = hashlib.sha256()
    for r in sorted(records, key=lambda r: r["id"]):
        h.update(f"{r['id']}:{r.get('content_hash')}\n".encode())
    return h.hexdigest()[:16]


def fmt_score(entry: dict | None) -> str:
    if not entry:
        return "-"
    if entry.get("score") is None:
        return "n/a"
    ci = entry.get("ci95")
    ci_text = f" [{ci[0]:.1f}-{ci[1]:.1f}]" if ci else ""
    videos = f" v={entry['clusters']}" if entry.get("clusters") is not None else ""
    return f"{entry['score']:.1f}{ci_text} n={entry['n']}{videos}"


def render_table(summary: dict) -> list[str]:
    """Per-dimension table for the terminal."""
    tasks = summary["tasks"]
    lines = [f"{'dimension':<15} {'QA accuracy %':<32} mask J&F %"]
    for dim in DIMENSIONS:
        qa = next(t for t, s in TASKS.items() if s.dimension == dim and s.kind == "qa")
        mask = next(t for t, s in TASKS.items() if s.dimension == dim and s.kind == "mask")
        lines.append(f"{DIMENSION_TITLES[dim]:<15} {fmt_score(tasks.get(qa)):<32} "
                     f"{fmt_score(tasks.get(mask)):<32}".rstrip())
    overall = summary["overall"]
    score = "n/a" if overall["score"] is None else f"{overall['score']:.1f}"
    lines.append(f"{'overall':<15} {score} (mean of {len(overall['entered'])} task scores: "
                 f"{', '.join(overall['entered']) or 'none'})")
    lines.append("[low-high]: 95% interval clustered by video; n = cases, v = videos")
    c = summary["counts"]
    lines.append(f"cases {c['cases']}  errors {c['errors']}  unparsed answers {c['unparsed']}  "
                 f"not applicable {c['not_applicable']}")
    if "reference_conventions" in summary:
        from dynbench.reference.summary import render_lines

        lines += render_lines(summary)
    return lines
