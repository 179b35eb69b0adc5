"""``report.html``: one self-contained page per run (no external JS, CSS or fonts).

Shows the run facts, per-dimension scores with intervals, a per-task bar chart (inline SVG),
the gate verdict, errors grouped by type, the latency distribution and a sample browser
(vanilla JS, filters kept in the URL hash, rows rendered lazily in pages) with QA prompts and
outputs, per-frame J&F curves and, for the lowest-J&F mask cases of each task, frame strips
(image | ground truth | prediction | overlay).

The page is a Jinja2 template with auto-escaping (``templates/report.html.j2``): every value
from a report folder, which may come from anyone, is text, never markup; numbers are
formatted here and anything that is not a number is shown as text. The case data the script
reads is JSON in a ``<script type="application/json">`` element with every ``<`` escaped.
Rendering is pure (:func:`render_html`); only :func:`write_html` touches the disk. The page
sets ``data-js="ok"`` on ``<html>`` once its script ran and ``data-js-error`` when a script
error happened, so tests can check it.
"""

from __future__ import annotations

import bisect
import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from dynbench import runfolder
from dynbench.tasks import DIMENSION_TITLES, DIMENSIONS, TASK_ORDER, TASKS

STRIP_CASES_PER_TASK = 48  # mask cases per task that get frame strips (lowest J&F first)
TEXT_LIMIT = 4000  # characters of a prompt or output kept in the page
ERRORS_PER_GROUP = 100  # error rows shown per error type
OUTCOMES = ("correct", "wrong", "unparsed", "error", "n/a", "mask")
OUTCOME_TITLES = {"correct": "correct", "wrong": "wrong", "unparsed": "unparsed",
                  "error": "error", "n/a": "n/a", "mask": "mask (J&F scored)"}
TEMPLATES = Path(__file__).resolve().parent / "templates"


# --- numbers from untrusted reports ---------------------------------------------------------


