"""Opt-in: the official evaluation code itself scores the same data and predictions.

Set ``DYNBENCH_REALCODE`` to a folder of fetched public code holding the paper's official
code at ``Thinking-in-Dynamics/`` (a plain copy of the repository tree). The test imports its
``utils/load_tasks.py``, ``utils/cal_metrics.py``, ``utils/run_qa_task.py`` and
``utils/run_mask_task.py`` (``colorama`` is stubbed when it is not installed), plays the
model with a stand-in that returns the saved predictions, replicates ``eval.py``'s per-task
loop and aggregation, and asserts that ``--protocol reference`` gives the same numbers per
case and per task (|diff| <= 1e-9). The official code is never copied into this repository.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from tests import official_rules
from tests.messy_reference import counted, messy_world, predictions, random_world, run_reference

REALCODE = os.environ.get("DYNBENCH_REALCODE")
pytestmark = pytest.mark.skipif(not REALCODE, reason="set DYNBENCH_REALCODE=<folder of "
                                "fetched public code> to run the official evaluation code")
TOL = 1e-9
CATEGORY = {"cameraqa": ("Camera-Object", "QA_Accuracy"),
            "cameramask": ("Camera-Object", "Mask_J&F"),
            "qa": ("Inter-Object", "QA_Accuracy"), "objmask": ("Inter-Object", "Mask_J&F"),
            "sceneqa": ("Object-Scene", "QA_Accuracy"),
            "scenemask": ("Object-Scene", "Mask_J&F")}


def _colorama_stub() -> None:
    try:
        import colorama  # noqa: F401
    except ImportError:
        stub = types.ModuleType("colorama")
        stub.Fore = types.SimpleNamespace(RED="", GREEN="", YELLOW="", BLUE="", CYAN="")
        stub.init = lambda **kw: None
        sys.modules["colorama"] = stub


@pytest.fixture(scope="module")
def official():
    code = Path(REALCODE) / "Thinking-in-Dynamics" / "utils"
    if not (code / "cal_metrics.py").is_file():
        pytest.fail(f"{code}/cal_metrics.py not found: DYNBENCH_REALCODE must hold "
                    "Thinking-in-Dynamics/ (the official evaluation code)")
    _colorama_stub()
    mods = {}
    for name in ("load_tasks", "cal_metrics", "run_qa_task", "run_mask_task"):
        spec = importlib.util.spec_from_file_location(f"official_{name}", code / f"{name}.py")
        mods[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mods[name])
    return types.SimpleNamespace(**mods)


class SavedOutputs:
    """Plays the model the official code calls (the Sa2VA interface: ``predict_forward``),
    returning the saved prediction of the case being evaluated."""

    def __init__(self, pred: Path) -> None:
        self.pred = pred
        self.answers = official_rules.read_answers(pred / "answers.jsonl")
        self.case_id: str | None = None
        self.frames: list[str] = []

    def predict_forward(self, video, text, past_text, mask_prompts, tokenizer=None,
                        processor=None):
        if self.case_id.split("/", 1)[0].endswith("mask"):
            masks = official_rules.read_predicted_masks(self.pred / "masks" / self.case_id,
                                                        self.frames)
            return {"prediction": "", "prediction_masks": masks}
        return {"prediction": self.answers[self.case_id]}


def official_eval(official, root: Path, pred: Path) -> tuple[dict[str, dict], dict]:
    """eval.py's loop and summary with the official functions (model: saved outputs)."""
    tasks = official.load_tasks.load_all_tasks(root, "all")
    ids = official_rules.with_ids([
        {"task": t["task_type"], "source": t["dataset"], "scene": t["scene_name"],
         "kind": "mask" if t["is_segmentation"] else "qa", "index": t.get("question_idx"),
         "key": t.get("object_id")} for t in tasks])
    model = SavedOutputs(pred)
    model_dict = {"model": model, "model_type": "sa2va", "tokenizer": None, "processor": None,
                  "device": "cpu"}
    per_case: dict[str, dict] = {}
    by_category = defaultdict(lambda: {"qa": [], "mask": []})
    for task, named in zip(tasks, ids, strict=True):
        model.case_id, model.frames = named["id"], task["frame_paths"]
        if task["is_segmentation"]:
            try:
                _, masks = official.run_mask_task.run_mask_task(
                    model_dict=model_dict, frame_paths=task["frame_paths"],
                    question=task["question"], crop_caption=task.get("crop_caption", ""),
                    crop_category=task.get("crop_category", ""))
                if isinstance(masks, list) and masks and isinstance(masks[0], np.ndarray) \
                        and masks[0].ndim == 3:
                    masks = [masks[0][i] for i in range(masks[0].shape[0])]
                gt = official.cal_metrics.load_gt_masks(task["mask_dir"], task["object_id"],
                                                        len(task["frame_paths"]))
                value = official.cal_metrics.compute_jf_score(masks, gt, 2)
            except Exception:  # noqa: BLE001 - eval.py: any failure scores 0
                value = {"J&F": 0.0}
            by_category[task["category"]]["mask"].append(value["J&F"])
        else:
            try:
                answer = official.run_qa_task.run_qa_task(
                    model_dict=model_dict, frame_paths=task["frame_paths"],
                    question=task["question"], options=task["options"])
                value = {"accuracy": official.cal_metrics.compute_qa_accuracy(answer,
                                                                             task["answer"])}
            except Exception:  # noqa: BLE001 - eval.py: any failure scores 0
                value = {"accuracy": 0.0}
            by_category[task["category"]]["qa"].append(value["accuracy"])
        per_case[named["id"]] = value
    summary, scores = {}, []
    for category in ("Camera-Object", "Inter-Object", "Object-Scene"):
        for kind, key in (("qa", "QA_Accuracy"), ("mask", "Mask_J&F")):
            if by_category[category][kind]:
                summary[f"{category}_{key}"] = np.mean(by_category[category][kind]) * 100
                scores.append(summary[f"{category}_{key}"])
    if scores:
        summary["Overall"] = np.mean(scores)
    return per_case, summary


def compare(official, world) -> tuple[int, int]:
    expected, summary = official_eval(official, world.root, world.pred)
    records, mine = run_reference(world.root, predictions(world))
    assert set(counted(records)) == set(expected)
    for case_id, value in expected.items():
        r = records[case_id]
        if "accuracy" in value:
            assert float(bool(r["correct"])) == value["accuracy"], (case_id, r)
        else:
            assert abs(r["jf"] - value["J&F"]) <= TOL, (case_id, r["jf"], value)
            if "J" in value:
                assert abs(r["j"] - value["J"]) <= TOL and abs(r["f"] - value["F"]) <= TOL
    tasks = 0
    for task, (category, key) in CATEGORY.items():
        name = f"{category}_{key}"
        if name in summary:
            tasks += 1
            assert abs(mine["tasks"][task]["score_exact"] - summary[name]) <= TOL, task
        else:
            assert mine["tasks"].get(task, {}).get("score_exact") is None, task
    assert abs(mine["overall"]["score_exact"] - summary["Overall"]) <= TOL
    print(f"official code == reference protocol on {len(expected)} cases, {tasks} tasks, "
          f"overall {summary['Overall']:.6f}")
    return len(expected), tasks


def test_messy_world_equals_the_official_code(official, tmp_path):
    compare(official, messy_world(tmp_path))


def test_random_worlds_equal_the_official_code(official, tmp_path):
    cases = 0
    for seed in range(40):
        cases += compare(official, random_world(tmp_path / str(seed), seed))[0]
    assert cases > 400
