"""Frames and masks paired by frame index, the mask rule, and hostile paths and files.

Expected masks come from ``tests.builders.box_mask`` (the object drawn in frame t), never
from the reader under test.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dynbench import safefs
from dynbench.data import DataError, read_dataset
from dynbench.images import MAX_PIXELS, read_mask
from dynbench.media import list_frames, load_truth_masks, truth_notes
from dynbench.synth.messy import png_header
from tests.builders import OBJECT, QUESTION, box_mask

SIZE = (32, 24)


@pytest.fixture(autouse=True)
def _refuse_outside_links():
    safefs.set_follow_symlinks(False)
    yield
    safefs.set_follow_symlinks(False)


def scene(root: Path, frame_name, mask_name, frames: int = 5, sampling: dict | None = None,
          name: str = "x") -> Path:
    """Frames named ``frame_name(t)`` and masks ``mask_name(t)`` of a box moving right."""
    fdir, mdir = root / "frames" / "s" / name, root / "masks" / "s" / name
    jdir = root / "multi_json" / "s"
    for d in (fdir, mdir, jdir):
        d.mkdir(parents=True, exist_ok=True)
    for t in range(frames):
        m = box_mask(SIZE, t)
        Image.fromarray(np.stack([m * 200, m * 50, m * 0 + 30], -1).astype(np.uint8)).save(
            fdir / frame_name(t))
        Image.fromarray(m.astype(np.uint8) * 255).save(mdir / mask_name(t))
    (jdir / f"{name}_cameraqa.json").write_text(json.dumps([QUESTION]))
    (jdir / f"{name}_objmask.json").write_text(json.dumps({"obj_1": OBJECT}))
    if sampling is not None:
        (jdir / f"{name}_frame_sampling.json").write_text(json.dumps(sampling))
    return root


def truth(root: Path, name: str = "x") -> list[np.ndarray]:
    frames = list_frames(root, "s", name)
    return load_truth_masks(root, "s", name, "1", list(frames.paths), [SIZE] * len(frames))


def expected(frames: int = 5) -> list[np.ndarray]:
    return [box_mask(SIZE, t) for t in range(frames)]


NAMINGS = {
    "stem": (lambda t: f"frame_{t:04d}.png", lambda t: f"frame_{t:04d}_obj1.png", None),
    "unpadded": (lambda t: f"frame_{t}.jpg", lambda t: f"frame_{t:04d}_obj1.png", None),
    "bare": (lambda t: f"{t:05d}.jpg", lambda t: f"frame_{t:04d}_obj1.png", None),
    "pad5": (lambda t: f"frame_{t:05d}.png", lambda t: f"frame_{t:05d}_obj1.png", None),
    "bare_masks": (lambda t: f"frame_{t:04d}.png", lambda t: f"{t:05d}_obj1.png", None),
    "one_based": (lambda t: f"frame_{t:04d}.png", lambda t: f"frame_{t + 1:04d}_obj1.png",
                  "counted from 1"),
    "one_based_frames": (lambda t: f"frame_{t + 1:04d}.png", lambda t: f"frame_{t:04d}_obj1.png",
                         "0-based positions"),
    "sampled_frames": (lambda t: f"frame_{4 * t:04d}.png", lambda t: f"frame_{t:04d}_obj1.png",
                       "0-based positions"),
    "sampled_masks": (lambda t: f"frame_{t:04d}.png", lambda t: f"frame_{4 * t:04d}_obj1.png",
                      "source-video frame indices"),
}


@pytest.mark.parametrize("variant", sorted(NAMINGS))
def test_every_naming_scheme_pairs_each_frame_with_its_own_mask(tmp_path, variant):
    frame_name, mask_name, note = NAMINGS[variant]
    scene(tmp_path, frame_name, mask_name, sampling={"frame_indices": [4 * t for t in range(5)]})
    got = truth(tmp_path)
    assert all(np.array_equal(g, e) for g, e in zip(got, expected(), strict=True)), variant
    notes = truth_notes(tmp_path, "s", "x", "1")
    assert (note is None and not notes) or any(note in n for n in notes), notes


def test_frames_are_indexed_by_their_number_not_their_position(tmp_path):
    scene(tmp_path, lambda t: f"frame_{4 * t:04d}.png", lambda t: f"frame_{t:04d}_obj1.png")
    assert list_frames(tmp_path, "s", "x").indices == (0, 4, 8, 12, 16)


def test_sparse_masks_that_fit_two_rules_are_noted_as_ambiguous(tmp_path):
    scene(tmp_path, lambda t: f"frame_{t:04d}.png", lambda t: f"frame_{t:04d}_obj1.png")
    (tmp_path / "masks/s/x/frame_0000_obj1.png").unlink()  # no mask at frame 0: 1-based fits
    truth(tmp_path)
    assert any("ambiguous" in n for n in truth_notes(tmp_path, "s", "x", "1"))


def test_masks_matching_no_frame_are_an_error_naming_them(tmp_path):
    scene(tmp_path, lambda t: f"frame_{t:04d}.png", lambda t: f"frame_{t + 40:04d}_obj1.png")
    with pytest.raises(DataError, match=r"object 1 match no frame: frame_0040_obj1.png"):
        truth(tmp_path)


def test_one_stray_mask_fails_its_object_not_silently(tmp_path):
    scene(tmp_path, lambda t: f"frame_{t:04d}.png", lambda t: f"frame_{t:04d}_obj1.png")
    Image.new("L", SIZE, 255).save(tmp_path / "masks/s/x/frame_0009_obj1.png")
    with pytest.raises(DataError, match="frame_0009_obj1.png"):
        truth(tmp_path)


def test_png_wins_over_jpg_and_is_noted(tmp_path):
    scene(tmp_path, lambda t: f"frame_{t:04d}.png", lambda t: f"frame_{t:04d}_obj1.png")
    Image.new("L", SIZE, 255).save(tmp_path / "masks/s/x/frame_0002_obj1.jpg")
    assert np.array_equal(truth(tmp_path)[2], box_mask(SIZE, 2))
    assert any("the .png is used" in n for n in truth_notes(tmp_path, "s", "x", "1"))


def test_two_pngs_for_one_frame_are_refused(tmp_path):
    scene(tmp_path, lambda t: f"frame_{t:04d}.png", lambda t: f"frame_{t:04d}_obj1.png")
    Image.new("L", SIZE, 255).save(tmp_path / "masks/s/x/frame_2_obj1.png")
    with pytest.raises(DataError, match="are masks of the same frame"):
        truth(tmp_path)


def test_frame_patterns_mixed_are_refused(tmp_path):
    scene(tmp_path, lambda t: f"frame_{t:04d}.png", lambda t: f"frame_{t:04d}_obj1.png")
    Image.new("RGB", SIZE).save(tmp_path / "frames/s/x/cover.png")
    with pytest.raises(DataError, match="several patterns"):
        list_frames(tmp_path, "s", "x")


def test_unnumbered_frames_are_ordered_by_name_and_noted(tmp_path):
    scene(tmp_path, lambda t: f"shot_{'abcde'[t]}.png", lambda t: f"frame_{t:04d}_obj1.png")
    frames = list_frames(tmp_path, "s", "x")
    assert [p.name for p in frames.paths] == [f"shot_{c}.png" for c in "abcde"]
    assert "carry no number" in frames.notes[0]
    assert all(np.array_equal(g, e) for g, e in zip(truth(tmp_path), expected(), strict=True))


# --- the mask rule -------------------------------------------------------------------------

def _palette(mask: np.ndarray, palette: list[int]) -> Image.Image:
    im = Image.frombytes("P", mask.shape[::-1], mask.astype(np.uint8).tobytes())
    im.putpalette(palette + [0] * (768 - len(palette)))
    return im


MASK = box_mask((16, 12), 1)


@pytest.mark.parametrize("make, suffix", [
    (lambda m: Image.fromarray(m.astype(np.uint8) * 255), ".png"),
    (lambda m: Image.fromarray(m.astype(np.uint8)), ".png"),  # value 1 is object too
    (lambda m: Image.fromarray(m), ".png"),  # 1-bit
    (lambda m: _palette(m, [255, 255, 255, 0, 0, 0]), ".png"),  # index 0 white, 1 black
    (lambda m: _palette(m * 7, [0, 0, 0] * 7 + [9, 9, 9]), ".png"),  # index 7
    (lambda m: Image.fromarray(np.stack([m * 0, m * 90, m * 0], -1).astype(np.uint8)), ".png"),
    (lambda m: Image.fromarray(np.where(m[..., None], [0, 0, 0, 255], [255, 255, 255, 0])
                               .astype(np.uint8)), ".png"),  # alpha-coded
    (lambda m: Image.fromarray(np.stack([m * 255] * 3 + [m * 0 + 255], -1).astype(np.uint8)),
     ".png"),  # constant alpha: by colour
    (lambda m: Image.fromarray(m.astype(np.uint16) * 65535), ".png"),
    (lambda m: Image.fromarray(m.astype(np.uint16) * 3), ".png"),  # 16-bit labels
    (lambda m: Image.fromarray(m.astype(np.uint8) * 255), ".jpg"),
])
def test_mask_rule(tmp_path, make, suffix):
    path = tmp_path / f"m{suffix}"
    image = make(MASK)
    image.save(path, quality=90) if suffix == ".jpg" else image.save(path)
    assert np.array_equal(read_mask(path, tmp_path), MASK)


def test_jpeg_noise_is_not_object(tmp_path):
    noisy = (MASK * 255 + 3).clip(0, 255).astype(np.uint8)  # background at 3, like JPEG noise
    Image.fromarray(noisy).save(tmp_path / "m.jpg", quality=100)
    assert np.array_equal(read_mask(tmp_path / "m.jpg", tmp_path), MASK)


def test_unsupported_mask_mode_is_named(tmp_path):
    Image.new("CMYK", (4, 4)).save(tmp_path / "m.jpg")
    with pytest.raises(DataError, match="m.jpg: mask image mode CMYK is not supported"):
        read_mask(tmp_path / "m.jpg", tmp_path)


# --- hostile files ----------------------------------------------------------------------------

def test_pixel_limit_names_file_and_size(tmp_path):
    (tmp_path / "big.png").write_bytes(png_header(9000, 9000))
    assert 9000 * 9000 > MAX_PIXELS
    with pytest.raises(DataError, match=r"big.png: image is 9000x9000 \(81 Mpx\), above the 67"):
        read_mask(tmp_path / "big.png", tmp_path)


def test_huge_header_beyond_pillow_limit_is_named(tmp_path):
    (tmp_path / "bomb.png").write_bytes(png_header(40000, 40000))
    with pytest.raises(DataError, match="bomb.png: image too large to decode"):
        read_mask(tmp_path / "bomb.png", tmp_path)


@pytest.mark.parametrize("spoil, needle", [
    (lambda p: (p.unlink(), p.mkdir()), "is a directory"),
    (lambda p: (p.unlink(), p.symlink_to("nothing.png")), "dangling symlink"),
    (lambda p: (p.unlink(), p.symlink_to(p.name)), "symlink loop"),
    (lambda p: (p.unlink(), os.mkfifo(p)), "is not a regular file"),
])
def test_wrong_path_kinds_are_named(tmp_path, spoil, needle):
    scene(tmp_path, lambda t: f"frame_{t:04d}.png", lambda t: f"frame_{t:04d}_obj1.png")
    spoil(tmp_path / "masks/s/x/frame_0002_obj1.png")
    with pytest.raises(DataError, match=f"frame_0002_obj1.png: {needle}"):
        truth(tmp_path)
    spoil(tmp_path / "frames/s/x/frame_0003.png")
    list_frames.cache_clear()
    with pytest.raises(DataError, match=f"frame_0003.png: {needle}"):
        list_frames(tmp_path, "s", "x")


def test_symlinks_leaving_the_dataset_are_refused_unless_followed(tmp_path):
    outside = scene(tmp_path / "elsewhere", lambda t: f"frame_{t:04d}.png",
                    lambda t: f"frame_{t:04d}_obj1.png")
    root = tmp_path / "data"
    scene(root, lambda t: f"frame_{t:04d}.png", lambda t: f"frame_{t:04d}_obj1.png", name="y")
    (root / "frames/s/x").symlink_to(outside / "frames/s/x")
    (root / "masks/s/x").symlink_to(outside / "masks/s/x")
    (root / "frames/s/z").symlink_to(root / "frames/s/y")  # inside the dataset: fine
    assert len(list_frames(root, "s", "z")) == 5
    with pytest.raises(DataError, match="outside .*refused .*--follow-symlinks"):
        list_frames(root, "s", "x")
    safefs.set_follow_symlinks(True)
    list_frames.cache_clear()
    assert all(np.array_equal(g, e) for g, e in zip(truth(root), expected(), strict=True))


def test_thumbnails_never_read_outside_the_dataset(tmp_path):
    from dynbench.thumbs import safe_case_strip

    outside = scene(tmp_path / "elsewhere", lambda t: f"frame_{t:04d}.png",
                    lambda t: f"frame_{t:04d}_obj1.png")
    root = tmp_path / "data"
    scene(root, lambda t: f"frame_{t:04d}.png", lambda t: f"frame_{t:04d}_obj1.png", name="y")
    (root / "frames/s/x").symlink_to(outside / "frames/s/x")
    record = {"id": "objmask/s/x/obj1", "source": "s", "scene": "x", "frames": [0, 1]}
    assert "outside" in safe_case_strip(tmp_path / "run", root, record)
    hostile = {**record, "scene": "../../../elsewhere/frames/s/x"}
    assert "outside" in safe_case_strip(tmp_path / "run", root, hostile)


def test_invalid_utf8_file_names_are_named_data_errors(tmp_path):
    scene(tmp_path, lambda t: f"frame_{t:04d}.png", lambda t: f"frame_{t:04d}_obj1.png")
    folder = os.fsencode(tmp_path / "frames/s/x")
    try:
        Image.new("RGB", SIZE).save(os.path.join(folder, b"frame_0009\xff.png"))
    except OSError:
        pytest.skip("this file system refuses non-UTF-8 names")
    with pytest.raises(DataError, match=r"'frame_0009\\\\xff.png' is not valid UTF-8"):
        list_frames(tmp_path, "s", "x")


# --- task files ---------------------------------------------------------------------------

def _qa_file(root: Path, data: bytes | str, name: str = "x_cameraqa.json") -> Path:
    path = root / "multi_json" / "s" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def test_bom_is_accepted_and_lone_surrogates_are_refused(tmp_path):
    _qa_file(tmp_path, b"\xef\xbb\xbf" + json.dumps([QUESTION]).encode())
    _qa_file(tmp_path, json.dumps([{**QUESTION, "question": "odd \ud800"}]), "y_cameraqa.json")
    good, bad = read_dataset(tmp_path).cases
    assert good.problem is None and good.truth == "B"
    assert "lone surrogate" in bad.problem


def test_fifo_task_file_is_named_without_blocking(tmp_path):
    path = tmp_path / "multi_json" / "s" / "x_cameraqa.json"
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    (case,) = read_dataset(tmp_path).cases
    assert "not a regular file" in case.problem


@pytest.mark.parametrize("payload, needle", [
    ("[" * 20000 + "]" * 20000, "too deeply"),
    ("[" + "9" * 6000 + "]", "cannot be read"),
    ('[{"question": "q", "options": ["a", "b"], "answer": ' + "1" * 6000 + "}]", "cannot be"),
])
def test_hostile_json_becomes_a_failing_case(tmp_path, payload, needle):
    _qa_file(tmp_path, payload)
    (case,) = read_dataset(tmp_path).cases
    assert case.id == "cameraqa/s/x/file" and needle in case.problem


def test_huge_object_number_is_a_named_case(tmp_path):
    path = tmp_path / "multi_json" / "s" / "x_objmask.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"obj_" + "3" * 5000: OBJECT, "obj_2": OBJECT}))
    huge, normal = read_dataset(tmp_path).cases
    assert huge.id == "objmask/s/x/key0" and "5000 digits" in huge.problem
    assert normal.id == "objmask/s/x/obj2" and normal.problem is None


def test_oversized_task_file_is_refused(tmp_path, monkeypatch):
    from dynbench import data

    monkeypatch.setattr(data, "MAX_JSON_BYTES", 100)
    _qa_file(tmp_path, json.dumps([QUESTION] * 10))
    (case,) = read_dataset(tmp_path).cases
    assert "larger than" in case.problem