def number(x: Any) -> float | None:
    """A finite float, or None for anything else (a tampered report may hold any JSON)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x) if math.isfinite(x) else None


def fmt(x: Any, spec: str = ".1f", signed: bool = False) -> str:
    """A number formatted, ``-`` for None, anything else as its text (escaped later)."""
    if x is None:
        return "-"
    value = number(x)
    if value is None:
        return str(x)
    return format(value, ("+" if signed else "") + spec)


# --- pure helpers -------------------------------------------------------------------------


def outcome(record: dict) -> str:
    """What the sample browser filters on."""
    if record.get("status") == "error":
        return "error"
    if record.get("status") in ("n/a", "skipped"):
        return "n/a"
    if record.get("kind") == "qa":
        if record.get("unparsed"):
            return "unparsed"
        return "correct" if record.get("correct") else "wrong"
    return "mask"


def worst_first_rank(record: dict) -> float:
    """Sort key for "worst first": errors, then wrong answers / low J&F, n/a last."""
    kind = outcome(record)
    if kind == "error":
        return -1.0
    if kind == "n/a":
        return 2.0
    if record.get("kind") == "qa":
        return 1.0 if record.get("correct") else 0.0
    return number(record.get("jf")) or 0.0


def strip_candidates(records: list[dict], per_task: int = STRIP_CASES_PER_TASK) -> list[dict]:
    """Mask cases that get frame strips: the lowest J&F of each task, capped per task."""
    chosen: list[dict] = []
    for task in TASK_ORDER:
        cases = [r for r in records if r.get("task") == task and r.get("kind") == "mask"
                 and r.get("status") not in ("n/a", "skipped") and not r.get("file_problem")]
        chosen += sorted(cases, key=lambda r: (worst_first_rank(r), str(r["id"])))[:per_task]
    return chosen


def _clip(text: Any) -> str | None:
    if text is None:
        return None
    text = str(text)
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT] + f" … [{len(text)} chars]"


def _pct(x: Any) -> str | None:
    value = number(x)
    return None if value is None else f"{100.0 * value:.1f}"


def frame_curve(record: dict) -> list[list[float]] | None:
    """[[frame, J, F], ...] of a mask case, for the per-frame J&F plot."""
    frames, js, fs = (record.get(k) for k in ("frames", "per_frame_j", "per_frame_f"))
    if not all(isinstance(v, list) for v in (frames, js, fs)) or not js or \
            not len(frames) == len(js) == len(fs):
        return None
    points = [[number(a), number(b), number(c)] for a, b, c in zip(frames, js, fs, strict=True)]
    if any(None in p for p in points):
        return None
    return [[int(a), round(b, 4), round(c, 4)] for a, b, c in points]


def sample_entry(record: dict, strip: list[dict] | str | None) -> dict[str, Any]:
    """The fields the sample browser shows for one case (long texts clipped)."""
    notes = record.get("notes")
    return {"id": str(record["id"]), "task": record.get("task"), "kind": record.get("kind"),
            "outcome": outcome(record), "rank": worst_first_rank(record),
            "latency": number(record.get("latency_s")), "prompt": _clip(record.get("prompt")),
            "output": _clip(record.get("output")), "extracted": record.get("extracted"),
            "truth": record.get("truth"), "method": record.get("method"),
            "reason": record.get("unparsed_reason") or record.get("reason"),
            "error": _clip(record.get("error")),
            "notes": [str(n) for n in notes] if isinstance(notes, list) else [],
            "j": _pct(record.get("j")), "f": _pct(record.get("f")),
            "jf": _pct(record.get("jf")), "frames": record.get("frames"),
            "curve": frame_curve(record) if record.get("kind") == "mask" else None,
            "strip": strip}


def script_json(data: Any) -> str:
    """JSON safe inside a <script> element (no '</script>' or '<!--' can appear)."""
    return json.dumps(data, separators=(",", ":"), default=str).replace("<", "\\u003c")


def histogram(values: list[float], bins: int = 20) -> tuple[list[tuple[float, float, int]], str]:
    """(low, high, count) bins and the scale: equal width from 0 to the maximum, or equal
    width in log space when the values span > 50x (latencies are skewed: first calls)."""
    top = max(values, default=0.0)
    if top <= 0:
        return ([(0.0, 0.0, len(values))] if values else []), "linear"
    low = min((v for v in values if v > 0), default=top)
    scale = "log" if top / low > 50 else "linear"
    if scale == "log":
        edges = [low * (top / low) ** (i / bins) for i in range(bins + 1)]
        edges[0] = 0.0
    else:
        edges = [top * i / bins for i in range(bins + 1)]
    counts = [0] * bins
    for v in values:
        counts[max(0, min(bins - 1, bisect.bisect_right(edges, v) - 1))] += 1
    return [(edges[i], edges[i + 1], c) for i, c in enumerate(counts)], scale


def _quantile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


# --- view: plain values for the template ----------------------------------------------------


def _dict(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def score_cell(entry: Any) -> dict[str, Any]:
    entry = _dict(entry)
    if not entry:
        return {"score": None, "text": "-"}
    if entry.get("score") is None:
        return {"score": None, "text": "n/a"}
    ci = entry.get("ci95")
    ci = [fmt(ci[0]), fmt(ci[1])] if isinstance(ci, list) and len(ci) == 2 else None
    deff = number(entry.get("design_effect"))
    return {"score": fmt(entry["score"]), "ci": ci, "n": entry.get("n"),
            "clusters": entry.get("clusters"), "deff": None if deff is None else f"{deff:.2f}"}


def score_rows(summary: dict) -> list[dict]:
    tasks = _dict(summary.get("tasks"))
    return [{"title": DIMENSION_TITLES[dim],
             "cells": [score_cell(tasks.get(t)) for t, s in TASKS.items() if s.dimension == dim]}
            for dim in DIMENSIONS]


def overall_view(summary: dict) -> dict[str, Any]:
    overall = _dict(summary.get("overall"))
    entered = overall.get("entered") if isinstance(overall.get("entered"), list) else []
    dims = [d for d in _dict(summary.get("dimensions")).values() if isinstance(d, dict)]
    combined = [{"label": label, "text": str(text)} for label, text in (
        ("dimensions", dims[0].get("combined") if dims else None),
        ("overall", overall.get("combined"))) if text]
    return {"score": "n/a" if overall.get("score") is None else fmt(overall["score"]),
            "n": len(entered), "entered": ", ".join(map(str, entered)) or "none",
            "combined": combined}


def task_chart(summary: dict) -> dict[str, Any]:
    """Horizontal bars (0-100) with 95% interval whiskers, one per task."""
    tasks = [(t, _dict(e)) for t, e in _dict(summary.get("tasks")).items() if t in TASKS]
    left, span, row = 110, 440, 26
    height = row * len(tasks) + 24

    def x(score: float) -> str:
        return f"{left + span * max(0.0, min(100.0, score)) / 100:.1f}"

    bars = []
    for i, (task, entry) in enumerate(tasks):
        score, ci = number(entry.get("score")), entry.get("ci95")
        bar = {"task": task, "y": i * row + 4, "score": None if score is None else fmt(score),
               "n": entry.get("n"), "color": "#4a6fd1" if TASKS[task].kind == "qa"
               else "#e07b28"}
        if score is not None:
            bar["width"] = f"{span * max(0.0, min(100.0, score)) / 100:.1f}"
            lows = [number(v) for v in ci] if isinstance(ci, list) and len(ci) == 2 else []
            bar["ci"] = [x(v) for v in lows] if lows and None not in lows else None
        bars.append(bar)
    return {"width": left + span + 120, "height": height, "left": left, "span": span,
            "ticks": [{"x": x(t), "label": t} for t in range(0, 101, 25)], "bars": bars}


def latency_view(records: list[dict]) -> dict[str, Any] | None:
    values = [v for r in records if (v := number(r.get("latency_s"))) is not None and v >= 0]
    if not values:
        return None
    bins, scale = histogram(values)
    tallest = max(c for _, _, c in bins) or 1
    width, height = 560, 120
    bw = width / len(bins)
    return {"width": width, "height": height, "scale": scale, "top": f"{bins[-1][1]:.3g}",
            "bars": [{"x": f"{i * bw + 1:.1f}", "y": f"{height - height * c / tallest:.1f}",
                      "w": f"{bw - 2:.1f}", "h": f"{height * c / tallest:.1f}",
                      "low": f"{lo:.3g}", "high": f"{hi:.3g}", "count": c}
                     for i, (lo, hi, c) in enumerate(bins)],
            "n": len(values), "median": f"{_quantile(values, 0.5):.3g}",
            "p90": f"{_quantile(values, 0.9):.3g}", "max": f"{max(values):.3g}"}


def error_type(message: str, record: dict | None) -> str:
    """The group an error belongs to: the exception type the runner recorded, else the
    message's own prefix ("data error", "not run", "setup failed")."""
    if record and record.get("error_type"):
        return str(record["error_type"])
    head = message.split(":", 1)[0].strip()
    return head if ":" in message and 0 < len(head) <= 40 else "error"


