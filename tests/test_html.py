"""report.html: written by every run, self-contained, and working in a real (headless) browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dynbench import cli, html, thumbs

ROOT = Path(__file__).resolve().parents[1]
BENCH_TEST = (ROOT / "bench_tests" / "test_dynbench.py").read_text()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> Path:
    """The chance baseline over the bundled sample data (the `make bench` run)."""
    out = tmp_path_factory.mktemp("html") / "out"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--report-dir", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"html: {out / 'report.html'}" in proc.stdout
    return out


def samples(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]


def page_data(text: str) -> list[dict]:
    m = re.search(r'<script type="application/json" id="dynbench-data">(.*?)</script>', text,
                  re.S)
    return json.loads(m.group(1))


def test_report_html_content(sample_run):
    text = (sample_run / "report.html").read_text()
    records = samples(sample_run)
    for heading in ("Scores", "Per task", "Errors (0)", "Latency", f"Samples ({len(records)})"):
        assert f"<h2>{heading}</h2>" in text
    assert "Camera-Object" in text and "[2.7–28.9]" in text  # interval of cameraqa
    summary = json.loads((sample_run / "summary.json").read_text())
    cameraqa = summary["tasks"]["cameraqa"]
    assert (f"n={cameraqa['n']}, {cameraqa['clusters']} videos, design effect "
            f"{cameraqa['design_effect']:.2f}") in text
    assert f"overall: {summary['overall']['combined']}" in text
    assert text.count("<svg") == 2 and "aria-label=\"latency histogram\"" in text
    # self-contained: no external script, style sheet, image or font
    assert not re.search(r'<link|<script[^>]+src=|src="https?:|url\(', text)
    assert set(re.findall(r"https?://[^\s\"'<>]+", text)) <= {"http://www.w3.org/2000/svg"}
    data = page_data(text)
    assert [d["id"] for d in data] == sorted(r["id"] for r in records)
    masks = [d for d in data if d["kind"] == "mask"]
    assert masks and all(isinstance(d["strip"], list) and d["strip"] for d in masks)
    row = masks[0]["strip"][0]
    assert all(row[k].startswith("data:image/") for k in ("image", "truth", "pred", "overlay"))
    assert max(len(d["strip"]) for d in masks) <= thumbs.SHOW_FRAMES
    with Image.open(__import__("io").BytesIO(__import__("base64").b64decode(
            row["image"].split(",", 1)[1]))) as im:
        assert im.width <= thumbs.THUMB_WIDTH


def test_runner_writes_prediction_strips(sample_run):
    for rec in (r for r in samples(sample_run) if r["kind"] == "mask"):
        strip = thumbs.read_strip(sample_run / "thumbs" / f"{rec['id']}.png")
        assert sorted(strip) == thumbs.pick(rec["frames"], thumbs.MAX_FRAMES)
        assert all(cell.shape[1] <= thumbs.THUMB_WIDTH for cell in strip.values())


def chromium(tmp_path: Path, url: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr",
         "--v=0", *extra, url], capture_output=True, text=True, timeout=90)


def js_state(dom: str) -> str:
    """What the page's script reported on <html>: ok, or the error it caught."""
    tag = re.search(r"<html[^>]*>", dom).group(0)
    error = re.search(r'data-js-error="([^"]*)"', tag)
    return f"error: {error.group(1)}" if error else re.search(r'data-js="([^"]*)"', tag).group(1)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install "
                    "chromium); the in-browser check of report.html needs it")
def test_report_runs_in_headless_chromium(sample_run, tmp_path):
    url = (sample_run / "report.html").as_uri()
    records = samples(sample_run)
    wrong = sorted(r["id"] for r in records if r["task"] == "cameraqa" and r["kind"] == "qa"
                   and not r["correct"] and not r.get("unparsed") and r["status"] == "ok")
    proc = chromium(tmp_path, url + "#task=cameraqa&outcome=wrong", "--dump-dom")
    dom = proc.stdout
    assert js_state(dom) == "ok", proc.stderr[-2000:]
    assert "Uncaught" not in proc.stderr
    rows = re.findall(r'<details class="sample" data-id="([^"]+)" data-task="([^"]+)" '
                      r'data-outcome="([^"]+)"', dom)
    assert [r[0] for r in rows] == wrong
    assert {(r[1], r[2]) for r in rows} == {("cameraqa", "wrong")}
    assert f'data-matching="{len(wrong)}"' in dom
    mask_id = min(r["id"] for r in records if r["kind"] == "mask")
    opened = chromium(tmp_path, url + f"#open={mask_id}", "--dump-dom").stdout
    assert js_state(opened) == "ok"
    assert re.search(rf'<details class="sample" data-id="{re.escape(mask_id)}"[^>]* open', opened)
    curve = opened.split('<div class="curve">', 1)[1].split("</svg>", 1)[0]
    n_frames = len(next(r for r in records if r["id"] == mask_id)["frames"])
    lines = re.findall(r'<polyline points="([^"]+)"', curve)
    assert len(lines) == 3 and all(len(x.split()) == n_frames for x in lines)  # J&F, J, F
    strip = opened.split('<table class="strip">', 1)[1].split("</table>", 1)[0]
    for alt, fmt in (("frame", "jpeg"), ("ground truth", "png"), ("prediction", "png"),
                     ("overlay", "jpeg")):
        assert re.search(rf'<img src="data:image/{fmt};base64,[^"]+" alt="{alt}">', strip)
    shot = tmp_path / "report.png"
    chromium(tmp_path, url + f"#open={mask_id}", f"--screenshot={shot}",
             "--window-size=1280,2000")
    assert shot.stat().st_size > 10_000


