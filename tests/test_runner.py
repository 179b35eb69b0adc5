"""One case end to end through the Runner, with small fake adapters."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from dynbench.adapters.base import MASK, QA, Adapter, Segmentation
from dynbench.data import read_dataset
from dynbench.modelspec import ModelSpec
from dynbench.report import aggregate
from dynbench.runner import Runner, RunSettings
from tests.builders import small_dataset


class Recording(Adapter):
    family = "recording"
    capabilities = frozenset({QA, MASK})

    def __init__(self, answer="B", masks="truthless", raise_exc=None):
        super().__init__(ModelSpec(name="fake"))
        self.seen = []
        self.reply, self.masks, self.raise_exc = answer, masks, raise_exc
        self.warmed = threading.Event()

    def answer(self, video, request):
        self.seen.append((video, request))
        if self.raise_exc:
            raise self.raise_exc
        return self.reply

    def segment(self, video, request):
        self.seen.append((video, request))
        if self.raise_exc:
            raise self.raise_exc
        if self.masks == "none":
            return Segmentation(None, "no [SEG]")
        w, h = video.size
        t = len(video) + (1 if self.masks == "misaligned" else 0)
        return Segmentation(np.ones((t, h, w), bool), "[SEG]")

    def warm(self, video):
        self.warmed.set()


class QAOnly(Recording):
    capabilities = frozenset({QA})


@pytest.fixture
def data(tmp_path):
    root = small_dataset(tmp_path)
    return root, {c.id: c for c in read_dataset(root).cases}


def runner(root, adapter, **kw):
    return Runner(RunSettings(root=root, **kw), adapter)


def test_the_model_never_sees_the_answer(data):
    root, cases = data
    adapter = Recording()
    record = runner(root, adapter).run(cases["cameraqa/srcA/street_cross_02/q0"])
    _, request = adapter.seen[0]
    assert record["correct"] is True and record["truth"] == "B"
    assert not any(getattr(request, f) == "B" for f in ("question", "prompt"))
    assert "answer" not in vars(request) and "truth" not in vars(request)


def test_qa_only_model_is_not_applicable_never_zero(data):
    root, cases = data
    run = runner(root, QAOnly())
    records = [run.run(c) for c in cases.values()]
    masks = [r for r in records if r["kind"] == "mask"]
    assert masks and all(r["status"] == "n/a" and "jf" not in r for r in masks)
    summary = aggregate(records, model={}, settings={})
    assert summary["tasks"]["objmask"]["score"] is None
    assert "objmask" not in summary["overall"]["entered"]
    assert summary["dimensions"]["inter_object"]["mask"] is None


def test_inference_error_scores_zero_and_names_the_case(data):
    root, cases = data
    record = runner(root, Recording(raise_exc=RuntimeError("boom"))).run(
        cases["objmask/srcA/street_cross_02/obj1"])
    assert record["status"] == "error" and record["jf"] == 0.0
    assert "RuntimeError during inference: boom" in record["error"]


def test_out_of_memory_suggests_fewer_frames(data):
    root, cases = data
    oom = RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
    record = runner(root, Recording(raise_exc=oom), max_frames=16).run(
        cases["cameraqa/srcA/street_cross_02/q0"])
    assert "out of GPU memory" in record["error"] and "--max-frames 8" in record["error"]


def test_no_mask_is_an_empty_prediction_with_a_note(data):
    root, cases = data
    record = runner(root, Recording(masks="none")).run(cases["objmask/srcA/street_cross_02/obj1"])
    assert record["status"] == "ok" and record["mask_produced"] is False
    assert record["j"] == 0.0 and "no mask produced" in " ".join(record["notes"])


def test_misaligned_masks_are_an_error(data):
    root, cases = data
    record = runner(root, Recording(masks="misaligned")).run(
        cases["objmask/srcA/street_cross_02/obj1"])
    assert record["status"] == "error" and "shown frame" in record["error"]


def test_max_frames_shows_source_indices(data):
    root, cases = data
    adapter = Recording()
    record = runner(root, adapter, max_frames=2).run(cases["cameraqa/srcA/street_cross_02/q0"])
    video, _ = adapter.seen[0]
    assert video.frame_indices == record["frames"] == [0, 3] and len(video.frames) == 2


def test_prefetch_warms_the_next_video(data):
    root, cases = data
    adapter = Recording()
    run = runner(root, adapter)
    run.prefetch(cases["sceneqa/srcA/park/q0"], cases["cameraqa/srcA/street_cross_02/q0"])
    assert adapter.warmed.wait(10)
    assert run.cache.decoded == 4  # the next scene's frames are decoded already
    same = Recording()
    runner(root, same).prefetch(cases["cameraqa/srcA/street_cross_02/q1"],
                                cases["cameraqa/srcA/street_cross_02/q0"])
    assert not same.warmed.wait(0.2)  # same video: nothing to prefetch


def test_qa_mode_logits_uses_the_adapter_logit_path(data):
    from dynbench.scoring import ScoringSettings

    root, cases = data
    case = cases["cameraqa/srcA/street_cross_02/q0"]

    class Ranked(Recording):
        def answer_logits(self, video, request):
            return "C"

    logits = ScoringSettings(qa_mode="logits")
    assert runner(root, Ranked(), scoring=logits).run(case)["extracted"] == "C"
    record = runner(root, Recording(), scoring=logits).run(case)
    assert record["status"] == "error" and "does not support --qa-mode logits" in record["error"]


def test_serial_lookahead_names_the_next_video(pytester, tmp_path):
    from pathlib import Path

    data = small_dataset(tmp_path / "d")
    bench = (Path(__file__).parents[1] / "bench_tests/test_dynbench.py").read_text()
    pytester.makepyfile(test_dynbench=bench)
    pytester.makeconftest('''
import json
from dynbench.plugin import _state

def pytest_collection_finish(session):
    pass

def pytest_sessionfinish(session):
    state = _state(session.config)
    seen = {k.split("[")[1][:-1]: (v.scene if v else None) for k, v in state.lookahead.items()}
    open("lookahead.json", "w").write(json.dumps(seen))
''')
    pytester.runpytest("--data-dir", str(data), "--report-dir", str(tmp_path / "o"), "-p",
                       "no:cacheprovider")
    seen = json.loads((pytester.path / "lookahead.json").read_text())
    assert seen["qa/srcA/park/q0"] == "street_cross_02"
    assert seen["cameraqa/srcA/street_cross_02/q0"] is None  # the last video