def error_groups(summary: dict, records: list[dict]) -> dict[str, Any]:
    errors = [e for e in summary.get("errors", []) if isinstance(e, dict)] \
        if isinstance(summary.get("errors"), list) else []
    by_id = {str(r.get("id")): r for r in records}
    groups: dict[str, list[dict]] = {}
    for e in errors:
        message = str(e.get("message"))
        groups.setdefault(error_type(message, by_id.get(str(e.get("id")))), []).append(
            {"id": str(e.get("id")), "message": message})
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return {"total": len(errors), "groups": [
        {"name": name, "count": len(items), "rows": items[:ERRORS_PER_GROUP],
         "more": max(0, len(items) - ERRORS_PER_GROUP)} for name, items in ordered]}


def gate_view(result: Any) -> dict[str, Any] | None:
    """The regression gate's verdict: banner, per-task tests (videos paired and test used
    when the report has them), floors."""
    result = _dict(result)
    if not result:
        return None
    from dynbench.gate import status_line

    status = str(result.get("status"))
    try:
        text = "GATE REFUSED" if status == "refused" else status_line(result)
    except (KeyError, TypeError, ValueError, AttributeError):
        text = status.upper()
    view: dict[str, Any] = {"status": status, "text": text, "warnings": [], "tasks": [],
                            "floors": [], "message": result.get("message")
                            if status == "refused" else None}
    if status == "refused":
        return view
    baseline = _dict(result.get("baseline"))
    if baseline:
        view["baseline"] = {"path": baseline.get("path"), "model": baseline.get("model")}
        view["max_drop"], view["alpha"] = fmt(result.get("max_drop"), "g"), \
            fmt(result.get("alpha"), "g")
        view["warnings"] = [str(w) for w in result.get("warnings") or []]
    rows = [(t, _dict(r)) for t, r in _dict(result.get("tasks")).items()]
    view["videos"] = any(_videos(r) is not None for _, r in rows)
    view["tasks"] = [{"task": t, "baseline": fmt(r.get("baseline")),
                      "current": fmt(r.get("current")), "delta": fmt(r.get("delta"),
                                                                     signed=True),
                      "n_paired": r.get("n_paired"), "videos": _videos(r),
                      "p_value": fmt(r.get("p_value"), ".4f"), "test": r.get("test"),
                      "verdict": r.get("verdict"),
                      "verdict_class": str(r.get("verdict")).replace(" ", "-")}
                     for t, r in rows]
    o = _dict(result.get("overall"))
    if o.get("delta") is not None:
        entered = o.get("entered") if isinstance(o.get("entered"), list) else []
        view["overall"] = {"n": len(entered), "baseline": fmt(o.get("baseline")),
                           "current": fmt(o.get("current")),
                           "delta": fmt(o.get("delta"), signed=True)}
    floors = result.get("floors") if isinstance(result.get("floors"), list) else []
    view["floors"] = [{"name": r.get("name"), "task": r.get("task") or "",
                       "score": fmt(r.get("score")), "floor": fmt(r.get("floor"), "g"),
                       "verdict": r.get("verdict"),
                       "verdict_class": str(r.get("verdict")).replace(" ", "-")}
                      for r in map(_dict, floors)]
    return view


