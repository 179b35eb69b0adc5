"""Dataset reading, case ids, selection and the defects of real data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dynbench.data import DataError, read_dataset, resolve_root, split_stem
from dynbench.media import list_frames, load_truth_masks, sample_positions
from tests.builders import OBJECT, QUESTION, small_dataset, write_scene


def test_split_on_last_underscore():
    assert split_stem("street_cross_02_cameraqa") == ("street_cross_02", "cameraqa")
    assert split_stem("a_qa") == ("a", "qa")


def test_case_ids_follow_the_contract(tmp_path):
    cases = read_dataset(small_dataset(tmp_path)).cases
    ids = [c.id for c in cases]
    assert "cameraqa/srcA/street_cross_02/q0" in ids
    assert "cameraqa/srcA/street_cross_02/q1" in ids
    assert "objmask/srcA/street_cross_02/obj1" in ids
    assert "cameramask/srcA/park/obj1" in ids  # key "scene_obj_1": number after the last '_'
    assert not any("frame_sampling" in i for i in ids)
    assert len(ids) == len(set(ids))
    assert all(c.problem is None for c in cases)


def test_truth_never_in_prompt(tmp_path):
    case = next(c for c in read_dataset(small_dataset(tmp_path)).cases if c.kind == "qa")
    assert case.truth == "B"
    assert case.prompt == ("Where does the box go?\nA. left\nB. right\nC. up\n"
                           "Answer with the option's letter from the given choices directly.")


def test_lower_case_and_unprefixed_options(tmp_path):
    item = {"question": "q?", "options": ["left", "right"], "answer": "b"}
    write_scene(tmp_path, "s", "x", qa={"qa": [item]}, objects={})
    (case,) = read_dataset(tmp_path).cases
    assert case.truth == "B" and case.problem is None
    assert [o.letter for o in case.options] == ["A", "B"]


@pytest.mark.parametrize("payload, needle", [
    ("{not json", "malformed JSON"),
    ("", "is empty"),
    ("{}", "must hold a JSON list"),
    ("[]", "holds no questions"),
])
def test_bad_qa_files_become_file_problems(tmp_path, payload, needle):
    write_scene(tmp_path, "s", "x", objects={})
    (tmp_path / "multi_json/s/x_cameraqa.json").write_text(payload)
    (case,) = read_dataset(tmp_path).cases
    assert case.id == "cameraqa/s/x/file"
    assert needle in case.problem and "multi_json/s/x_cameraqa.json" in case.problem


def test_answer_not_among_options(tmp_path):
    bad = {**QUESTION, "answer": "E"}
    write_scene(tmp_path, "s", "x", qa={"qa": [QUESTION, bad]}, objects={})
    good, broken = read_dataset(tmp_path).cases
    assert good.problem is None
    assert "answer 'E' is not among the option letters A, B, C" in broken.problem
    assert "question 1" in broken.problem


def test_unknown_task_suffix(tmp_path):
    write_scene(tmp_path, "s", "x", qa={"cameraqa": [QUESTION], "camraqa": [QUESTION]},
                objects={})
    cases = read_dataset(tmp_path).cases
    bad = [c for c in cases if c.problem]
    assert [c.id for c in bad] == ["data/s/x/file"]
    assert "unknown task suffix 'camraqa'" in bad[0].problem


def test_frames_sorted_by_number_and_subsampled(tmp_path):
    write_scene(tmp_path, "s", "x", frames=12)
    frames = list_frames(tmp_path, "s", "x")
    assert frames.indices == tuple(range(12))
    assert sample_positions(12, 4) == [0, 4, 7, 11]
    assert sample_positions(12, None) == list(range(12))
    assert sample_positions(3, 8) == [0, 1, 2]


def test_truth_masks_at_the_shown_frames(tmp_path):
    write_scene(tmp_path, "s", "x", frames=6, absent=(2,))
    frames = list_frames(tmp_path, "s", "x")
    shown = [frames.paths[i] for i in (0, 2, 5)]
    masks = load_truth_masks(tmp_path, "s", "x", "1", shown, [(32, 24)] * 3)
    assert masks[1].sum() == 0  # absent in frame 2: empty, because frames 0 and 5 have masks
    assert masks[2].sum() > 0 and not np.array_equal(masks[0], masks[2])


def test_object_without_any_mask_is_a_data_error(tmp_path):
    write_scene(tmp_path, "s", "x")
    frames = list_frames(tmp_path, "s", "x")
    with pytest.raises(DataError, match="no mask files for object 7"):
        load_truth_masks(tmp_path, "s", "x", "7", list(frames.paths), [(32, 24)] * 4)


def test_mask_size_mismatch_is_named(tmp_path):
    write_scene(tmp_path, "s", "x")
    frames = list_frames(tmp_path, "s", "x")
    with pytest.raises(DataError, match="frame_0000_obj1.png: mask is 32x24 but its frame is"):
        load_truth_masks(tmp_path, "s", "x", "1", list(frames.paths)[:1], [(64, 48)])


def test_missing_frame_folder(tmp_path):
    write_scene(tmp_path, "s", "x")
    with pytest.raises(DataError, match="frames/s/y/: frame folder is missing"):
        list_frames(tmp_path, "s", "y")


def test_resolve_root_errors(tmp_path):
    with pytest.raises(DataError, match="no multi_json"):
        resolve_root(tmp_path)


def test_duplicate_object_numbers(tmp_path):
    write_scene(tmp_path, "s", "x", objects={"objmask": {"obj_1": OBJECT, "car_obj_1": OBJECT}})
    cases = [c for c in read_dataset(tmp_path).cases if c.kind == "mask"]
    assert cases[0].problem is None
    assert "duplicate case id" in cases[1].problem


def test_bundled_sample_reads_cleanly():
    root = resolve_root(None)
    cases = read_dataset(root).cases
    assert {c.task for c in cases} == {"cameraqa", "cameramask", "qa", "objmask", "sceneqa",
                                       "scenemask"}
    assert not [c.problem for c in cases if c.problem]
    assert json.loads((root / "multi_json").joinpath(cases[0].json_path.split("/", 1)[1])
                      .read_text()) is not None


def test_cases_of_a_video_are_adjacent(tmp_path):
    for scene in ("a", "a_b", "a_p"):
        write_scene(tmp_path, "s", scene, qa={"qa": [QUESTION], "cameraqa": [QUESTION]},
                    objects={"objmask": {"obj_1": OBJECT}})
    scenes = [c.scene for c in read_dataset(tmp_path).cases]
    runs = [s for i, s in enumerate(scenes) if i == 0 or scenes[i - 1] != s]
    assert runs == ["a", "a_b", "a_p"]


@pytest.mark.parametrize("answer, truth", [("B", "B"), ("b", "B"), ("(B)", "B"), ("B.", "B"),
                                           ("B. right", "B"), (" c ", "C"), ("B)", "B")])
def test_answer_letter_forms(tmp_path, answer, truth):
    write_scene(tmp_path, "s", "x", qa={"qa": [{**QUESTION, "answer": answer}]}, objects={})
    (case,) = read_dataset(tmp_path).cases
    assert case.problem is None and case.truth == truth


@pytest.mark.parametrize("answer", ["right", "BC", "", None, 2, "B C"])
def test_unusable_answers_are_named(tmp_path, answer):
    write_scene(tmp_path, "s", "x", qa={"qa": [{**QUESTION, "answer": answer}]}, objects={})
    (case,) = read_dataset(tmp_path).cases
    assert "is not among the option letters" in case.problem