def test_render_failure_keeps_the_run(pytester):
    pytester.makepyfile(test_dynbench=BENCH_TEST)
    pytester.makeini("[pytest]\naddopts = --strict-markers -p no:cacheprovider\n")
    out = pytester.path / "out"
    (out / "report.html").mkdir(parents=True)  # a directory where the file must go
    result = pytester.runpytest_subprocess("--report-dir", str(out), "--task", "cameraqa",
                                           "--limit", "2")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["WARNING: report.html not written (*"])
    assert json.loads((out / "report.json").read_text())["dynbench"]["counts"]["cases"] == 2


def test_html_command_without_the_data(sample_run, tmp_path, capsys):
    target = tmp_path / "again.html"
    assert cli.main(["html", str(sample_run / "report.json"), "--out", str(target),
                     "--data-dir", str(tmp_path / "gone")]) == 0
    assert capsys.readouterr().out.strip() == str(target)
    data = page_data(target.read_text())
    notes = {d["strip"] for d in data if d["kind"] == "mask"}
    assert len(notes) == 1 and next(iter(notes)).startswith("frames unavailable")
    assert cli.main(["html", str(tmp_path / "nothing")]) == 2


# --- pure parts -----------------------------------------------------------------------------


def test_outcomes_and_worst_first_order():
    recs = [{"id": "a", "kind": "qa", "status": "ok", "correct": True},
            {"id": "b", "kind": "qa", "status": "ok", "correct": False},
            {"id": "c", "kind": "qa", "status": "ok", "correct": False, "unparsed": True},
            {"id": "d", "kind": "qa", "status": "error"}, {"id": "e", "kind": "mask",
                                                           "status": "n/a"},
            {"id": "f", "kind": "mask", "status": "ok", "jf": 0.4}]
    assert [html.outcome(r) for r in recs] == ["correct", "wrong", "unparsed", "error", "n/a",
                                               "mask"]
    assert sorted(recs, key=html.worst_first_rank)[0]["id"] == "d"


def test_strip_candidates_cap_and_order():
    recs = [{"id": f"objmask/s/v/obj{i}", "task": "objmask", "kind": "mask", "status": "ok",
             "jf": (i * 7 % 10) / 10} for i in range(10)]
    chosen = html.strip_candidates(recs, per_task=3)
    assert [r["jf"] for r in chosen] == [0.0, 0.1, 0.2]


def test_histogram_scales():
    bins, scale = html.histogram([0.1, 0.2, 0.3, 1.0], bins=4)
    assert scale == "linear" and [c for *_, c in bins] == [2, 1, 0, 1]
    bins, scale = html.histogram([0.001, 0.002, 5.0], bins=5)
    assert scale == "log" and sum(c for *_, c in bins) == 3 and bins[-1][1] == pytest.approx(5)


def test_hostile_text_cannot_break_out_of_the_page():
    rec = {"id": "qa/s/v/q0", "task": "qa", "kind": "qa", "status": "ok", "correct": False,
           "output": "</script><script>alert(1)</script><!--", "prompt": "<b>x</b>"}
    summary = {"model": {"label": "<i>m</i>"}, "tasks": {}, "errors": [
        {"id": "qa/s/v/q0", "message": "<img src=x onerror=alert(1)>"}]}
    page = html.render_html(summary, [rec])
    assert "<script>alert" not in page and "<img src=x" not in page and "<i>m</i>" not in page
    assert page_data(page)[0]["output"] == rec["output"]


def test_strip_roundtrip(tmp_path):
    masks = np.zeros((12, 60, 200), dtype=bool)
    masks[:, 10:40, 50:150] = True
    assert thumbs.save_strip(tmp_path, "objmask/s/v/obj1", list(range(100, 112)), masks)
    strip = thumbs.read_strip(tmp_path / "thumbs" / "objmask" / "s" / "v" / "obj1.png")
    assert sorted(strip) == thumbs.pick(list(range(100, 112)), thumbs.MAX_FRAMES)
    cell = strip[100]
    assert cell.shape == (29, 96)  # 200x60 -> 96 px wide
    assert cell[10, 48] == 255 and cell[1, 1] == 0
    assert thumbs.save_strip(tmp_path, "x", [1], np.zeros((2, 3))) is None  # never raises


TAMPER = '<img src=x onerror="document.title=\'PWNED\'"><script>document.title="PWNED"</script>'


def _tamper(value):
    return f"{value}{TAMPER}"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install "
                    "chromium); the in-browser check of report.html needs it")