def _videos(row: dict) -> Any:
    for key in ("videos_paired", "n_videos_paired", "n_videos"):
        if row.get(key) is not None:
            return row[key]
    return None


def run_facts(summary: dict) -> list[tuple[str, str]]:
    """(label, value) rows: what ran, where, how fast."""
    run, model = _dict(summary.get("run")), _dict(summary.get("model"))
    packages = _dict(run.get("packages"))
    git = _dict(run.get("git"))
    revision = _dict(model.get("revision"))
    rows = [
        ("dynbench", " ".join(x for x in (
            str(run.get("dynbench") or "?"),
            f"(git {str(git.get('commit'))[:12]}{' dirty' if git.get('dirty') else ''})"
            if git.get("commit") else "") if x)),
        ("model", " · ".join(f"{k} {v}" for k, v in (
            ("family", model.get("family")), ("dtype", model.get("dtype")),
            ("attention", model.get("attention")), ("device", model.get("device")),
            ("gpu", model.get("gpu"))) if v)),
        ("model revision", " · ".join(f"{k} {v}" for k, v in (
            ("asked", revision.get("revision")), ("resolved", revision.get("resolved_revision")),
            ("fingerprint", revision.get("fingerprint"))) if v)),
        ("started", f"{run.get('started')} · wall {fmt(run.get('wall_s'))} s · "
                    f"{fmt(run.get('cases_per_s'), '.2f')} cases/s"
                    if run.get("started") else ""),
        ("processes", _processes(run)),
        ("python", f"{run.get('python')} on {run.get('platform')} ({run.get('host')})"
                   if run.get("python") else ""),
        ("packages", ", ".join(f"{k} {v}" for k, v in packages.items() if v)),
    ]
    return [(label, value) for label, value in rows if value]


def _processes(run: dict) -> str:
    processes = _dict(run.get("processes"))
    workers = run.get("xdist_workers")
    if not processes and not workers:
        shards = run.get("shards")
        return f"{len(shards)} merged shards" if isinstance(shards, list) else ""
    parts = [f"{name}: {p.get('device') or '-'}"
             f"{' (' + ', '.join(map(str, p['gpus'])) + ')' if isinstance(p.get('gpus'), list) and p['gpus'] else ''}"  # noqa: E501
             for name, p in ((n, _dict(p)) for n, p in processes.items())]
    head = f"{workers} xdist workers" if workers else "1 process"
    return head + (": " + "; ".join(parts) if parts else "")


def header_settings(summary: dict) -> list[tuple[str, str]]:
    s = _dict(summary.get("settings"))
    keys = ("protocol", "jf_mode", "bound_th", "qa_mode", "max_frames", "limit")
    return [(k, "all" if s.get(k) is None and k in ("max_frames", "limit") else str(s.get(k)))
            for k in keys if k in s or k in ("max_frames", "limit")]


