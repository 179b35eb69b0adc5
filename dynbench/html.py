"""``report.html``: one self-contained page per run (no external JS, CSS or fonts).

Shows the per-dimension summary with intervals, a per-task bar chart (inline SVG), the gate
verdict, errors, the latency distribution and a sample browser (vanilla JS, filters kept in
the URL hash, rows rendered lazily in pages) with QA prompts/outputs and, for the lowest-J&F
mask cases of each task, frame strips (image | ground truth | prediction | overlay).

Rendering is pure (:func:`render_html` over a summary, records and prepared strips); only
:func:`write_html` touches the disk. The page sets ``data-js="ok"`` on ``<html>`` once its
script ran, and ``data-js-error`` when a script error happened, so tests can check it.
"""

from __future__ import annotations

import bisect
import json
import math
from html import escape
from pathlib import Path
from typing import Any

from dynbench import runfolder
from dynbench.tasks import DIMENSION_TITLES, DIMENSIONS, TASK_ORDER, TASKS

STRIP_CASES_PER_TASK = 48  # mask cases per task that get frame strips (lowest J&F first)
TEXT_LIMIT = 4000  # characters of a prompt or output kept in the page
OUTCOMES = ("correct", "wrong", "unparsed", "error", "n/a", "mask")
OUTCOME_TITLES = {"correct": "correct", "wrong": "wrong", "unparsed": "unparsed",
                  "error": "error", "n/a": "n/a", "mask": "mask (J&F scored)"}

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2330;
background:#fafbfc}h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;
border-bottom:1px solid #dde1e8;padding-bottom:4px}.meta{color:#5a6475;font-size:13px}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #dde1e8;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f0f2f6}td.num{text-align:right;
font-variant-numeric:tabular-nums}.ci{color:#7a8494;font-size:12px}
.banner{padding:8px 12px;border-radius:6px;font-weight:600;margin:8px 0}
.pass{background:#e3f5e6;color:#17622a}.fail{background:#fde4e4;color:#9b1c1c}
.refused{background:#fff3d6;color:#7a5200}.v-regression,.v-below{color:#b42318;font-weight:600}
.v-improved{color:#17622a;font-weight:600}.controls{display:flex;gap:12px;flex-wrap:wrap;
align-items:center;margin:8px 0}select,input,button{font:inherit;padding:3px 6px}
details.sample{background:#fff;border:1px solid #dde1e8;border-radius:4px;margin:3px 0}
details.sample>summary{cursor:pointer;padding:4px 8px;display:flex;gap:10px;align-items:center}
.badge{display:inline-block;min-width:64px;text-align:center;border-radius:10px;font-size:12px;
padding:1px 6px;color:#fff}.o-correct{background:#2f8f46}.o-wrong{background:#c2410c}
.o-unparsed{background:#a16207}.o-error{background:#b42318}.o-n\\/a{background:#6b7280}
.o-mask{background:#4056a1}.sid{font-family:ui-monospace,monospace;font-size:12.5px}
.body{padding:6px 12px 10px}.body pre{white-space:pre-wrap;background:#f5f6f8;padding:6px;
margin:2px 0 8px;max-height:240px;overflow:auto}.body dt{font-weight:600;margin-top:4px}
.body dd{margin:0 0 0 12px}.strip td{padding:2px;text-align:center;font-size:11px}
.strip img{display:block;image-rendering:pixelated;max-width:96px}svg text{font-size:12px}
"""

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
    return float(record.get("jf") or 0.0)


def strip_candidates(records: list[dict], per_task: int = STRIP_CASES_PER_TASK) -> list[dict]:
    """Mask cases that get frame strips: the lowest J&F of each task, capped per task."""
    chosen: list[dict] = []
    for task in TASK_ORDER:
        cases = [r for r in records if r.get("task") == task and r.get("kind") == "mask"
                 and r.get("status") not in ("n/a", "skipped") and not r.get("file_problem")]
        chosen += sorted(cases, key=lambda r: (worst_first_rank(r), r["id"]))[:per_task]
    return chosen


def _clip(text: Any) -> str | None:
    if text is None:
        return None
    text = str(text)
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT] + f" … [{len(text)} chars]"


def _pct(x: Any) -> str | None:
    return None if x is None else f"{100.0 * float(x):.1f}"


def sample_entry(record: dict, strip: list[dict] | str | None) -> dict[str, Any]:
    """The fields the sample browser shows for one case (long texts clipped)."""
    return {"id": record["id"], "task": record.get("task"), "kind": record.get("kind"),
            "outcome": outcome(record), "rank": worst_first_rank(record),
            "latency": record.get("latency_s"), "prompt": _clip(record.get("prompt")),
            "output": _clip(record.get("output")), "extracted": record.get("extracted"),
            "truth": record.get("truth"), "method": record.get("method"),
            "reason": record.get("unparsed_reason") or record.get("reason"),
            "error": _clip(record.get("error")), "notes": record.get("notes") or [],
            "j": _pct(record.get("j")), "f": _pct(record.get("f")),
            "jf": _pct(record.get("jf")), "frames": record.get("frames"), "strip": strip}


def script_json(data: Any) -> str:
    """JSON safe inside a <script> element (no '</script>' or '<!--' can appear)."""
    return json.dumps(data, separators=(",", ":"), default=str).replace("<", "\\u003c")


# --- sections -----------------------------------------------------------------------------


def _score_cell(entry: dict | None) -> str:
    if not entry:
        return "<td>-</td>"
    if entry.get("score") is None:
        return "<td>n/a</td>"
    ci = entry.get("ci95")
    ci_text = f' <span class="ci">[{ci[0]:.1f}–{ci[1]:.1f}]</span>' if ci else ""
    n_text = f'<span class="ci">n={entry["n"]}</span>'
    return f'<td class="num">{entry["score"]:.1f}{ci_text} {n_text}</td>'


def summary_table(summary: dict) -> str:
    """Per dimension: QA accuracy and mask J&F with 95% intervals; overall below."""
    tasks = summary.get("tasks", {})
    rows = ["<tr><th>dimension</th><th>QA accuracy %</th><th>mask J&amp;F %</th></tr>"]
    for dim in DIMENSIONS:
        cells = [_score_cell(tasks.get(t)) for t, s in TASKS.items() if s.dimension == dim]
        rows.append(f"<tr><th>{escape(DIMENSION_TITLES[dim])}</th>{''.join(cells)}</tr>")
    overall = summary.get("overall", {})
    score = "n/a" if overall.get("score") is None else f"{overall['score']:.2f}"
    entered = ", ".join(overall.get("entered", [])) or "none"
    rows.append(f'<tr><th>overall</th><td colspan="2"><b>{score}</b> <span class="ci">mean '
                f"of {len(overall.get('entered', []))} task scores: {escape(entered)}</span>"
                "</td></tr>")
    return f"<table>{''.join(rows)}</table>"


def task_chart(summary: dict) -> str:
    """Horizontal bars (0-100) with 95% interval whiskers, one per task, inline SVG."""
    tasks = [(t, e) for t, e in summary.get("tasks", {}).items() if t in TASKS]
    left, width, row = 110, 440, 26
    height = row * len(tasks) + 24
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 120}" '
             f'height="{height}" role="img" aria-label="task scores">']
    for tick in range(0, 101, 25):
        x = left + width * tick / 100
        parts.append(f'<line x1="{x}" y1="0" x2="{x}" y2="{height - 16}" stroke="#e5e7eb"/>'
                     f'<text x="{x}" y="{height - 2}" text-anchor="middle" fill="#7a8494">'
                     f"{tick}</text>")
    for i, (task, entry) in enumerate(tasks):
        parts.append(_chart_bar(task, entry, i * row + 4, left, width))
    return "".join(parts) + "</svg>"


def _chart_bar(task: str, entry: dict, y: float, left: int, width: int) -> str:
    color = "#4a6fd1" if TASKS[task].kind == "qa" else "#e07b28"
    label = f'<text x="{left - 8}" y="{y + 14}" text-anchor="end">{escape(task)}</text>'
    score = entry.get("score")
    if score is None:
        return label + f'<text x="{left + 4}" y="{y + 14}" fill="#7a8494">n/a</text>'
    bar = (f'<rect x="{left}" y="{y + 3}" width="{width * score / 100:.1f}" height="14" '
           f'fill="{color}"><title>{escape(task)}: {score:.1f}</title></rect>')
    ci = entry.get("ci95")
    if ci:
        x0, x1 = left + width * ci[0] / 100, left + width * ci[1] / 100
        bar += (f'<line x1="{x0:.1f}" y1="{y + 10}" x2="{x1:.1f}" y2="{y + 10}" '
                f'stroke="#1d2330"/><line x1="{x0:.1f}" y1="{y + 5}" x2="{x0:.1f}" y2="{y + 15}" '
                f'stroke="#1d2330"/><line x1="{x1:.1f}" y1="{y + 5}" x2="{x1:.1f}" '
                f'y2="{y + 15}" stroke="#1d2330"/>')
    text = (f'<text x="{left + width + 8}" y="{y + 14}">{score:.1f} '
            f'<tspan fill="#7a8494">n={entry.get("n")}</tspan></text>')
    return label + bar + text


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


def latency_chart(records: list[dict]) -> str:
    """Latency histogram (inline SVG) with median, p90 and max."""
    values = [float(r["latency_s"]) for r in records if r.get("latency_s") is not None]
    if not values:
        return "<p class=meta>no latencies recorded (saved predictions or errors only)</p>"
    bins, scale = histogram(values)
    tallest = max(c for _, _, c in bins) or 1
    w, h, bw = 560, 120, 560 / len(bins)
    bars = "".join(
        f'<rect x="{i * bw + 1:.1f}" y="{h - h * c / tallest:.1f}" width="{bw - 2:.1f}" '
        f'height="{h * c / tallest:.1f}" fill="#4a6fd1"><title>{lo:.3g}–{hi:.3g} s: {c} '
        f"cases</title></rect>" for i, (lo, hi, c) in enumerate(bins))
    axis = (f'<text x="0" y="{h + 14}" fill="#7a8494">0 s</text><text x="{w / 2}" '
            f'y="{h + 14}" text-anchor="middle" fill="#7a8494">{scale} bins (hover a bar)'
            f'</text><text x="{w}" y="{h + 14}" text-anchor="end" fill="#7a8494">'
            f"{bins[-1][1]:.3g} s</text>")
    stats = (f"<p class=meta>{len(values)} cases; median {_quantile(values, 0.5):.3g} s, "
             f"p90 {_quantile(values, 0.9):.3g} s, max {max(values):.3g} s</p>")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h + 18}" '
            f'role="img" aria-label="latency histogram">{bars}{axis}</svg>{stats}')


def errors_section(summary: dict, limit: int = 100) -> str:
    errors = summary.get("errors", [])
    if not errors:
        return "<p class=meta>no errors</p>"
    rows = "".join(f'<tr><td class="sid">{escape(str(e["id"]))}</td>'
                   f"<td>{escape(str(e.get('message')))}</td></tr>" for e in errors[:limit])
    more = f"<p class=meta>… and {len(errors) - limit} more</p>" if len(errors) > limit else ""
    return f"<table><tr><th>case</th><th>message</th></tr>{rows}</table>{more}"


def _num(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x:+.1f}" if signed else f"{x:.1f}"


def gate_section(result: dict | None) -> str:
    """The regression gate's verdict: banner, per-task tests, floors."""
    if not result:
        return ""
    from dynbench.gate import status_line

    status = result["status"]
    text = "GATE REFUSED" if status == "refused" else status_line(result)
    out = [f'<h2>Regression gate</h2><div class="banner {status}" id="gate-status">'
           f"{escape(text)}</div>"]
    if status == "refused":
        return out[0] + f"<p>{escape(result['message'])}</p>"
    if result.get("baseline"):
        b = result["baseline"]
        out.append(f"<p class=meta>baseline {escape(b['path'])} ({escape(str(b['model']))}); "
                   f"max drop {result['max_drop']:g} points, alpha {result['alpha']:g}</p>")
        out += [f"<p class=meta>warning: {escape(w)}</p>" for w in result.get("warnings", [])]
        out.append(_gate_tasks(result.get("tasks", {})))
        o = result.get("overall") or {}
        if o.get("delta") is not None:
            out.append(f"<p class=meta>overall (mean of the {len(o['entered'])} paired task "
                       f"scores): {_num(o['baseline'])} → {_num(o['current'])} "
                       f"({_num(o['delta'], True)})</p>")
    if result.get("floors"):
        out.append(_gate_floors(result["floors"]))
    return "".join(out)


def _gate_tasks(tasks: dict[str, dict]) -> str:
    head = ("<tr><th>task</th><th>baseline</th><th>current</th><th>delta</th><th>n paired"
            "</th><th>p-value</th><th>test</th><th>verdict</th></tr>")
    rows = "".join(
        f"<tr><td>{escape(t)}</td><td class=num>{_num(r['baseline'])}</td><td class=num>"
        f"{_num(r['current'])}</td><td class=num>{_num(r['delta'], True)}</td>"
        f"<td class=num>{r['n_paired']}</td><td class=num>{r['p_value']:.4f}</td>"
        f"<td>{escape(r['test'])}</td><td class=\"v-{r['verdict'].replace(' ', '-')}\">"
        f"{escape(r['verdict'])}</td></tr>" for t, r in tasks.items())
    return f"<table>{head}{rows}</table>"


def _gate_floors(floors: list[dict]) -> str:
    rows = "".join(
        f"<tr><td>{escape(r['name'])}</td><td>{escape(r['task'] or '')}</td><td class=num>"
        f"{_num(r['score'])}</td><td class=num>{r['floor']:g}</td>"
        f"<td class=\"v-{r['verdict'].replace(' ', '-')}\">{escape(r['verdict'])}</td></tr>"
        for r in floors)
    return ("<table style='margin-top:8px'><tr><th>floor</th><th>score of</th><th>score</th>"
            f"<th>minimum</th><th>verdict</th></tr>{rows}</table>")


def _options(values: list[tuple[str, str]], all_label: str) -> str:
    return f'<option value="">{all_label}</option>' + "".join(
        f'<option value="{escape(v)}">{escape(label)}</option>' for v, label in values)


def browser_controls(entries: list[dict]) -> str:
    """Filter controls; option labels carry counts."""
    tasks = [t for t in TASK_ORDER if any(e["task"] == t for e in entries)]
    tasks += sorted({str(e["task"]) for e in entries} - set(tasks))
    counts = {o: sum(e["outcome"] == o for e in entries) for o in OUTCOMES}
    task_opts = _options([(t, f"{t} ({sum(e['task'] == t for e in entries)})") for t in tasks],
                         "all tasks")
    out_opts = _options([(o, f"{OUTCOME_TITLES[o]} ({counts[o]})") for o in OUTCOMES
                         if counts[o]], "all outcomes")
    return ('<div class="controls"><select id="f-task">' + task_opts + '</select>'
            '<select id="f-outcome">' + out_opts + '</select>'
            '<select id="f-sort"><option value="id">case id</option><option value="worst">'
            'worst first</option></select><input id="f-text" type="search" '
            'placeholder="search id, prompt, output"><span id="f-count" class="meta"></span>'
            '</div><div id="samples"></div><button id="more" hidden>show more</button>')


def _header(summary: dict) -> str:
    model, s, c = summary.get("model", {}), summary.get("settings", {}), summary.get("counts",
                                                                                     {})
    label = model.get("label") or model.get("name") or "run"
    settings = ", ".join(f"{k}={s.get(k)}" for k in ("protocol", "jf_mode", "bound_th",
                                                      "max_frames", "limit"))
    return (f"<h1>Dyn-Bench report: {escape(str(label))}</h1><div class=meta>"
            f"kind {escape(str(model.get('kind')))} · {escape(settings)} · data "
            f"{escape(str(s.get('data_dir')))} · fingerprint "
            f"{escape(str(s.get('dataset_fingerprint')))}</div><div class=meta>cases "
            f"{c.get('cases')} · errors {c.get('errors')} · unparsed {c.get('unparsed')} · "
            f"not applicable {c.get('not_applicable')}</div>")


def page(title: str, body: str, script: str = "") -> str:
    """A complete self-contained HTML document."""
    return (f'<!DOCTYPE html><html lang="en" data-js="pending"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><meta name=viewport content='width=device-width'>"
            f"<style>{CSS}</style></head><body>{body}{script}</body></html>\n")


def render_html(summary: dict, records: list[dict],
                strips: dict[str, list[dict] | str] | None = None) -> str:
    """The whole page. ``strips``: case id -> frame rows (or the reason there are none)."""
    strips = strips or {}
    entries = [sample_entry(r, strips.get(r["id"])) for r in sorted(records,
                                                                    key=lambda r: r["id"])]
    model = summary.get("model", {})
    body = "".join([
        _header(summary), gate_section(summary.get("gate")), "<h2>Scores</h2>",
        summary_table(summary), "<h2>Per task</h2>", task_chart(summary),
        f"<h2>Errors ({len(summary.get('errors', []))})</h2>", errors_section(summary),
        "<h2>Latency</h2>", latency_chart(records), f"<h2>Samples ({len(entries)})</h2>",
        browser_controls(entries)])
    script = (f'<script type="application/json" id="dynbench-data">{script_json(entries)}'
              f"</script><script>{JS}</script>")
    return page(f"Dyn-Bench: {model.get('label') or model.get('name') or 'report'}", body,
                script)


# --- disk ---------------------------------------------------------------------------------


def build_strips(folder: Path, records: list[dict], data_dir: Path | None) -> dict:
    """Frame strips for the chosen mask cases; a note per case when the data is missing."""
    from dynbench.thumbs import safe_case_strip

    chosen = strip_candidates(records)
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
    root = data_dir or summary.get("settings", {}).get("data_dir")
    strips = build_strips(folder, records, Path(root) if root else None)
    path = Path(out) if out else folder / runfolder.HTML
    runfolder.atomic_write(path, render_html(summary, records, strips))
    return path


JS = r"""
(function () {
  "use strict";
  var root = document.documentElement;
  window.addEventListener("error", function (e) {
    root.setAttribute("data-js-error", String(e.message || e));
  });
  var data = JSON.parse(document.getElementById("dynbench-data").textContent);
  var PAGE = 50;
  var $ = function (id) { return document.getElementById(id); };
  var fTask = $("f-task"), fOut = $("f-outcome"), fSort = $("f-sort"), fText = $("f-text");
  var list = $("samples"), more = $("more"), count = $("f-count");
  var matching = [], shown = 0, openId = "";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function readHash() {
    var p = new URLSearchParams(location.hash.replace(/^#/, ""));
    fTask.value = p.get("task") || ""; fOut.value = p.get("outcome") || "";
    fSort.value = p.get("sort") || "id"; fText.value = p.get("q") || "";
    openId = p.get("open") || "";
    if (fTask.selectedIndex < 0) fTask.value = "";
    if (fOut.selectedIndex < 0) fOut.value = "";
    if (fSort.selectedIndex < 0) fSort.value = "id";
  }
  function writeHash() {
    var p = new URLSearchParams();
    if (fTask.value) p.set("task", fTask.value);
    if (fOut.value) p.set("outcome", fOut.value);
    if (fSort.value !== "id") p.set("sort", fSort.value);
    if (fText.value) p.set("q", fText.value);
    openId = "";
    try { history.replaceState(null, "", "#" + p.toString()); } catch (err) { /* file: */ }
  }
  function matches(s, text) {
    if (fTask.value && s.task !== fTask.value) return false;
    if (fOut.value && s.outcome !== fOut.value) return false;
    if (!text) return true;
    return [s.id, s.prompt, s.output].some(function (v) {
      return v && String(v).toLowerCase().indexOf(text) >= 0;
    });
  }
  function field(dl, name, value, pre) {
    if (value === undefined || value === null || value === "") return;
    dl.appendChild(el("dt", null, name));
    var dd = el("dd"); dd.appendChild(el(pre ? "pre" : "span", null, value));
    dl.appendChild(dd);
  }
  function img(src, alt) {
    var td = el("td");
    if (src) { var i = el("img"); i.src = src; i.alt = alt; td.appendChild(i); }
    else td.textContent = "–";
    return td;
  }
  function strip(s) {
    if (!s.strip) return el("p", "meta", "no frame strip (only the " +
      "lowest-J&F cases of each task carry one)");
    if (typeof s.strip === "string") return el("p", "meta", s.strip);
    var t = el("table", "strip"), head = el("tr");
    ["frame", "image", "ground truth", "prediction", "overlay"].forEach(function (h) {
      head.appendChild(el("th", null, h));
    });
    t.appendChild(head);
    s.strip.forEach(function (r) {
      var tr = el("tr"); tr.appendChild(el("td", null, r.frame));
      tr.appendChild(img(r.image, "frame")); tr.appendChild(img(r.truth, "ground truth"));
      tr.appendChild(img(r.pred, "prediction")); tr.appendChild(img(r.overlay, "overlay"));
      t.appendChild(tr);
    });
    return t;
  }
  function body(s) {
    var div = el("div", "body"), dl = el("dl");
    field(dl, "prompt", s.prompt, true);
    field(dl, s.kind === "qa" ? "raw output" : "model text", s.output, true);
    if (s.kind === "qa") {
      field(dl, "extracted letter", s.extracted === null ? "(none)" : s.extracted);
      field(dl, "true letter", s.truth); field(dl, "extraction", s.method);
    } else if (s.jf !== null) {
      field(dl, "J / F / J&F (%)", s.j + " / " + s.f + " / " + s.jf);
    }
    field(dl, "reason", s.reason); field(dl, "error", s.error, true);
    field(dl, "notes", s.notes.length ? s.notes.join("; ") : null);
    field(dl, "shown frames", s.frames ? s.frames.join(", ") : null);
    div.appendChild(dl);
    if (s.kind === "mask" && s.outcome !== "n/a") div.appendChild(strip(s));
    return div;
  }
  function score(s) {
    if (s.kind === "qa" && s.outcome !== "error" && s.outcome !== "n/a")
      return (s.extracted || "–") + " vs " + (s.truth || "?");
    return s.jf !== null && s.outcome !== "n/a" ? "J&F " + s.jf : "";
  }
  function row(s) {
    var d = el("details", "sample"), sum = el("summary");
    d.setAttribute("data-id", s.id); d.setAttribute("data-task", s.task);
    d.setAttribute("data-outcome", s.outcome);
    sum.appendChild(el("span", "badge o-" + s.outcome, s.outcome));
    sum.appendChild(el("span", "sid", s.id)); sum.appendChild(el("span", null, score(s)));
    if (s.latency !== null) sum.appendChild(el("span", "meta", s.latency + " s"));
    d.appendChild(sum);
    d.addEventListener("toggle", function () { if (d.open) fill(d, s); });
    return d;
  }
  function fill(d, s) { if (d.children.length === 1) d.appendChild(body(s)); }
  function openLinked() {
    if (!openId) return;
    var at = matching.findIndex(function (s) { return s.id === openId; });
    if (at < 0) return;
    while (shown <= at) showMore();
    var d = list.children[at];
    fill(d, matching[at]); d.open = true; d.scrollIntoView();
  }
  function showMore() {
    var end = Math.min(matching.length, shown + PAGE);
    for (; shown < end; shown++) list.appendChild(row(matching[shown]));
    more.hidden = shown >= matching.length;
    list.setAttribute("data-shown", shown);
    count.textContent = matching.length + " matching, " + shown + " shown";
  }
  function render() {
    var text = fText.value.trim().toLowerCase();
    matching = data.filter(function (s) { return matches(s, text); });
    if (fSort.value === "worst") matching.sort(function (a, b) {
      return a.rank - b.rank || (a.id < b.id ? -1 : 1);
    });
    list.textContent = ""; shown = 0;
    list.setAttribute("data-matching", matching.length);
    showMore(); openLinked();
  }
  function changed() { writeHash(); render(); }
  [fTask, fOut, fSort].forEach(function (e) { e.addEventListener("change", changed); });
  fText.addEventListener("input", changed);
  more.addEventListener("click", showMore);
  window.addEventListener("hashchange", function () { readHash(); render(); });
  readHash(); render();
  if (!root.hasAttribute("data-js-error")) root.setAttribute("data-js", "ok");
})();
"""
