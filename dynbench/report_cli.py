"""``dynbench compare``, ``html`` and ``merge``: work on finished runs without re-running them.

``compare`` is a side-by-side leaderboard (runs ranked by overall score; one row per task,
grouped by dimension, with 95% intervals); :func:`leaderboard` is the pure part, the
``render_*`` functions turn it into text, Markdown or a self-contained HTML page.
"""

from __future__ import annotations

import argparse
import math
import sys
from html import escape
from pathlib import Path
from typing import Any

from dynbench import merge
from dynbench.gate import SCORING_KEYS
from dynbench.runfolder import Run, RunFolderError, load_run
from dynbench.tasks import DIMENSION_TITLES, DIMENSIONS, TASKS

LABEL_WIDTH = 26


def register(sub) -> None:
    """Add the report commands to ``dynbench``'s subparsers."""
    c = sub.add_parser("compare", help="side-by-side leaderboard of finished runs")
    c.add_argument("runs", nargs="+", metavar="RUN", help="report dir, report.json or "
                   "summary.json")
    c.add_argument("--format", choices=("text", "md", "html"), default="text")
    c.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    c.set_defaults(func=cmd_compare)
    h = sub.add_parser("html", help="render report.html for a report dir")
    h.add_argument("run_dir", metavar="RUN_DIR")
    h.add_argument("--out", metavar="FILE", help="default: RUN_DIR/report.html")
    h.add_argument("--data-dir", metavar="DIR", help="dataset root for the frame strips "
                   "(default: the run's data_dir)")
    h.set_defaults(func=cmd_html)
    merge.register(sub)


# --- the leaderboard (pure) ---------------------------------------------------------------


INTERVALS = ("n = cases, v = videos; intervals are 95%, clustered by video (QA: Wilson on the "
             "effective sample size, J&F: Student-t with videos - 1 df)")


def _cell(entry: dict | None) -> dict[str, Any]:
    if not entry or entry.get("score") is None:
        return {"score": None, "text": "-" if not entry else "n/a"}
    ci = entry.get("ci95")
    videos = f" v={entry['clusters']}" if entry.get("clusters") is not None else ""
    text = f"{entry['score']:.1f}" + (f" [{ci[0]:.1f}-{ci[1]:.1f}]" if ci else "") + \
        f" n={entry['n']}{videos}"
    return {"score": entry["score"], "text": text}


def _best(cells: list[dict]) -> int | None:
    """The column with the row's highest score; None for fewer than two scores or a tie."""
    scored = [(c["score"], i) for i, c in enumerate(cells) if c["score"] is not None]
    if len(scored) < 2:
        return None
    top = max(scored)
    return top[1] if sum(s == top[0] for s, _ in scored) == 1 else None


def _row(label: str, cells: list[dict]) -> dict[str, Any]:
    return {"label": label, "cells": cells, "best": _best(cells)}


def _overall(run: Run) -> float:
    score = run.summary.get("overall", {}).get("score")
    return -math.inf if score is None else float(score)


def differences(runs: list[Run]) -> list[str]:
    """Why the columns may not be comparable: scoring settings or case sets differ."""
    notes = []
    for key in SCORING_KEYS:
        values = {str(r.summary.get("settings", {}).get(key)) for r in runs}
        if len(values) > 1:
            notes.append(f"scoring setting {key} differs ({', '.join(sorted(values))}): "
                         "scores are not comparable")
    unclustered = [r.folder.name for r in runs
                   if any("clusters" not in t for t in r.summary.get("tasks", {}).values())]
    if unclustered:
        notes.append(f"{', '.join(unclustered)}: written before intervals were clustered by "
                     "video; its intervals treat cases as independent (narrower)")
    prints = {r.summary.get("settings", {}).get("dataset_fingerprint") for r in runs}
    if len(prints) > 1:
        notes.append("the runs evaluated different case sets (dataset fingerprints differ)")
    return notes


