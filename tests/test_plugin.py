"""The plugin end to end: real pytest runs over small datasets, checked independently."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dynbench.data import read_dataset
from dynbench.media import list_frames
from tests import independent
from tests.builders import OBJECT, QUESTION, small_dataset, write_scene

ROOT = Path(__file__).resolve().parents[1]
BENCH_TEST = (ROOT / "bench_tests" / "test_dynbench.py").read_text()


@pytest.fixture
def bench(pytester):
    pytester.makepyfile(test_dynbench=BENCH_TEST)
    pytester.makeini("[pytest]\naddopts = --strict-markers -p no:cacheprovider\n")

    def run(*args: str):
        return pytester.runpytest_subprocess(*args)

    return run


def samples(report_dir: Path) -> dict[str, dict]:
    lines = (report_dir / "samples.jsonl").read_text().splitlines()
    return {r["id"]: r for r in map(json.loads, lines)}


def summary(report_dir: Path) -> dict:
    return json.loads((report_dir / "report.json").read_text())["dynbench"]


def test_space_form_options_from_project_root(tmp_path):
    data, out = small_dataset(tmp_path / "d"), tmp_path / "elsewhere" / "out"
    proc = subprocess.run([sys.executable, "-m", "pytest", "--data-dir", str(data),
                           "--report-dir", str(out), "--task", "cameraqa"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"rootdir: {ROOT}" in proc.stdout and "configfile: pytest.ini" in proc.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["passed"] == 2
    assert set(report["dynbench"]["tasks"]) == {"cameraqa"}


def test_report_layout_and_baseline_label(bench, tmp_path):
    data, out = small_dataset(tmp_path / "d"), tmp_path / "out"
    result = bench("--data-dir", str(data), "--report-dir", str(out))
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(["*Dyn-Bench: chance-level baseline (seed 0) [[]baseline[]]*",
                                 "dimension*QA accuracy*mask J&F*", "Camera-Object*",
                                 "overall*"])
    s = summary(out)
    assert s["model"]["kind"] == "baseline"
    assert set(s["tasks"]) == {"cameraqa", "objmask", "sceneqa", "qa", "scenemask",
                               "cameramask"}
    for entry in s["tasks"].values():
        assert {"metric", "score", "n", "ci95", "errors", "unparsed"} <= set(entry)
    assert s["settings"]["protocol"] == "fair" and s["settings"]["jf_mode"] == "davis"
    assert len(samples(out)) == 7
    assert (out / "answers.jsonl").exists() and (out / "summary.json").exists()
    assert not (out / "samples.partial.jsonl").exists()


def _write_predictions(data: Path, pred: Path, outputs: dict[str, str]) -> dict:
    """Perturbed copies of the truth as predicted masks; returns them for checking."""
    rng = np.random.default_rng(7)
    (pred / "answers.jsonl").parent.mkdir(parents=True, exist_ok=True)
    (pred / "answers.jsonl").write_text("".join(json.dumps({"id": k, "output": v}) + "\n"
                                                for k, v in outputs.items()))
    written = {}
    for case in read_dataset(data).cases:
        if case.kind != "mask":
            continue
        frames = list_frames(data, case.source, case.scene)
        folder = pred / "masks" / case.id
        folder.mkdir(parents=True)
        for index, path in zip(frames.indices, frames.paths, strict=True):
            w, h = Image.open(path).size
            mask = rng.random((h, w)) < 0.05
            mask[rng.integers(h):, rng.integers(w):] ^= True
            Image.fromarray(mask.astype(np.uint8) * 255).save(folder / f"frame_{index:04d}.png")
            written[(case.id, index)] = mask
    return written


def _truth(data: Path, case_id: str, index: int, shape) -> np.ndarray:
    _, source, scene, obj = case_id.split("/")
    path = data / "masks" / source / scene / f"frame_{index:04d}_{obj}.png"
    return np.asarray(Image.open(path)) > 0 if path.exists() else np.zeros(shape, bool)


def test_predictions_match_independent_davis_and_extraction(bench, tmp_path):
    data, pred, out = small_dataset(tmp_path / "d"), tmp_path / "p", tmp_path / "out"
    outputs = {"cameraqa/srcA/street_cross_02/q0": "The answer is (B).",
               "cameraqa/srcA/street_cross_02/q1": "<think>maybe A</think>\\boxed{c}",
               "sceneqa/srcA/park/q0": "A or B",
               "qa/srcA/park/q0": "right"}
    written = _write_predictions(data, pred, outputs)
    result = bench("--data-dir", str(data), "--predictions", str(pred), "--report-dir", str(out))
    result.assert_outcomes(passed=7)
    recs = samples(out)
    assert [recs[k]["extracted"] for k in outputs] == ["B", "C", None, "B"]
    assert recs["sceneqa/srcA/park/q0"]["unparsed"] is True
    for case_id, rec in recs.items():
        if rec["kind"] != "mask":
            continue
        preds = [written[(case_id, i)] for i in rec["frames"]]
        gts = [_truth(data, case_id, i, preds[0].shape) for i in rec["frames"]]
        j, f, jf = independent.jf(preds, gts)
        assert rec["j"] == pytest.approx(j, abs=1e-9)
        assert rec["f"] == pytest.approx(f, abs=1e-9)
        assert rec["jf"] == pytest.approx(jf, abs=1e-9)
    s = summary(out)
    assert s["tasks"]["sceneqa"]["unparsed"] == 1
    assert s["model"]["kind"] == "predictions"


def test_max_frames_scores_the_shown_frames_only(bench, tmp_path):
    data, pred, out = tmp_path / "d", tmp_path / "p", tmp_path / "out"
    write_scene(data, "s", "long", frames=9, qa={})
    written = _write_predictions(data, pred, {})
    bench("--data-dir", str(data), "--predictions", str(pred), "--report-dir", str(out),
          "--max-frames", "3").assert_outcomes(passed=1)
    rec = samples(out)["objmask/s/long/obj1"]
    assert rec["frames"] == [0, 4, 8]
    preds = [written[("objmask/s/long/obj1", i)] for i in (0, 4, 8)]
    gts = [_truth(data, "objmask/s/long/obj1", i, preds[0].shape) for i in (0, 4, 8)]
    assert rec["jf"] == pytest.approx(independent.jf(preds, gts)[2], abs=1e-9)


def test_missing_predictions_are_errors_not_empty(bench, tmp_path):
    data, pred, out = small_dataset(tmp_path / "d"), tmp_path / "p", tmp_path / "out"
    _write_predictions(data, pred, {"cameraqa/srcA/street_cross_02/q0": "B"})
    (pred / "masks/objmask/srcA/street_cross_02/obj1/frame_0002.png").unlink()
    result = bench("--data-dir", str(data), "--predictions", str(pred), "--report-dir", str(out))
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*no answer for cameraqa/srcA/street_cross_02/q1*",
                                 "*frame_0002.png is missing*"])
    recs = samples(out)
    assert recs["objmask/srcA/street_cross_02/obj1"]["status"] == "error"
    assert recs["objmask/srcA/street_cross_02/obj1"]["jf"] == 0.0
    assert summary(out)["tasks"]["cameraqa"]["errors"] == 1


def test_exact_task_selection_markers_and_limit(bench, tmp_path):
    data = small_dataset(tmp_path / "d")
    write_scene(data, "srcB", "x", qa={"qa": [QUESTION] * 5}, objects={})
    common = ("--data-dir", str(data), "--report-dir", str(tmp_path / "o"), "--co", "-q")
    ids = bench(*common, "--task", "qa").stdout.str()
    assert "qa/srcB/x/q4" in ids and "cameraqa" not in ids and "sceneqa" not in ids
    limited = bench(*common, "--task", "qa", "--limit", "2").stdout.str()
    assert "qa/srcA/park/q0" in limited and "qa/srcB/x/q0" in limited
    assert "qa/srcB/x/q1" not in limited
    marked = bench(*common, "-m", "inter_object").stdout.str()
    assert "objmask/" in marked and "qa/srcB/x/q0" in marked and "cameraqa" not in marked


def test_unknown_model_is_a_usage_error(bench, tmp_path):
    data = small_dataset(tmp_path / "d")
    result = bench("--data-dir", str(data), "--model", "acme/NotAModel-7B")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no adapter knows model 'acme/NotAModel-7B'*",
                                 "*qwen2_5_vl*", "*--adapter FAMILY*"])
    assert "Traceback" not in result.stderr.str()


def _defective_dataset(root: Path) -> Path:
    write_scene(root, "s", "good")
    write_scene(root, "s", "corrupt_frame")
    (root / "frames/s/corrupt_frame/frame_0001.png").write_bytes(b"not a png")
    write_scene(root, "s", "no_frames")
    for p in (root / "frames/s/no_frames").iterdir():
        p.unlink()
    (root / "frames/s/no_frames").rmdir()
    write_scene(root, "s", "badjson", qa={"cameraqa": [QUESTION, {**QUESTION, "answer": "Z"}],
                                          "sceneqa": []},
                objects={"scenemask": {"obj_1": OBJECT, "obj_9": OBJECT}})
    (root / "multi_json/s/badjson_qa.json").write_text("[{oops")
    (root / "multi_json/s/badjson_cameramask.json").write_text("")
    (root / "multi_json/s/badjson_weirdtask.json").write_text("[]")
    write_scene(root, "s", "bigmask", qa={})
    Image.new("L", (10, 10), 255).save(root / "masks/s/bigmask/frame_0001_obj1.png")
    return root


def test_defects_run_to_the_end_and_are_named(bench, tmp_path):
    data, out = _defective_dataset(tmp_path / "d"), tmp_path / "out"
    result = bench("--data-dir", str(data), "--report-dir", str(out))
    assert result.ret == 1
    text = result.stdout.str()
    for needle in ["frame_0001.png: cannot decode image", "frames/s/no_frames/: frame folder is "
                   "missing", "answer 'Z' is not among the option letters",
                   "badjson_qa.json: malformed JSON", "badjson_cameramask.json: is empty",
                   "unknown task suffix 'weirdtask'", "no mask files for object 9",
                   "frame_0001_obj1.png: mask is 10x10 but its frame is 32x24",
                   "badjson_sceneqa.json: holds no questions"]:
        assert needle in text, needle
    recs = samples(out)
    assert recs["cameraqa/s/good/q0"]["status"] == "ok"
    assert recs["objmask/s/good/obj1"]["status"] == "ok"
    assert recs["scenemask/s/badjson/obj1"]["status"] == "ok"
    s = summary(out)
    assert s["counts"]["errors"] == len([r for r in recs.values() if r["status"] == "error"])
    assert s["tasks"]["cameraqa"]["errors"] >= 3


def test_xdist_two_workers_write_the_same_scores(bench, tmp_path):
    data = small_dataset(tmp_path / "d")
    for i in range(4):
        write_scene(data, "srcB", f"scene_{i}", frames=3 + i,
                    qa={"qa": [QUESTION] * 3, "sceneqa": [QUESTION]})
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    bench("--data-dir", str(data), "--report-dir", str(serial)).assert_outcomes(passed=27)
    bench("--data-dir", str(data), "--report-dir", str(parallel), "-n", "2").assert_outcomes(
        passed=27)
    strip = {"latency_s"}
    a, b = samples(serial), samples(parallel)
    assert a.keys() == b.keys()
    for k in a:
        assert {x: v for x, v in a[k].items() if x not in strip} == \
            {x: v for x, v in b[k].items() if x not in strip}
    sa, sb = summary(serial), summary(parallel)
    assert sa["tasks"] == sb["tasks"] and sa["overall"] == sb["overall"]


def test_each_xdist_worker_gets_its_own_gpu(pytester, tmp_path):
    pytester.makepyfile(test_env='''
import os, pytest

@pytest.mark.parametrize("i", range(8))
def test_record(i, tmp_path_factory):
    out = tmp_path_factory.getbasetemp().parent.parent / "seen.txt"
    with open(out, "a") as f:
        worker, gpus = os.environ["PYTEST_XDIST_WORKER"], os.environ["CUDA_VISIBLE_DEVICES"]
        f.write(worker + "=" + gpus + "\\n")
''')
    result = pytester.runpytest_subprocess("-p", "dynbench.plugin", "-n", "2", "--gpus", "4,7",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=8)
    seen = set(next(pytester.path.parent.rglob("seen.txt")).read_text().split())
    assert seen == {"gw0=4", "gw1=7"}


def test_collect_only_writes_no_report_and_marks_nothing(bench, tmp_path):
    data, out = small_dataset(tmp_path / "d"), tmp_path / "out"
    result = bench("--data-dir", str(data), "--report-dir", str(out), "--co")
    assert result.ret == 0
    assert not out.exists()


def test_reference_protocol_shows_all_frames(bench, tmp_path):
    data = small_dataset(tmp_path / "d")
    result = bench("--data-dir", str(data), "--protocol", "reference", "--max-frames", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--protocol reference*drop --max-frames*"])
    ok = bench("--data-dir", str(data), "--protocol", "reference", "--report-dir",
               str(tmp_path / "o"))
    assert ok.ret == 0
    s = summary(tmp_path / "o")
    assert s["settings"]["protocol"] == "reference" and s["settings"]["jf_mode"] == "reference"
    assert all(r["method"] == "reference_first_token" for r in samples(tmp_path / "o").values()
               if r["kind"] == "qa")
