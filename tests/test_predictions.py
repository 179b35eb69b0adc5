"""``--predictions``: what a broken or hostile predictions folder fails, and what it does not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dynbench import safefs
from dynbench.adapters.base import MaskRequest, QARequest, Video
from dynbench.adapters.predictions import PredictionError, SavedPredictions
from dynbench.modelspec import ModelSpec
from tests.builders import box_mask, small_dataset
from tests.test_plugin import bench, samples  # noqa: F401 - the pytester fixture

SIZE = (32, 24)


def video(n: int = 4) -> Video:
    return Video(key="s/x", frames=[Image.new("RGB", SIZE)] * n, frame_indices=list(range(n)),
                 paths=[Path(f"f{i}") for i in range(n)])


def adapter(folder: Path) -> SavedPredictions:
    a = SavedPredictions(ModelSpec(name="predictions"), folder)
    a.load()
    return a


def qa(case_id: str) -> QARequest:
    return QARequest(case_id, "q", "A. x\nB. y", "prompt")


def write_masks(folder: Path, case_id: str, n: int = 4, encode=None) -> None:
    out = folder / "masks" / case_id
    out.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        m = box_mask(SIZE, i)
        (encode or (lambda m: Image.fromarray(m.astype(np.uint8) * 255)))(m).save(
            out / f"frame_{i:04d}.png")


@pytest.mark.parametrize("content, needle", [
    (b'{"id": "a", "output": "A"}\n\xff\xfe\n', "answers.jsonl:2: not UTF-8"),
    (b'{"id": "a", "output": "A"}\n{"id": 3, "output": "B"}\n', "answers.jsonl:2: expected"),
    (b'{"id": "a", "output": "A"}\n[1, 2\n', "answers.jsonl:2: not a JSON line"),
])
def test_broken_answers_fail_every_qa_case_naming_file_and_line(tmp_path, content, needle):
    (tmp_path / "answers.jsonl").write_bytes(content)
    write_masks(tmp_path, "objmask/s/x/obj1")
    a = adapter(tmp_path)
    with pytest.raises(PredictionError, match=needle):
        a.answer(video(), qa("a"))
    masks = a.segment(video(), MaskRequest("objmask/s/x/obj1", "q", "p")).masks
    assert np.array_equal(masks[2], box_mask(SIZE, 2))  # mask cases still run


def test_answers_that_is_a_directory_fails_only_qa(tmp_path):
    (tmp_path / "answers.jsonl").mkdir()
    write_masks(tmp_path, "objmask/s/x/obj1")
    a = adapter(tmp_path)
    with pytest.raises(PredictionError, match="answers.jsonl: is a directory"):
        a.answer(video(), qa("a"))
    assert a.segment(video(), MaskRequest("objmask/s/x/obj1", "q", "p")).masks.shape == (4, 24, 32)


def test_duplicates_and_non_strings_fail_their_case_only(tmp_path):
    lines = [{"id": "a", "output": "A"}, {"id": "b", "output": "B"}, {"id": "a", "output": "B"},
             {"id": "c", "output": 3}, {"id": "d", "output": None}]
    (tmp_path / "answers.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    a = adapter(tmp_path)
    assert a.answer(video(), qa("b")) == "B"
    with pytest.raises(PredictionError, match="lines 1, 3 all give an answer for a; keep one"):
        a.answer(video(), qa("a"))
    with pytest.raises(PredictionError, match="'output' for c is int, expected"):
        a.answer(video(), qa("c"))
    with pytest.raises(PredictionError, match="'output' for d is NoneType"):
        a.answer(video(), qa("d"))


def test_predicted_masks_follow_the_mask_rule(tmp_path):
    def palette(m):  # index 0 white: reading by brightness would invert the mask
        im = Image.frombytes("P", m.shape[::-1], m.astype(np.uint8).tobytes())
        im.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
        return im

    write_masks(tmp_path, "objmask/s/x/obj1", encode=palette)
    masks = adapter(tmp_path).segment(video(), MaskRequest("objmask/s/x/obj1", "q", "p")).masks
    assert all(np.array_equal(masks[i], box_mask(SIZE, i)) for i in range(4))


def test_mask_symlinks_leaving_the_folder_are_refused(tmp_path):
    outside = tmp_path / "elsewhere"
    write_masks(outside, "objmask/s/x/obj1")
    pred = tmp_path / "pred"
    (pred / "masks" / "objmask" / "s" / "x").mkdir(parents=True)
    (pred / "masks" / "objmask" / "s" / "x" / "obj1").symlink_to(
        outside / "masks/objmask/s/x/obj1")
    request = MaskRequest("objmask/s/x/obj1", "q", "p")
    safefs.set_follow_symlinks(False)
    with pytest.raises(PredictionError, match="outside .*--follow-symlinks"):
        adapter(pred).segment(video(), request)
    safefs.set_follow_symlinks(True)
    try:
        assert adapter(pred).segment(video(), request).masks.shape == (4, 24, 32)
    finally:
        safefs.set_follow_symlinks(False)


def test_mixed_frame_sizes_are_stacked_exactly(tmp_path):
    out = tmp_path / "masks" / "m"
    out.mkdir(parents=True)
    small = box_mask(SIZE, 1)
    Image.fromarray(small.astype(np.uint8) * 255).save(out / "frame_0000.png")
    big = np.kron(small, np.ones((2, 2), bool))
    Image.fromarray(big.astype(np.uint8) * 255).save(out / "frame_0001.png")
    masks = adapter(tmp_path).segment(video(2), MaskRequest("m", "q", "p")).masks
    from dynbench.metrics import resize_nearest

    assert masks.shape == (2, 48, 64) and np.array_equal(masks[1], big)
    assert np.array_equal(resize_nearest(masks[0], small.shape), small)


def test_broken_answers_file_fails_only_qa_cases_in_a_run(bench, tmp_path):  # noqa: F811
    data, pred, out = small_dataset(tmp_path / "d"), tmp_path / "pred", tmp_path / "out"
    pred.mkdir()
    (pred / "answers.jsonl").write_bytes(b"\x80 not utf-8\n")
    for case_id in ("objmask/srcA/street_cross_02/obj1", "scenemask/srcA/park/obj1",
                    "cameramask/srcA/park/obj1"):
        write_masks(pred, case_id)
    result = bench("--data-dir", str(data), "--predictions", str(pred), "--report-dir", str(out))
    assert result.ret == 1
    records = samples(out)
    for r in records.values():
        if r["kind"] == "qa":
            assert r["status"] == "error" and "answers.jsonl:1: not UTF-8" in r["error"], r
        else:
            assert r["status"] == "ok", r
    assert records["objmask/srcA/street_cross_02/obj1"]["jf"] == pytest.approx(1.0)
