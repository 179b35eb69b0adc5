"""The synthetic generator: determinism, format, quirks, and ground truth re-derived from pixels.

The re-derivation tests never look at the generator's parameters: they identify objects by the
colour under their masks, measure mask centroids and areas, and estimate the camera pan from the
background, then check that the JSON answers agree.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

import dynbench
from dynbench.synth import MASK_TASKS, PALETTE, QA_TASKS, generate, main

SAMPLE = Path(dynbench.__file__).parent / "sample_data"
COMMAND = "python -m dynbench.synth dynbench/sample_data --seed 0 --overwrite"
OPTION = re.compile(r"^([A-E])\.\s+(.*)$")
NAME = r"the (\w+) (?:circle|square|triangle)"

# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _task_files(root: Path) -> list[tuple[str, str, str, Path]]:
    """(dataset, scene, task, path) for every task file, skipping frame_sampling files."""
    out = []
    for path in sorted((root / "multi_json").glob("*/*.json")):
        if "frame_sampling" in path.name:
            continue
        scene, task = path.stem.rsplit("_", 1)
        out.append((path.parent.name, scene, task, path))
    return out


def _options(entry: dict) -> list[str]:
    return [m.group(2) if (m := OPTION.match(o)) else o for o in entry["options"]]


def _answer_text(entry: dict) -> str:
    return _options(entry)["ABCDE".index(entry["answer"].strip().upper())]


@dataclass
class Loaded:
    """Pixels of one scene: frames (T, H, W, 3), masks {obj: {t: bool}}, colour -> obj."""

    frames: np.ndarray
    masks: dict[int, dict[int, np.ndarray]]
    by_colour: dict[str, int]

    @property
    def unit(self) -> float:
        return float(min(self.frames.shape[1:3]))


def _nearest_colour(rgb: np.ndarray) -> str:
    return min(PALETTE, key=lambda c: float(np.sum((np.array(PALETTE[c]) - rgb) ** 2)))


@cache
def _load(dataset: str, scene: str) -> Loaded:
    frames_dir = SAMPLE / "frames" / dataset / scene
    frames = np.stack([np.asarray(Image.open(p).convert("RGB"), dtype=np.float64)
                       for p in sorted(frames_dir.iterdir())])
    masks: dict[int, dict[int, np.ndarray]] = {}
    for p in sorted((SAMPLE / "masks" / dataset / scene).iterdir()):
        t, obj = re.fullmatch(r"frame_(\d{4})_obj(\d+)\.png", p.name).groups()
        masks.setdefault(int(obj), {})[int(t)] = np.asarray(Image.open(p)) > 0
    by_colour = {}
    for obj, per_t in masks.items():
        t = max(per_t, key=lambda k: per_t[k].sum())
        core = ndimage.binary_erosion(per_t[t], iterations=1)
        by_colour[_nearest_colour(frames[t][core].mean(axis=0))] = obj
    assert len(by_colour) == len(masks), f"{scene}: objects must have distinct colours"
    return Loaded(frames, masks, by_colour)


def _obj(scene: Loaded, text: str, index: int = 0) -> int:
    return scene.by_colour[re.findall(NAME, text)[index]]


def _centroid(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return np.array([xs.mean(), ys.mean()])


def _end_to_end(scene: Loaded, obj: int) -> np.ndarray:
    """Centroid displacement from the first to the last frame (both must have a mask)."""
    last = len(scene.frames) - 1
    per_t = scene.masks[obj]
    assert 0 in per_t and last in per_t, "answers are only asked about clearly visible objects"
    return _centroid(per_t[last]) - _centroid(per_t[0])


def _background_shift(scene: Loaded) -> np.ndarray:
    """How the background content moved from the first to the last frame (axis-aligned pans)."""
    a, b = scene.frames[0].mean(axis=2), scene.frames[-1].mean(axis=2)
    last = len(scene.frames) - 1
    hide_a = np.zeros(a.shape, bool)
    hide_b = np.zeros(a.shape, bool)
    for per_t in scene.masks.values():
        hide_a |= per_t.get(0, hide_a)
        hide_b |= per_t.get(last, hide_b)
    hide_a, hide_b = ndimage.binary_dilation(hide_a, iterations=2), ndimage.binary_dilation(
        hide_b, iterations=2)
    m = int(0.4 * scene.unit)
    shifts = [(d, 0) for d in range(-m, m + 1)] + [(0, d) for d in range(-m, m + 1) if d]
    scores = [_shift_error(a, b, hide_a, hide_b, dx, dy) for dx, dy in shifts]
    return np.array(shifts[int(np.argmin(scores))], dtype=float)


def _shift_error(a, b, hide_a, hide_b, dx: int, dy: int) -> float:
    h, w = a.shape
    ys, xs = slice(max(0, dy), h + min(0, dy)), slice(max(0, dx), w + min(0, dx))
    ys0, xs0 = slice(max(0, -dy), h + min(0, -dy)), slice(max(0, -dx), w + min(0, -dx))
    valid = ~hide_b[ys, xs] & ~hide_a[ys0, xs0]
    return float(np.abs(b[ys, xs] - a[ys0, xs0])[valid].mean())


def _check_direction(d: np.ndarray, answer: str, unit: float) -> None:
    """``d`` (x right, y down) agrees with an answer like 'it moves to the left'/'stays ...'."""
    if "stay" in answer or "keeps the same" in answer:
        assert np.hypot(*d) <= 0.04 * unit, (d, answer)
        return
    word = re.search(r"\b(left|right|up|down)\b", answer).group(1)
    axis, sign = {"left": (0, -1), "right": (0, 1), "up": (1, -1), "down": (1, 1)}[word]
    assert sign * d[axis] >= 0.07 * unit, (d, answer)
    assert abs(d[1 - axis]) <= 0.5 * abs(d[axis]), (d, answer)


def _questions(task: str, pattern: str):
    """(scene pixels, question, answer text) for every question of ``task`` matching."""
    for dataset, scene, name, path in _task_files(SAMPLE):
        if name != task:
            continue
        for entry in json.loads(path.read_text()):
            if re.search(pattern, entry["question"]):
                yield _load(dataset, scene), entry["question"], _answer_text(entry)


def _camera_answer(dataset: str, scene: str) -> str | None:
    path = SAMPLE / "multi_json" / dataset / f"{scene}_cameraqa.json"
    for entry in json.loads(path.read_text()) if path.exists() else []:
        if entry["question"].startswith("How is the camera moving"):
            return _answer_text(entry)
    return None


# --------------------------------------------------------------------------------------------
# Determinism, API and CLI
# --------------------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", seed=3, scenes=3, frames=6)
    generate(tmp_path / "b", seed=3, scenes=3, frames=6)
    assert a.scenes == 3 and a.files == len(_tree(tmp_path / "a"))
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


def test_different_seeds_differ(tmp_path: Path) -> None:
    generate(tmp_path / "a", seed=1, scenes=2, frames=5)
    generate(tmp_path / "b", seed=2, scenes=2, frames=5)
    assert _tree(tmp_path / "a") != _tree(tmp_path / "b")


def test_json_only_writes_the_same_json(tmp_path: Path) -> None:
    full = generate(tmp_path / "full", seed=5, scenes=4, frames=6)
    only = generate(tmp_path / "json", seed=5, scenes=4, frames=6, json_only=True)
    assert not (tmp_path / "json" / "frames").exists()
    assert (only.qa, only.masks) == (full.qa, full.masks)
    json_files = {k: v for k, v in _tree(tmp_path / "full").items() if k.startswith("multi_json")}
    assert _tree(tmp_path / "json") == json_files


def test_existing_data_is_not_overwritten_without_flag(tmp_path: Path) -> None:
    generate(tmp_path, scenes=1, frames=4, json_only=True)
    with pytest.raises(FileExistsError):
        generate(tmp_path, scenes=1, frames=4, json_only=True)
    generate(tmp_path, scenes=1, frames=4, json_only=True, overwrite=True)


def test_cli_options_and_clean_mode(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "clean"
    assert main([str(out), "--scenes", "3", "--frames", "5", "--size", "96x64", "--no-quirks"]) == 0
    assert "3 scenes" in capsys.readouterr().out
    assert not list(out.rglob("*frame_sampling*")) and not list((out / "frames").rglob("*.png"))
    assert all(Image.open(p).size == (96, 64) for p in (out / "frames").rglob("*.jpg"))
    for *_, path in _task_files(out):
        for entry in json.loads(path.read_text()) if path.stem.endswith("qa") else []:
            assert entry["answer"].isupper() and all(OPTION.match(o) for o in entry["options"])
    assert main([str(out), "--scenes", "1"]) == 2  # exists, no --overwrite
    with pytest.raises(SystemExit):
        main([str(out), "--size", "big"])


# --------------------------------------------------------------------------------------------
# Format of the bundled sample
# --------------------------------------------------------------------------------------------


def test_qa_entries_have_a_valid_answer_letter() -> None:
    qa_files = [f for f in _task_files(SAMPLE) if f[2] in QA_TASKS]
    assert qa_files
    for *_, path in qa_files:
        entries = json.loads(path.read_text())
        assert isinstance(entries, list) and entries
        for entry in entries:
            assert set(entry) == {"question", "options", "answer"}
            assert 3 <= len(entry["options"]) <= 5
            letter = entry["answer"].strip().upper()
            assert letter in "ABCDE"[: len(entry["options"])]
            prefixes = [m.group(1) for o in entry["options"] if (m := OPTION.match(o))]
            assert prefixes in ([], list("ABCDE"[: len(entry["options"])]))


def test_mask_objects_have_binary_masks_of_frame_size() -> None:
    mask_files = [f for f in _task_files(SAMPLE) if f[2] in MASK_TASKS]
    assert mask_files
    for dataset, scene, _, path in mask_files:
        size = Image.open(next((SAMPLE / "frames" / dataset / scene).iterdir())).size
        for obj_id, entry in json.loads(path.read_text()).items():
            assert set(entry) == {"question", "crop_caption", "crop_category"}
            assert entry["crop_caption"].endswith(entry["crop_category"])
            num = obj_id.rsplit("_", 1)[1]
            files = sorted((SAMPLE / "masks" / dataset / scene).glob(f"frame_*_obj{num}.png"))
            assert files, f"{path.name}: {obj_id} has no mask file"
            for mask_path in files:
                mask = Image.open(mask_path)
                assert mask.mode == "L" and mask.size == size
                values = set(np.unique(np.asarray(mask)).tolist())
                assert values <= {0, 255} and 255 in values  # written only when visible


def test_sample_has_all_tasks_and_planned_counts() -> None:
    files = _task_files(SAMPLE)
    tasks = {f[2] for f in files}
    assert tasks == set(QA_TASKS) | set(MASK_TASKS)
    n_qa = sum(len(json.loads(f[3].read_text())) for f in files if f[2] in QA_TASKS)
    n_mask = sum(len(json.loads(f[3].read_text())) for f in files if f[2] in MASK_TASKS)
    scenes = {(f[0], f[1]) for f in files}
    assert 6 <= len(scenes) <= 10 and 40 <= n_qa <= 80 and 15 <= n_mask <= 30


def test_quirks_present_in_sample() -> None:
    files = _task_files(SAMPLE)
    assert any("_" in scene for _, scene, _, _ in files)
    assert len({f[0] for f in files}) >= 2
    frames = list((SAMPLE / "frames").rglob("frame_*.*"))
    assert {p.suffix for p in frames} == {".jpg", ".png"}
    assert list((SAMPLE / "multi_json").rglob("*frame_sampling*.json"))
    qa = [json.loads(f[3].read_text()) for f in files if f[2] in QA_TASKS]
    assert any(e["answer"].islower() for entries in qa for e in entries)
    assert any(not any(OPTION.match(o) for o in e["options"]) for entries in qa for e in entries)
    counts = {len(list(d.iterdir())) for d in (SAMPLE / "frames").glob("*/*")}
    assert len(counts) > 1  # uneven frame counts
    absent = [(d, n) for d in (SAMPLE / "masks").glob("*/*") for n in _mask_counts(d).values()
              if n < len(list((SAMPLE / "frames" / d.relative_to(SAMPLE / "masks")).iterdir()))]
    assert absent, "some object must be absent (no mask file) in some frame"
    assert any(len({f[2] for f in files if f[:2] == s}) < 6 for s in {f[:2] for f in files})


def _mask_counts(scene_dir: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for p in scene_dir.iterdir():
        obj = p.stem.rsplit("_", 1)[1]
        counts[obj] = counts.get(obj, 0) + 1
    return counts


def test_sample_is_small_and_regenerates(tmp_path: Path) -> None:
    files = [p for p in SAMPLE.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 2 * 1024 * 1024
    assert COMMAND in (SAMPLE / "README.md").read_text()
    assert "GENERATED_BY" in (SAMPLE / "README.md").read_text()
    generate(tmp_path, seed=0)
    fresh = _tree(tmp_path)
    bundled = {k: v for k, v in _tree(SAMPLE).items() if k != "README.md"}
    assert sorted(fresh) == sorted(bundled)
    for name, data in fresh.items():
        if name.endswith(".json"):
            assert data == bundled[name], name
        elif data != bundled[name]:  # another Pillow/libjpeg may encode differently
            new, old = (np.asarray(Image.open(tmp_path / name), int),
                        np.asarray(Image.open(SAMPLE / name), int))
            tolerance = 0 if name.startswith("masks") else 8
            assert np.abs(new - old).max() <= tolerance, name


# --------------------------------------------------------------------------------------------
# Ground truth re-derived from pixels
# --------------------------------------------------------------------------------------------


def test_camera_motion_matches_background_shift() -> None:
    checked = 0
    for dataset, scene_name in sorted({f[:2] for f in _task_files(SAMPLE)}):
        answer = _camera_answer(dataset, scene_name)
        if answer is None or "zoom" in answer:
            continue
        scene = _load(dataset, scene_name)
        shift = _background_shift(scene)
        pan = re.search(r"pans (left|right|up|down)", answer)
        if pan is None:
            assert np.hypot(*shift) <= 1, (scene_name, shift)
        else:  # the content moves opposite to the pan
            opposite = {"left": "right", "right": "left", "up": "down", "down": "up"}
            _check_direction(shift, f"it moves {opposite[pan.group(1)]}", scene.unit)
        checked += 1
    assert checked >= 4


def test_image_direction_matches_mask_centroids() -> None:
    found = list(_questions("cameraqa", r"in which direction does .* move across the frame"))
    assert found
    for scene, question, answer in found:
        _check_direction(_end_to_end(scene, _obj(scene, question)), answer, scene.unit)


def test_apparent_size_matches_mask_areas() -> None:
    found = list(_questions("cameraqa", r"appear larger or smaller"))
    assert found
    for scene, question, answer in found:
        per_t = scene.masks[_obj(scene, question)]
        ratio = per_t[len(scene.frames) - 1].sum() / per_t[0].sum()
        # zoom changes the area by >= 1.4**2 or <= 0.72**2; pixelisation of small shapes ~15%
        expected = {"larger": ratio > 1.3, "smaller": ratio < 0.75, "same": 0.8 < ratio < 1.25}
        assert expected[re.search(r"larger|smaller|same", answer).group(0)], (question, ratio)


def test_scene_direction_matches_centroids_minus_background() -> None:
    checked = 0
    for dataset, scene_name, task, path in _task_files(SAMPLE):
        camera = _camera_answer(dataset, scene_name)
        if task != "sceneqa" or camera is None or "zoom" in camera:
            continue
        scene = _load(dataset, scene_name)
        for entry in json.loads(path.read_text()):
            if entry["question"].startswith("Relative to the background, in which direction"):
                d = _end_to_end(scene, _obj(scene, entry["question"]))
                _check_direction(d - _background_shift(scene), _answer_text(entry), scene.unit)
                checked += 1
    assert checked >= 2


def test_relative_direction_and_distance_match_masks() -> None:
    relative = list(_questions("qa", r"^Relative to the .* in which direction"))
    distance = list(_questions("qa", r"closer together or farther apart"))
    assert relative and distance
    found = relative + distance
    for scene, question, answer in found:
        last = len(scene.frames) - 1
        first, second = _obj(scene, question, 0), _obj(scene, question, 1)
        if question.startswith("Relative"):  # "Relative to <first>, ... does <second> move?"
            rel = [_centroid(scene.masks[second][t]) - _centroid(scene.masks[first][t])
                   for t in (0, last)]
            _check_direction(rel[1] - rel[0], answer, scene.unit)
            continue
        dist = [np.hypot(*(_centroid(scene.masks[first][t]) - _centroid(scene.masks[second][t])))
                for t in (0, last)]
        change = dist[1] - dist[0]
        expected = {"closer": change < -0.04 * scene.unit, "farther": change > 0.04 * scene.unit,
                    "same": abs(change) <= 0.04 * scene.unit}
        assert expected[re.search(r"closer|farther|same", answer).group(0)], (question, change)


def test_overlap_answers_match_mask_contact() -> None:
    found = list(_questions("qa", r"pass in front of"))
    assert found
    for scene, question, answer in found:
        a, b = _obj(scene, question, 0), _obj(scene, question, 1)
        common = set(scene.masks[a]) & set(scene.masks[b])
        touch = any((ndimage.binary_dilation(scene.masks[a][t]) & scene.masks[b][t]).any()
                    for t in common)
        assert touch == ("never" not in answer), question


def test_followed_object_stays_in_place() -> None:
    found = list(_questions("cameraqa", r"Which object does the camera follow"))
    assert found
    for scene, _, answer in found:
        if answer == "none of them":
            continue
        per_t = scene.masks[_obj(scene, answer)]
        full = max(m.sum() for m in per_t.values())
        points = [_centroid(m) for m in per_t.values() if m.sum() >= 0.97 * full]
        assert len(points) >= 2 and np.ptp(np.array(points), axis=0).max() <= 1.5
