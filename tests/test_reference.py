"""--protocol reference against an independent statement of the official rules
(tests/official_rules.py) on messy data and predictions: per case and per task to 1e-9,
every convention named where it changed a case, errors visible, fair untouched."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dynbench.adapters.base import MASK, QA, Adapter, Segmentation
from dynbench.modelspec import ModelSpec
from dynbench.reference import CONVENTIONS
from tests import official_rules
from tests.messy_reference import (
    ABC,
    EXPECT,
    OBJ,
    SIZE,
    World,
    box,
    counted,
    messy_world,
    predictions,
    random_world,
    run_reference,
)

ROOT = Path(__file__).resolve().parents[1]
BENCH_TEST = (ROOT / "bench_tests" / "test_dynbench.py").read_text()
TOL = 1e-9


def assert_matches_official(records: dict[str, dict], summary: dict, world: World) -> None:
    per_case, per_task = official_rules.evaluate(world.root, world.pred)
    assert set(counted(records)) == set(per_case)
    for case_id, official in per_case.items():
        r = records[case_id]
        if "accuracy" in official:
            assert float(bool(r["correct"])) == official["accuracy"], (case_id, r)
        else:
            assert abs(r["jf"] - official["J&F"]) <= TOL, (case_id, r["jf"], official)
            if "J" in official:
                assert abs(r["j"] - official["J"]) <= TOL and abs(r["f"] - official["F"]) <= TOL
    for task, score in per_task.items():
        mine = summary["overall"] if task == "overall" else summary["tasks"][task]
        assert abs(mine["score_exact"] - score) <= TOL, (task, mine["score_exact"], score)
    assert set(summary["tasks"]) >= set(per_task) - {"overall"}


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    world = messy_world(tmp_path_factory.mktemp("messy"))
    records, summary = run_reference(world.root, predictions(world))
    return world, records, summary


def test_messy_dataset_equals_official_rules_per_case_and_task(messy):
    world, records, summary = messy
    assert_matches_official(records, summary, world)


def test_each_case_names_the_conventions_that_changed_it(messy):
    _, records, _ = messy
    for case_id, expected in EXPECT.items():
        assert set(records[case_id]["reference_conventions"]) == expected, \
            (case_id, records[case_id]["reference_conventions"], records[case_id].get("error"))
    named = {n for r in records.values() for n in r["reference_conventions"]}
    missing = set(CONVENTIONS) - named - {"options_verbatim", "pred_threshold_half"}
    assert not missing, f"conventions never exercised: {missing}"


def test_summary_counts_conventions_per_task_and_overall(messy):
    _, records, summary = messy
    total: dict[str, int] = {}
    for r in records.values():
        for n in r["reference_conventions"]:
            total[n] = total.get(n, 0) + 1
    assert summary["reference_conventions"] == total
    for task, entry in summary["tasks"].items():
        mine = [r for r in records.values() if r["task"] == task]
        assert sum(entry["reference_conventions"].values()) == sum(
            len(r["reference_conventions"]) for r in mine)


def test_skipped_scenes_are_listed_not_counted(messy):
    _, records, summary = messy
    skipped = {s["id"] for s in summary["skipped"]}
    assert skipped == {"cameraqa/srcA/no_frames/q0", "objmask/srcA/no_frames/obj1",
                       "sceneqa/srcA/empty_frames/q0", "qa/srcA/jpeg_only/q0",
                       "qa/srcA/cam[1]/q0"}
    assert summary["counts"]["skipped"] == 5
    assert all("official code skips" in s["reason"] for s in summary["skipped"])
    qa_entry = summary["tasks"]["qa"]
    assert qa_entry["skipped"] == 2 and qa_entry["n"] == 0 and qa_entry["score"] is None


def test_errors_stay_errors_and_score_zero(messy):
    _, records, summary = messy
    errors = {r["id"]: r["error"] for r in records.values() if r["status"] == "error"}
    expected = {
        "cameraqa/srcB/qa_messy/q19": "is not text",  # answer 2
        "cameraqa/srcB/qa_messy/q20": "TypeError",  # options ["A. x", 5]
        "cameraqa/srcB/qa_messy/q21": "no answer",
        "cameramask/srcA/pred_odd/obj3": "is missing",
        "cameramask/srcA/pred_odd/obj4": "stop at",
        "cameramask/srcA/pred_odd/obj5": "cannot be decoded",
        "cameramask/srcA/pred_odd/obj8": "none for the listed frames",
        "sceneqa/srcB/bad_frame/q0": "cannot decode",
    }
    for case_id, text in expected.items():
        assert text in errors[case_id], (case_id, errors.get(case_id))
        r = records[case_id]
        assert (r.get("correct") is False) if r["kind"] == "qa" else r["jf"] == 0.0
    file_level = {k for k, r in records.items() if r["file_problem"]}
    assert {"data/srcB/noscore/file", "sceneqa/srcB/files/file", "qa/srcB/files/file",
            "cameraqa/srcB/files/file", "objmask/srcB/dir/file"} <= file_level
    assert summary["counts"]["errors"] == len(errors)


def test_random_messy_datasets_equal_official_rules(tmp_path):
    for seed in range(24):
        world = random_world(tmp_path / str(seed), seed)
        records, summary = run_reference(world.root, predictions(world))
        assert_matches_official(records, summary, world)


# ------------------------------------------------------------------------ model inputs


class Scripted(Adapter):
    """Records what it is shown; answers and masks as scripted."""

    family = "scripted"
    capabilities = frozenset({QA, MASK})

    def __init__(self, masks=None, answer="B"):
        super().__init__(ModelSpec(name="scripted"))
        self.masks, self.reply, self.seen = masks, answer, {}

    def answer(self, video, request):
        self.seen[request.case_id] = (video, request)
        return self.reply

    def segment(self, video, request):
        self.seen[request.case_id] = (video, request)
        return Segmentation(None if self.masks is None else self.masks(video), "")


def test_model_sees_official_prompt_and_frames(tmp_path):
    w = World(tmp_path)
    w.frames("s", "v", [f"frame_{i}.png" for i in range(11)])
    items = [{"question": "Q?", "options": ["A) left", "B) right"], "answer": "B"},
             {"question": "Q?", "options": ABC, "answer": "B"},
             {"question": "Only the question", "answer": "B"}]
    w.task("s", "v_qa.json", items)
    w.close()
    adapter = Scripted()
    records, _ = run_reference(w.root, adapter)
    prompts = [adapter.seen[f"qa/s/v/q{i}"][1].prompt for i in range(3)]
    assert prompts == [official_rules.qa_prompt(i["question"], i.get("options", []))
                       for i in items]
    video = adapter.seen["qa/s/v/q0"][0]
    assert [p.name for p in video.paths][:4] == ["frame_0.png", "frame_1.png", "frame_10.png",
                                                 "frame_2.png"]
    assert video.frame_indices[:4] == [0, 1, 10, 2]
    assert records["qa/s/v/q0"]["reference_conventions"] == ["frame_listing", "options_verbatim"]
    assert records["qa/s/v/q1"]["reference_conventions"] == ["frame_listing"]
    assert records["qa/s/v/q2"]["reference_conventions"] == ["frame_listing", "unvalidated_item"]


def test_model_masks_threshold_and_no_mask(tmp_path):
    w = World(tmp_path)
    w.frames("s", "v", [f"frame_{i:04d}.jpg" for i in range(3)])
    for i in range(3):  # the object has left the view in the last frame
        w.mask("s", "v", f"frame_{i:04d}_obj1.png", box(SIZE, i) * (i < 2))
    w.task("s", "v_objmask.json", {"obj_1": OBJ})
    w.close()

    def soft(video):  # probabilities: 0.4 inside the object, 0.3 elsewhere
        truth = np.stack([box(SIZE, i) for i in range(len(video))]) > 0
        return np.where(truth, 0.4, 0.3).astype(np.float32)

    records, _ = run_reference(w.root, Scripted(masks=soft))
    r = records["objmask/s/v/obj1"]
    # nothing above 0.5: an empty prediction, right only where the object is gone
    assert r["j"] == r["f"] == pytest.approx(1 / 3)
    assert "pred_threshold_half" in r["reference_conventions"]
    records, _ = run_reference(w.root, Scripted(masks=None))
    r = records["objmask/s/v/obj1"]
    assert r["status"] == "ok" and r["jf"] == 0.0 and r["mask_produced"] is False
    assert r["reference_conventions"] == ["no_masks_zero"]


def test_entries_the_official_code_stops_on_are_errors(tmp_path):
    w = World(tmp_path)
    w.frames("s", "v", [f"frame_{i:04d}.jpg" for i in range(2)])
    w.task("s", "v_cameraqa.json", [{"question": "q", "options": ABC, "answer": "A"}, "text"])
    w.task("s", "v_qa.json", {"not": "a list"})
    w.task("s", "v_objmask.json", [OBJ])
    w.task("s", "v_scenemask.json", {"obj_1": "text"})
    w.answer("cameraqa/s/v/q0", "A")
    w.close()
    with pytest.raises(official_rules.CrashingData):
        official_rules.evaluate(w.root, w.pred)
    records, summary = run_reference(w.root, predictions(w))
    assert records["cameraqa/s/v/q0"]["correct"] is True
    for case_id in ("cameraqa/s/v/q1", "qa/s/v/file", "objmask/s/v/file", "scenemask/s/v/obj1"):
        assert records[case_id]["status"] == "error"
        assert "official code stops" in records[case_id]["error"]


# ------------------------------------------------------------------------ through pytest


@pytest.fixture
def bench(pytester):
    pytester.makepyfile(test_dynbench=BENCH_TEST)
    pytester.makeini("[pytest]\naddopts = --strict-markers -p no:cacheprovider\n")
    return pytester.runpytest_subprocess


def test_pytest_run_reports_official_numbers_and_keeps_fair(bench, tmp_path):
    world = messy_world(tmp_path / "w")
    out, fair_out = tmp_path / "ref", tmp_path / "fair"
    result = bench("--data-dir", str(world.root), "--predictions", str(world.pred),
                   "--protocol", "reference", "--report-dir", str(out))
    assert result.ret == 1  # errors are errors
    result.stdout.fnmatch_lines(["*reference conventions (cases they changed vs fair):*",
                                 "*skipped as the official code does, not counted: 5 case(s)*"])
    summary = json.loads((out / "report.json").read_text())["dynbench"]
    records = {r["id"]: r for r in map(json.loads, (out / "samples.jsonl").read_text()
                                       .splitlines())}
    assert_matches_official(records, summary, world)
    assert all(isinstance(r["reference_conventions"], list) for r in records.values())
    outcomes = json.loads((out / "report.json").read_text())["summary"]
    assert outcomes["skipped"] == 5

    parallel, rescored = tmp_path / "par", tmp_path / "again"
    assert bench("--data-dir", str(world.root), "--predictions", str(world.pred), "-n", "2",
                 "--protocol", "reference", "--save-masks", "--report-dir", str(parallel)).ret == 1
    assert bench("--data-dir", str(world.root), "--predictions", str(parallel),
                 "--protocol", "reference", "--report-dir", str(rescored)).ret == 1
    for folder in (parallel, rescored):  # -n 2 and a re-scored report folder: the same
        again = {r["id"]: r for r in map(json.loads, (folder / "samples.jsonl").read_text()
                                         .splitlines())}
        assert set(again) == set(records)
        for case_id, r in records.items():
            keys = ("status", "correct", "jf", "j", "f", "reference_conventions")
            assert {k: again[case_id].get(k) for k in keys} == {k: r.get(k) for k in keys} \
                or (r["status"] == again[case_id]["status"] == "error"), case_id

    fair = bench("--data-dir", str(world.root), "--predictions", str(world.pred),
                 "--report-dir", str(fair_out))
    assert fair.ret == 1
    fair_summary = json.loads((fair_out / "summary.json").read_text())
    assert "reference_conventions" not in fair_summary and "skipped" not in fair_summary
    assert all("score_exact" not in e for e in fair_summary["tasks"].values())
    fair_records = {r["id"]: r for r in map(json.loads, (fair_out / "samples.jsonl")
                                            .read_text().splitlines())}
    assert fair_records["cameraqa/srcA/no_frames/q0"]["status"] == "error"
    assert "reference_conventions" not in fair_records["cameraqa/srcB/qa_messy/q2"]


def test_settings_without_an_official_counterpart_are_refused(bench, tmp_path):
    world = messy_world(tmp_path / "w")
    for extra in (("--jf-mode", "davis"), ("--qa-mode", "logits")):
        result = bench("--data-dir", str(world.root), "--protocol", "reference", *extra)
        assert result.ret == 4
        result.stderr.fnmatch_lines([f"*--protocol reference*drop {extra[0]}*"])