def browser_options(entries: list[dict]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Filter options; labels carry counts."""
    tasks = [t for t in TASK_ORDER if any(e["task"] == t for e in entries)]
    tasks += sorted({str(e["task"]) for e in entries} - set(tasks))
    counts = {o: sum(e["outcome"] == o for e in entries) for o in OUTCOMES}
    return ([(t, f"{t} ({sum(str(e['task']) == t for e in entries)})") for t in tasks],
            [(o, f"{OUTCOME_TITLES[o]} ({counts[o]})") for o in OUTCOMES if counts[o]])


# --- rendering ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment():
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.ChainableUndefined)


def _asset(name: str):
    from markupsafe import Markup

    return Markup((TEMPLATES / name).read_text(encoding="utf-8"))  # our own static file


def page(title: str, body: str, script: str = "") -> str:
    """A complete self-contained page around ``body``, HTML its caller built and escaped
    (``dynbench compare``)."""
    from markupsafe import Markup

    return _environment().get_template("page.html.j2").render(
        title=title, body=Markup(body), script=Markup(script), css=_asset("report.css"),
        js_state="none" if not script else "pending") + "\n"


def render_html(summary: dict, records: list[dict],
                strips: dict[str, list[dict] | str] | None = None) -> str:
    """The whole page. ``strips``: case id -> frame rows (or the reason there are none)."""
    from markupsafe import Markup

    strips = strips or {}
    summary = _dict(summary)
    records = [r for r in records if isinstance(r, dict) and "id" in r]
    entries = [sample_entry(r, strips.get(str(r["id"])))
               for r in sorted(records, key=lambda r: str(r["id"]))]
    model, settings = _dict(summary.get("model")), _dict(summary.get("settings"))
    label = model.get("label") or model.get("name") or "run"
    task_options, outcome_options = browser_options(entries)
    warnings = summary.get("warnings") if isinstance(summary.get("warnings"), list) else []
    return _environment().get_template("report.html.j2").render(
        title=f"Dyn-Bench: {label}", label=label, kind=model.get("kind"),
        settings=header_settings(summary), data_dir=settings.get("data_dir"),
        fingerprint=settings.get("dataset_fingerprint"), counts=_dict(summary.get("counts")),
        facts=run_facts(summary), warnings=[str(w) for w in warnings],
        gate=gate_view(summary.get("gate")), score_rows=score_rows(summary),
        overall=overall_view(summary), clustered=any(
            _dict(t).get("clusters") is not None for t in _dict(summary.get("tasks")).values()),
        chart=task_chart(summary), errors=error_groups(summary, records),
        latency=latency_view(records), n_samples=len(entries), task_options=task_options,
        outcome_options=outcome_options, data_json=Markup(script_json(entries)),
        css=_asset("report.css"), js=_asset("report.js"), js_state="pending") + "\n"


# --- disk ---------------------------------------------------------------------------------


def build_strips(folder: Path, records: list[dict], data_dir: Path | None) -> dict:
    """Frame strips for the chosen mask cases; a note per case when the data is missing."""
    from dynbench.thumbs import safe_case_strip

    chosen = strip_candidates([r for r in records if isinstance(r, dict) and "id" in r])
    if data_dir is None or not Path(data_dir).is_dir():
        return {r["id"]: f"frames unavailable: data dir {data_dir} not found" for r in chosen}
    return {r["id"]: safe_case_strip(folder, Path(data_dir), r) for r in chosen}


def write_html(folder: Path, summary: dict | None = None, records: list[dict] | None = None,
               *, out: Path | None = None, data_dir: Path | None = None) -> Path:
    """Render ``report.html`` for a report dir (summary/records read from it when not given)."""
    folder = Path(folder)
    if summary is None or records is None:
        run = runfolder.load_run(folder)
        folder, summary, records = run.folder, run.summary, run.records
    root = data_dir or _dict(summary.get("settings")).get("data_dir")
    strips = build_strips(folder, records, Path(root) if isinstance(root, (str, Path)) and root
                          else None)
    path = Path(out) if out else folder / runfolder.HTML
    runfolder.atomic_write(path, render_html(summary, records, strips))
    return path