def leaderboard(runs: list[Run]) -> dict[str, Any]:
    """Columns = runs ranked by overall score; rows = tasks by dimension, then overall."""
    ranked = sorted(runs, key=_overall, reverse=True)
    rows = []
    for dim in DIMENSIONS:
        for name, task in TASKS.items():
            if task.dimension == dim:
                label = f"{DIMENSION_TITLES[dim]} {'QA' if task.kind == 'qa' else 'mask'} ({name})"
                rows.append(_row(label, [_cell(r.summary.get("tasks", {}).get(name))
                                         for r in ranked]))
    overall = [{"score": r.summary.get("overall", {}).get("score"),
                "text": _overall_text(r.summary.get("overall", {}))} for r in ranked]
    rows.append(_row("overall", overall))
    columns = [{"rank": i + 1, "label": r.label, "run": r.folder.name, "path": str(r.folder)}
               for i, r in enumerate(ranked)]
    return {"columns": columns, "rows": rows, "notes": differences(runs)}


def _overall_text(overall: dict) -> str:
    if overall.get("score") is None:
        return "n/a"
    return f"{overall['score']:.1f} ({len(overall.get('entered', []))} tasks)"


# --- rendering ----------------------------------------------------------------------------


def _head(col: dict) -> str:
    return f"#{col['rank']} {col['label']}"


def render_text(board: dict) -> str:
    width = max([LABEL_WIDTH] + [len(c["text"]) + 2 for r in board["rows"]
                                 for c in r["cells"]])
    heads = [_head(c)[:width - 1] for c in board["columns"]]
    runs = [c["run"][:width - 1] for c in board["columns"]]
    left = max(len(r["label"]) for r in board["rows"]) + 2
    lines = [" " * left + "".join(f"{h:<{width}}" for h in heads),
             " " * left + "".join(f"{r:<{width}}" for r in runs)]
    for row in board["rows"]:
        cells = [c["text"] + (" *" if i == row["best"] else "")
                 for i, c in enumerate(row["cells"])]
        lines.append(f"{row['label']:<{left}}" + "".join(f"{c:<{width}}" for c in cells))
    lines.append(f"* best of the row; {INTERVALS}")
    lines += [f"note: {n}" for n in board["notes"]]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render_md(board: dict) -> str:
    head = "| | " + " | ".join(_md(f"{_head(c)} ({c['run']})") for c in board["columns"]) + " |"
    lines = [head, "|---|" + "---|" * len(board["columns"])]
    for row in board["rows"]:
        cells = [f"**{_md(c['text'])}**" if i == row["best"] else _md(c["text"])
                 for i, c in enumerate(row["cells"])]
        lines.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Bold: best of the row; {INTERVALS}.")
    lines += [f"\n> note: {_md(n)}" for n in board["notes"]]
    return "\n".join(lines) + "\n"


def render_html(board: dict) -> str:
    from dynbench.html import page

    heads = "".join(f"<th>{escape(_head(c))}<br><span class=ci>{escape(c['run'])}</span></th>"
                    for c in board["columns"])
    rows = "".join(
        f"<tr><th>{escape(row['label'])}</th>" + "".join(
            f"<td class=num>{'<b>' if i == row['best'] else ''}{escape(c['text'])}"
            f"{'</b>' if i == row['best'] else ''}</td>" for i, c in enumerate(row["cells"]))
        + "</tr>" for row in board["rows"])
    notes = "".join(f"<p class=meta>note: {escape(n)}</p>" for n in board["notes"])
    body = (f"<h1>Dyn-Bench comparison</h1><table><tr><th></th>{heads}</tr>{rows}</table>"
            f"<p class=meta>Bold: best of the row; {escape(INTERVALS)}.</p>{notes}")
    return page("Dyn-Bench comparison", body).replace('data-js="pending"', 'data-js="none"')


RENDERERS = {"text": render_text, "md": render_md, "html": render_html}


# --- commands -----------------------------------------------------------------------------


def _emit(text: str, out: str | None) -> None:
    if out:
        Path(out).write_text(text, encoding="utf-8")
        print(out)
    else:
        sys.stdout.write(text)


def cmd_compare(args: argparse.Namespace) -> int:
    try:
        runs = [load_run(path, samples=False) for path in args.runs]
    except RunFolderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _emit(RENDERERS[args.format](leaderboard(runs)), args.out)
    return 0


def cmd_html(args: argparse.Namespace) -> int:
    from dynbench.html import write_html

    try:
        path = write_html(Path(args.run_dir), out=Path(args.out) if args.out else None,
                          data_dir=Path(args.data_dir) if args.data_dir else None)
    except RunFolderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0
