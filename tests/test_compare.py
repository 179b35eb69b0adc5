"""``dynbench compare``: a leaderboard of finished runs in text, Markdown and HTML."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dynbench import cli, report_cli
from dynbench.report import aggregate

SETTINGS = {"protocol": "fair", "jf_mode": "davis", "bound_th": 0.008, "max_frames": None}


def make_run(folder: Path, name: str, qa_correct: int, jf: float, *, as_summary: bool = False,
             **settings) -> Path:
    """A report dir whose cameraqa has 10 cases (qa_correct right) and objmask 4 (J&F jf),
    one case per video."""
    records = [{"id": f"cameraqa/s/v{i}/q0", "task": "cameraqa", "kind": "qa", "status": "ok",
                "correct": i < qa_correct, "content_hash": "h"} for i in range(10)]
    records += [{"id": f"objmask/s/v{i}/obj1", "task": "objmask", "kind": "mask", "status": "ok",
                 "jf": jf + 0.01 * i, "j": jf, "f": jf, "content_hash": "h"} for i in range(4)]
    summary = aggregate(records, model={"name": name, "label": name, "kind": "predictions"},
                        settings={**SETTINGS, **settings})
    folder.mkdir(parents=True)
    if as_summary:
        (folder / "summary.json").write_text(json.dumps(summary))
    else:
        (folder / "report.json").write_text(json.dumps({"dynbench": summary}))
    return folder


@pytest.fixture
def runs(tmp_path) -> list[Path]:
    return [make_run(tmp_path / "weak", "org/weak", 3, 0.20),
            make_run(tmp_path / "strong", "org/strong", 8, 0.60, as_summary=True),
            make_run(tmp_path / "mid", "org/mid", 8, 0.30)]


def compare(*args: str, capsys) -> str:
    assert cli.main(["compare", *args]) == 0
    return capsys.readouterr().out


def test_text_leaderboard_ranks_by_overall_and_marks_best(runs, capsys):
    out = compare(*map(str, runs), capsys=capsys)
    lines = out.splitlines()
    assert re.match(r"\s+#1 org/strong\s+#2 org/mid\s+#3 org/weak$", lines[0])
    assert re.match(r"\s+strong\s+mid\s+weak$", lines[1])
    cameraqa = next(line for line in lines if "(cameraqa)" in line)
    assert cameraqa.startswith("Camera-Object QA (cameraqa)")
    # clustered intervals (one case per video: Wilson at n_eff = n - 1)
    assert cameraqa.split()[3:] == ["80.0", "[47.4-94.7]", "n=10", "v=10", "80.0",
                                    "[47.4-94.7]", "n=10", "v=10", "30.0", "[10.2-61.8]",
                                    "n=10", "v=10"]  # a tie: no star
    objmask = next(line for line in lines if "(objmask)" in line)
    assert "n=4 v=4 *" in objmask and objmask.index("*") < objmask.index("31.5")
    assert next(line for line in lines if "(sceneqa)" in line).split()[3:] == ["-", "-", "-"]
    overall = next(line for line in lines if line.startswith("overall"))
    assert overall.split()[1:4] == ["70.8", "(2", "tasks)"] and overall.count("*") == 1
    assert "note:" not in out
    assert "intervals are 95%, clustered by video" in out


def test_run_without_clusters_is_noted(tmp_path, runs, capsys):
    old = runs[0] / "report.json"
    doc = json.loads(old.read_text())
    for task in doc["dynbench"]["tasks"].values():
        task.pop("clusters"), task.pop("design_effect")
    old.write_text(json.dumps(doc))
    out = compare(*map(str, runs), capsys=capsys)
    assert "note: weak: written before intervals were clustered by video" in out
    assert next(line for line in out.splitlines() if "(cameraqa)" in line).endswith("n=10")


def test_markdown_and_notes_on_differences(tmp_path, runs, capsys):
    other = make_run(tmp_path / "ref", "org/ref", 5, 0.5, protocol="reference")
    out = compare(str(runs[0]), str(other / "report.json"), "--format", "md", capsys=capsys)
    lines = out.splitlines()
    assert lines[0] == "| | #1 org/ref (ref) | #2 org/weak (weak) |"
    assert lines[1] == "|---|---|---|"
    assert "| Inter-Object mask (objmask) | **51.5 [" in out
    assert "> note: scoring setting protocol differs (fair, reference): scores are not " \
           "comparable" in out


def test_html_out_file(tmp_path, runs, capsys):
    target = tmp_path / "board.html"
    assert cli.main(["compare", *map(str, runs), "--format", "html", "--out", str(target)]) == 0
    assert capsys.readouterr().out.strip() == str(target)
    page = target.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert page.count("<tr>") == 8  # header, six tasks, overall
    assert "<b>70.8 (2 tasks)</b>" in page


def test_missing_run_is_an_error(tmp_path, capsys):
    assert cli.main(["compare", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_leaderboard_is_pure(runs):
    from dynbench.runfolder import load_run

    board = report_cli.leaderboard([load_run(p, samples=False) for p in runs])
    assert [c["label"] for c in board["columns"]] == ["org/strong", "org/mid", "org/weak"]
    assert [r["label"] for r in board["rows"]][-1] == "overall"
    assert board["rows"][0]["best"] is None and board["rows"][-1]["best"] == 0