def test_tampered_report_folder_executes_nothing(sample_run, tmp_path):
    """Every kind of value a report folder holds, replaced by markup: the page shows it as
    text and runs only its own script."""
    folder = tmp_path / "tampered"
    shutil.copytree(sample_run, folder)
    report = json.loads((folder / "report.json").read_text())
    s = report["dynbench"]
    s["model"]["label"] = _tamper("label")
    s["counts"]["cases"] = TAMPER
    s["tasks"]["cameraqa"]["n"] = TAMPER
    s["tasks"]["cameraqa"]["ci95"] = [TAMPER, 50]
    s["tasks"]["qa"]["score"] = TAMPER
    s["tasks"]["objmask"]["clusters"] = TAMPER
    s["overall"]["entered"] = [TAMPER]
    s["settings"]["protocol"] = TAMPER
    s["warnings"] = [TAMPER]
    s["run"]["dynbench"] = TAMPER
    s["run"]["packages"]["torch"] = TAMPER
    s["errors"] = [{"id": TAMPER, "message": TAMPER}]
    s["gate"] = {"status": "pass", "baseline": {"path": TAMPER, "model": TAMPER},
                 "max_drop": TAMPER, "alpha": 0.05, "warnings": [TAMPER],
                 "tasks": {"cameraqa": {"baseline": TAMPER, "current": 1.0, "delta": TAMPER,
                                        "n_paired": TAMPER, "videos_paired": TAMPER,
                                        "p_value": TAMPER, "test": TAMPER,
                                        "verdict": TAMPER}},
                 "overall": {"delta": TAMPER, "entered": [TAMPER]}, "floors": [
                     {"name": TAMPER, "task": TAMPER, "score": TAMPER, "floor": TAMPER,
                      "verdict": TAMPER}]}
    (folder / "report.json").write_text(json.dumps(report))
    rows = samples(folder)
    for r in rows[:5]:
        r.update(prompt=TAMPER, output=TAMPER, extracted=TAMPER, truth=TAMPER,
                 notes=[TAMPER], latency_s=TAMPER, error=TAMPER, method=TAMPER)
    rows[0]["id"] = f"qa/x/{TAMPER}/q0"
    rows[1]["task"] = TAMPER
    (folder / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert cli.main(["html", str(folder)]) == 0
    text = (folder / "report.html").read_text()
    assert "<img src=x" not in text and '<script>document.title' not in text
    assert text.count("<script") == 2  # the page's data block and its own script
    url = (folder / "report.html").as_uri()
    for fragment in ("", "#outcome=wrong", f"#open={rows[2]['id']}"):
        proc = chromium(tmp_path, url + fragment, "--dump-dom")
        dom = proc.stdout
        assert js_state(dom) == "ok", proc.stderr[-2000:]
        title = re.search(r"<title>(.*?)</title>", dom, re.S).group(1)
        assert title.startswith("Dyn-Bench: label&lt;img")  # not "PWNED": nothing ran
        assert not re.search(r"<img[^>]+src=\"x\"", dom) and "<script>document" not in dom
    shown = chromium(tmp_path, url + "#open=" + rows[0]["id"].replace("#", "%23"),
                     "--dump-dom").stdout
    assert "&lt;img src=x" in shown  # the markup is visible, as text


def test_errors_grouped_by_type_and_sections():
    summary = {"model": {"name": "m"}, "tasks": {}, "counts": {"cases": 4}, "errors": [
        {"id": "qa/s/a/q0", "message": "data error: a.json: malformed JSON"},
        {"id": "qa/s/a/q1", "message": "RuntimeError during inference: boom"},
        {"id": "qa/s/b/q0", "message": "RuntimeError during inference: boom again"},
        {"id": "qa/s/c/q0", "message": "not run: the run was interrupted"}],
        "run": {"dynbench": "1.2.3", "git": {"commit": "a" * 40, "dirty": True},
                "started": "2025-01-01T12:00:00+0000", "wall_s": 12.5, "cases_per_s": 0.32,
                "xdist_workers": 2, "processes": {"gw0": {"device": "cuda", "gpus": ["H100"]}},
                "python": "3.11", "platform": "Linux", "host": "box",
                "packages": {"torch": "2.5"}},
        "warnings": ["flash-attn is not installed; using SDPA"]}
    records = [{"id": "qa/s/a/q1", "kind": "qa", "task": "qa", "status": "error",
                "error_type": "RuntimeError"},
               {"id": "qa/s/b/q0", "kind": "qa", "task": "qa", "status": "error",
                "error_type": "RuntimeError"}]
    page = html.render_html(summary, records)
    groups = re.findall(r'<summary><b>([^<]+)</b> <span class="meta">(\d+) case', page)
    assert groups == [("RuntimeError", "2"), ("data error", "1"), ("not run", "1")]
    assert "1.2.3 (git aaaaaaaaaaaa dirty)" in page and "0.32 cases/s" in page
    assert "2 xdist workers: gw0: cuda (H100)" in page
    assert "warning: flash-attn is not installed; using SDPA" in page
    assert 'id="legend"' in page and "B vs D" in page
    assert "max_frames=all" in page and "limit=all" in page
