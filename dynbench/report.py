"""Aggregate case records into task / dimension / overall scores; the terminal table.

Pure functions over plain records, so the same code serves a live run, xdist and re-reading
a saved ``samples.jsonl``.
"""

from __future__ import annotations

from typing import Any

from dynbench import stats
from dynbench.tasks import DIMENSION_TITLES, DIMENSIONS, TASK_ORDER, TASKS


def pct(x: float | None) -> float | None:
    return None if x is None else round(100.0 * x, 4)


def task_summary(task: str, records: list[dict]) -> dict[str, Any]:
    """Score of one task. Errors score 0 and stay in n; not-applicable cases never count."""
    in_score = [r for r in records if r["status"] not in ("n/a", "skipped")
                and not r.get("file_problem")]
    entry: dict[str, Any] = {
        "metric": TASKS[task].metric, "n": len(in_score),
        "errors": sum(r["status"] == "error" for r in records),
        "not_applicable": sum(r["status"] == "n/a" for r in records),
    }
    if TASKS[task].kind == "qa":
        correct = sum(bool(r.get("correct")) for r in in_score)
        entry["correct"] = correct
        entry["unparsed"] = sum(bool(r.get("unparsed")) for r in in_score)
        entry["score"] = pct(correct / len(in_score)) if in_score else None
        interval = stats.wilson_interval(correct, len(in_score))
    else:
        values = [float(r.get("jf") or 0.0) for r in in_score]
        entry["score"] = pct(stats.mean(values))
        entry["j"] = pct(stats.mean([float(r.get("j") or 0.0) for r in in_score]))
        entry["f"] = pct(stats.mean([float(r.get("f") or 0.0) for r in in_score]))
        entry["unparsed"] = 0
        entry["no_mask"] = sum(r.get("mask_produced") is False for r in in_score)
        interval = stats.mean_interval(values)
        if interval is not None:  # a mean of values in [0, 1] cannot leave [0, 1]
            interval = stats.Interval(max(0.0, interval.low), min(1.0, interval.high))
    entry["ci95"] = None if interval is None else [pct(interval.low), pct(interval.high)]
    return entry


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
        row: dict[str, Any] = {"title": DIMENSION_TITLES[dim]}
        for name, task in TASKS.items():
            if task.dimension != dim:
                continue
            score = tasks.get(name, {}).get("score")
            row[task.kind] = score
            if score is not None:
                entered.append(name)
        dimensions[dim] = row
    scores = [tasks[t]["score"] for t in entered]
    errors = [{"id": r["id"], "message": r.get("error")} for r in records
              if r["status"] == "error"]
    settings = {**settings, "dataset_fingerprint": fingerprint(records)}
    summary = {
        "model": model, "settings": settings, "tasks": tasks, "dimensions": dimensions,
        "overall": {"score": round(sum(scores) / len(scores), 4) if scores else None,
                    "entered": entered},
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
    return f"{entry['score']:.1f}{ci_text} n={entry['n']}"


def render_table(summary: dict) -> list[str]:
    """Per-dimension table for the terminal."""
    tasks = summary["tasks"]
    lines = [f"{'dimension':<15} {'QA accuracy %':<28} {'mask J&F %':<28}"]
    for dim in DIMENSIONS:
        qa = next(t for t, s in TASKS.items() if s.dimension == dim and s.kind == "qa")
        mask = next(t for t, s in TASKS.items() if s.dimension == dim and s.kind == "mask")
        lines.append(f"{DIMENSION_TITLES[dim]:<15} {fmt_score(tasks.get(qa)):<28} "
                     f"{fmt_score(tasks.get(mask)):<28}")
    overall = summary["overall"]
    score = "n/a" if overall["score"] is None else f"{overall['score']:.1f}"
    lines.append(f"{'overall':<15} {score} (mean of {len(overall['entered'])} task scores: "
                 f"{', '.join(overall['entered']) or 'none'})")
    c = summary["counts"]
    lines.append(f"cases {c['cases']}  errors {c['errors']}  unparsed answers {c['unparsed']}  "
                 f"not applicable {c['not_applicable']}")
    if "reference_conventions" in summary:
        from dynbench.reference.summary import render_lines

        lines += render_lines(summary)
    return lines
