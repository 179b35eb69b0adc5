"""Messy datasets and saved predictions that exercise every official convention.

``messy_world`` writes one hand-made dataset where each scene isolates a convention (the
``EXPECT`` table says which case must name which convention); ``random_world`` writes a
randomised one (frame naming, missing/odd masks, partial predictions, odd answers) for
property-style comparisons with ``tests/official_rules.py``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
from PIL import Image

from dynbench.adapters.base import Adapter
from dynbench.modelspec import ModelSpec
from dynbench.reference.listing import read_dataset
from dynbench.reference.runner import ReferencePredictions
from dynbench.report import aggregate
from dynbench.runner import RunSettings, make_runner
from dynbench.scoring import ScoringSettings

SIZE = (32, 24)  # (W, H) of frames
REFERENCE = ScoringSettings(protocol="reference", jf_mode="reference")


def box(size: tuple[int, int], n: int, shift: int = 0) -> np.ndarray:
    w, h = size
    m = np.zeros((h, w), dtype=np.uint8)
    y0 = (n * 2) % max(1, h - 8)
    x0 = (n * 3 + shift) % max(1, w - 10)
    m[y0:y0 + 7, x0:x0 + 9] = 255
    return m


class World:
    """A dataset root and a predictions folder being written."""

    def __init__(self, base: Path) -> None:
        self.root, self.pred = base / "data", base / "pred"
        for d in ("frames", "masks", "multi_json"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        (self.pred / "masks").mkdir(parents=True, exist_ok=True)
        self.answers: dict[str, str] = {}

    def frames(self, source: str, scene: str, names: list[str], size=SIZE) -> Path:
        folder = self.root / "frames" / source / scene
        folder.mkdir(parents=True, exist_ok=True)
        for i, name in enumerate(names):
            rgb = np.stack([box(size, i)] * 3, -1)
            Image.fromarray(rgb).save(folder / name, format="PNG" if name.endswith(".png")
                                      else "JPEG")
        return folder

    def mask(self, source: str, scene: str, name: str, array: np.ndarray | None = None,
             raw: bytes | None = None) -> None:
        folder = self.root / "masks" / source / scene
        folder.mkdir(parents=True, exist_ok=True)
        if raw is not None:
            (folder / name).write_bytes(raw)
        else:
            Image.fromarray(array).save(folder / name, format="PNG" if name.endswith(".png")
                                        else "JPEG")

    def task(self, source: str, name: str, payload, text: str | None = None) -> None:
        folder = self.root / "multi_json" / source
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(payload) if text is None else text,
                                   encoding="utf-8")

    def predict(self, case_id: str, frames: dict[int, np.ndarray] | None) -> None:
        """Saved masks by frame number; None: an empty folder (no mask produced)."""
        folder = self.pred / "masks" / case_id
        folder.mkdir(parents=True, exist_ok=True)
        for n, m in (frames or {}).items():
            Image.fromarray(m).save(folder / f"frame_{n:04d}.png")

    def answer(self, case_id: str, output: str) -> None:
        self.answers[case_id] = output

    def close(self) -> World:
        (self.pred / "answers.jsonl").write_text(
            "".join(json.dumps({"id": k, "output": v}) + "\n" for k, v in self.answers.items()))
        return self


OBJ = {"question": "the box", "crop_caption": "a box", "crop_category": "box"}
ABC = ["A. left", "B. right", "C. up"]


def _numbered(n: int, start: int = 0, ext: str = "jpg", pad: int = 4) -> list[str]:
    return [f"frame_{i:0{pad}d}.{ext}" for i in range(start, start + n)]


# case id -> conventions it must name (exactly); a case absent here may name any
EXPECT: dict[str, set[str]] = {}


def messy_world(base: Path) -> World:
    w = World(base)
    qa_cases(w)
    mask_scenes(w)
    discovery(w)
    return w.close()


def qa_cases(w: World) -> None:
    w.frames("srcB", "qa_messy", _numbered(3))
    items = [
        ({"options": ["A) left", "B) right"], "answer": "B"}, "B", set()),
        ({"options": ["left", "right", "up"], "answer": "B"}, "B", set()),
        ({"options": ABC, "answer": "(B)"}, "B", {"gt_letter_verbatim"}),
        ({"options": ABC, "answer": "B."}, "B.", {"gt_letter_verbatim"}),
        ({"options": ABC, "answer": "b"}, "b", set()),
        ({"options": ABC, "answer": "B. right"}, "B", {"gt_letter_verbatim"}),
        ({"options": ABC, "answer": "D"}, "D", {"answer_outside_options"}),
        ({"options": ABC, "answer": "D"}, "A", {"answer_outside_options"}),
        ({"options": ABC, "answer": "B"}, "(B)", {"first_token_match"}),
        ({"options": ABC, "answer": "B"}, "The answer is B.", {"first_token_match"}),
        ({"options": ABC, "answer": "B"}, "B)", {"first_token_match"}),
        ({"options": ABC, "answer": "B"}, "b.", set()),
        ({"options": ABC, "answer": "B"}, "**B**", {"first_token_match"}),
        ({"options": ABC, "answer": "B"}, "C", set()),
        ({"options": ABC}, "", {"answer_outside_options"}),
        ({"options": ABC, "answer": "  "}, "   ", {"answer_outside_options"}),
        ({"answer": "A"}, "A", {"unvalidated_item"}),
        ({"options": ABC, "answer": "A", "question": None}, "A", {"unvalidated_item"}),
        ({"options": ["A. x", "y"], "answer": "A"}, "A", {"unvalidated_item"}),
        ({"options": ABC, "answer": 2}, "B", set()),
        ({"options": ["A. x", 5], "answer": "A"}, "A", set()),
        ({"options": ABC, "answer": "B"}, None, set()),  # no saved answer: an error
        ({"options": "ABC", "answer": "A"}, "A", {"unvalidated_item"}),
    ]
    payload = []
    for i, (item, output, expect) in enumerate(items):
        payload.append({"question": f"Where does box {i} go?", **item})
        case_id = f"cameraqa/srcB/qa_messy/q{i}"
        if output is not None:
            w.answer(case_id, output)
        EXPECT[case_id] = expect
    w.task("srcB", "qa_messy_cameraqa.json", payload)


def _mask_scene(w: World, source: str, scene: str, names: list[str], obj: str,
                truth_numbers: list[int] | None = None) -> None:
    """Frames + ground truth for frame numbers (default: the frames' own numbers)."""
    w.frames(source, scene, names)
    for n in truth_numbers if truth_numbers is not None else range(len(names)):
        w.mask(source, scene, f"frame_{n:04d}_{obj}.png", box(SIZE, n))


def _good(numbers: list[int], shift: int = 1) -> dict[int, np.ndarray]:
    return {n: box(SIZE, n, shift) for n in numbers}


def mask_scenes(w: World) -> None:
    # clean: only the boundary measure differs; a second key with the same object number
    _mask_scene(w, "srcA", "clean_01", _numbered(6), "obj1")
    w.task("srcA", "clean_01_objmask.json", {"obj_1": OBJ, "box_1": OBJ})
    w.predict("objmask/srcA/clean_01/obj1", _good(list(range(6))))
    w.predict("objmask/srcA/clean_01/obj1~2", _good(list(range(6)), 2))
    EXPECT["objmask/srcA/clean_01/obj1"] = {"boundary_measure"}
    EXPECT["objmask/srcA/clean_01/obj1~2"] = {"unvalidated_item", "boundary_measure"}

    # frame_0 .. frame_11: listed frame_0, frame_1, frame_10, ...; truth taken by position
    names = [f"frame_{i}.png" for i in range(12)]
    _mask_scene(w, "srcA", "unpadded", names, "obj2", truth_numbers=list(range(12)))
    w.task("srcA", "unpadded_cameramask.json", {"obj_2": OBJ})
    w.predict("cameramask/srcA/unpadded/obj2", _good(list(range(12)), 0))
    EXPECT["cameramask/srcA/unpadded/obj2"] = {"frame_listing", "gt_by_position",
                                               "boundary_measure"}

    # frames start at 3: positions 0..4 look for truth 0..4 (0-2 missing, 480x640 first)
    _mask_scene(w, "srcA", "late_start", _numbered(5, start=3), "obj1",
                truth_numbers=list(range(3, 8)))
    w.task("srcA", "late_start_scenemask.json", {"obj_1": OBJ})
    w.predict("scenemask/srcA/late_start/obj1", _good(list(range(3, 8))))

    # .jpg and .png frames: the official code lists the .jpg ones only
    w.frames("srcA", "mixed_ext", _numbered(4) + _numbered(2, start=4, ext="png"))
    for n in range(6):
        w.mask("srcA", "mixed_ext", f"frame_{n:04d}_obj1.png", box(SIZE, n))
    w.task("srcA", "mixed_ext_objmask.json", {"obj_1": OBJ})
    w.predict("objmask/srcA/mixed_ext/obj1", _good(list(range(6))))

    # frames without numbers: positions name everything
    _mask_scene(w, "srcA", "unnumbered", ["b_shot.jpg", "a_shot.jpg", "c_shot.jpg"], "obj1")
    w.task("srcA", "unnumbered_objmask.json", {"obj_1": OBJ})
    w.predict("objmask/srcA/unnumbered/obj1", _good([0, 1, 2]))

    # frame 0 has no truth: the official all-zero mask is 480x640, and a 960x1280 prediction
    # holding one dot keeps it at that size (nearest picks odd pixels), J = F = 0 there
    w.frames("srcA", "dot", _numbered(2))
    w.mask("srcA", "dot", "frame_0001_obj1.png", box(SIZE, 1))
    w.task("srcA", "dot_cameramask.json", {"obj_1": OBJ})
    dot = np.zeros((960, 1280), dtype=np.uint8)
    dot[1, 1] = 255
    big = np.array(Image.fromarray(box(SIZE, 1)).resize((1280, 960), Image.NEAREST))
    w.predict("cameramask/srcA/dot/obj1", {0: dot, 1: big})

    gt_oddities(w)
    prediction_oddities(w)


def gt_oddities(w: World) -> None:
    s = "gt_odd"
    w.frames("srcA", s, _numbered(6))
    for n in (1, 4):  # obj1: 0 missing (480x640 zeros), 2-3 missing/corrupt, 5 a .jpg
        w.mask("srcA", s, f"frame_{n:04d}_obj1.png", box(SIZE, n))
    w.mask("srcA", s, "frame_0003_obj1.png", raw=b"not a png")
    w.mask("srcA", s, "frame_0005_obj1.jpg", box(SIZE, 5))
    for n in range(6):
        w.mask("srcA", s, f"frame_{n:04d}_obj03.png", box(SIZE, n))  # key obj_03: found
        w.mask("srcA", s, f"frame_{n:04d}_obj4.png", box(SIZE, n))  # key thing_04: not
        w.mask("srcA", s, f"frame_{n:04d}_obj7.png", box(SIZE, n))  # key obj7: objobj7
        w.mask("srcA", s, f"frame_{n:04d}_obj6.png", box((16, 12), n))  # smaller truth
        w.mask("srcA", s, f"frame_{n:04d}_obj8.PNG", box(SIZE, n))  # upper-case suffix
    keys = ["obj_1", "obj_5", "obj_03", "thing_04", "obj7", "obj_6", "obj_8"]
    w.task("srcA", f"{s}_scenemask.json", {k: OBJ for k in keys})
    for n in (1, 3, 5, 7, 6, 8):
        w.predict(f"scenemask/srcA/{s}/obj{n}", _good(list(range(6))))
    w.predict(f"scenemask/srcA/{s}/obj4", _good(list(range(6))))
    w.predict(f"scenemask/srcA/{s}/obj5", _good(list(range(6))))
    EXPECT[f"scenemask/srcA/{s}/obj5"] = {"gt_missing_zero"}
    EXPECT[f"scenemask/srcA/{s}/obj4"] = {"gt_file_name", "gt_missing_zero"}
    EXPECT[f"scenemask/srcA/{s}/obj3"] = {"boundary_measure"}
    EXPECT[f"scenemask/srcA/{s}/obj6"] = {"gt_size_unchecked", "boundary_measure"}


def prediction_oddities(w: World) -> None:
    s = "pred_odd"
    _mask_scene(w, "srcA", s, _numbered(5), "obj1")
    keys = [f"obj_{n}" for n in range(1, 9)]
    for n in range(5):
        for obj in range(2, 9):
            empty = obj == 2 and n >= 3  # object 2 leaves the view: empty truth files
            w.mask("srcA", s, f"frame_{n:04d}_obj{obj}.png", box(SIZE, n) * (not empty))
    w.task("srcA", f"{s}_cameramask.json", {k: OBJ for k in keys})
    cid = f"cameramask/srcA/{s}/obj"
    w.predict(cid + "1", _good([0, 1]))  # two of five frames
    EXPECT[cid + "1"] = {"first_min_frames", "boundary_measure"}
    w.predict(cid + "2", None)  # empty folder: no mask
    EXPECT[cid + "2"] = {"no_masks_zero"}
    # obj3: no folder at all -> error
    w.predict(cid + "4", {0: box(SIZE, 0), 2: box(SIZE, 2)})  # a gap -> error
    w.predict(cid + "5", _good([0, 1, 2, 3, 4]))
    (w.pred / "masks" / (cid + "5") / "frame_0002.png").write_bytes(b"broken")  # -> error
    mixed = _good([1, 2, 3, 4])
    mixed[0] = np.array(Image.fromarray(box(SIZE, 0, 1)).resize((64, 48), Image.NEAREST))
    w.predict(cid + "6", mixed)
    EXPECT[cid + "6"] = {"pred_mixed_sizes", "boundary_measure"}
    EXPECT[cid + "7"] = {"boundary_measure"}
    w.predict(cid + "7", {n: np.array(Image.fromarray(box(SIZE, n, 1)).resize((16, 12)))
                          for n in range(5)})  # smaller prediction, gray values
    w.predict(cid + "8", {99: box(SIZE, 0)})  # files for other frames only -> error
    for n in (3, 4, 5, 8):
        EXPECT[cid + str(n)] = set()


def discovery(w: World) -> None:
    # scenes the official code skips: no folder, empty folder, .jpeg only, glob characters
    w.task("srcA", "no_frames_cameraqa.json", [{"question": "q", "options": ABC,
                                               "answer": "A"}])
    w.task("srcA", "no_frames_objmask.json", {"obj_1": OBJ})
    (w.root / "frames" / "srcA" / "empty_frames").mkdir(parents=True)
    w.task("srcA", "empty_frames_sceneqa.json", [{"question": "q", "options": ABC,
                                                  "answer": "A"}])
    w.frames("srcA", "jpeg_only", ["frame_0000.jpeg", "frame_0001.jpeg"])
    w.task("srcA", "jpeg_only_qa.json", [{"question": "q", "options": ABC, "answer": "A"}])
    w.frames("srcA", "cam[1]", _numbered(2))
    w.task("srcA", "cam[1]_qa.json", [{"question": "q", "options": ABC, "answer": "A"}])
    for cid in ("cameraqa/srcA/no_frames/q0", "objmask/srcA/no_frames/obj1",
                "sceneqa/srcA/empty_frames/q0", "qa/srcA/jpeg_only/q0", "qa/srcA/cam[1]/q0"):
        EXPECT[cid] = {"scene_skipped"}
        w.answer(cid, "A")
    # files that are not tasks or cannot be read; a frame that cannot be decoded
    w.frames("srcB", "files", _numbered(2))
    w.task("srcB", "noscore.json", [])
    w.task("srcB", "files_badtask.json", [])
    w.task("srcB", "files_frame_sampling.json", {"x": 1})
    w.task("srcB", "files_sceneqa.json", None, text='[{"question": "q", ')
    w.task("srcB", "files_qa.json", None,
           text="\ufeff" + json.dumps([{"question": "q", "options": ABC, "answer": "A"}]))
    w.task("srcB", "files_cameraqa.json", [])
    (w.root / "multi_json" / "srcB" / "dir_objmask.json").mkdir()
    w.frames("srcB", "bad_frame", _numbered(3))
    (w.root / "frames" / "srcB" / "bad_frame" / "frame_0001.jpg").write_bytes(b"x")
    w.task("srcB", "bad_frame_sceneqa.json", [{"question": "q", "options": ABC, "answer": "C"}])
    w.answer("sceneqa/srcB/bad_frame/q0", "C")
    # "_sceneqa.json": scene "" (fair: no task suffix); the official code lists the images
    # lying directly in frames/srcB/
    w.task("srcB", "_sceneqa.json", [{"question": "q", "options": ABC, "answer": "B"},
                                     {"question": "q", "options": ABC, "answer": "C"}])
    w.frames("srcB", "", _numbered(4, ext="png"))
    w.answer("sceneqa/srcB//q0", "B")
    w.answer("sceneqa/srcB//q1", "b")
    EXPECT["sceneqa/srcB//q0"] = EXPECT["sceneqa/srcB//q1"] = {"unvalidated_item"}


# ----------------------------------------------------------------------------- random


def random_world(base: Path, seed: int) -> World:
    """A randomised dataset: frame naming, truth presence and sizes, prediction counts,
    sizes and gaps, answers in odd forms."""
    rng = random.Random(seed)
    w = World(base)
    for s in range(rng.randint(2, 4)):
        scene = f"sc_{seed}_{s}"
        n = rng.randint(1, 12)
        style = rng.choice(["padded", "unpadded", "start2", "png", "unnamed", "mixed"])
        if style == "padded":
            names = _numbered(n)
        elif style == "unpadded":
            names = [f"frame_{i}.jpg" for i in range(n)]
        elif style == "start2":
            names = _numbered(n, start=2)
        elif style == "png":
            names = _numbered(n, ext="png")
        elif style == "unnamed":
            names = [f"shot{rng.randint(0, 999):03d}_{i}.png" for i in range(n)]
        else:
            names = _numbered(n) + _numbered(2, start=n, ext="png")
        size = rng.choice([SIZE, (20, 16)])
        w.frames("src", scene, names, size)
        truth_n = len(names)
        for obj in (1, 2):
            for i in range(truth_n):
                r = rng.random()
                if r < 0.12:
                    continue
                name = f"frame_{i:04d}_obj{obj}.{'jpg' if r > 0.93 else 'png'}"
                msize = size if rng.random() > 0.1 else (size[0] // 2, size[1] // 2)
                w.mask("src", scene, name, box(msize, i))
        task_mask = rng.choice(["cameramask", "objmask", "scenemask"])
        w.task("src", f"{scene}_{task_mask}.json", {"obj_1": OBJ, "thing_2": OBJ})
        official = sorted(x for x in names if x.endswith(".jpg")) or sorted(names)
        if style == "unnamed":
            shown = list(range(len(official)))
        else:
            shown = [int(x[6:].split(".")[0]) for x in official]
        for obj in (1, 2):
            cid = f"{task_mask}/src/{scene}/obj{obj}"
            r = rng.random()
            if r < 0.08:
                continue  # no folder: an error
            if r < 0.16:
                w.predict(cid, None)
                continue
            count = len(shown) if rng.random() < 0.7 else rng.randint(1, len(shown))
            psize = size if rng.random() < 0.8 else rng.choice([(40, 30), (16, 12)])
            w.predict(cid, {f: box(psize, k, rng.randint(0, 3)) for k, f in
                            enumerate(shown[:count])})
        task_qa = rng.choice(["cameraqa", "qa", "sceneqa"])
        items = []
        for q in range(rng.randint(1, 5)):
            truth = rng.choice(["A", "B", "C", "b", "(B)", "B.", "D", " c "])
            items.append({"question": f"q{q}", "options": rng.choice([ABC, ["x", "y", "z"],
                                                                        ["A) x", "B) y"]]),
                          "answer": truth})
            out = rng.choice(["A", "B", "b.", "(B)", "C,", "The answer is C", "", "D", "c"])
            w.answer(f"{task_qa}/src/{scene}/q{q}", out)
        w.task("src", f"{scene}_{task_qa}.json", items)
    if rng.random() < 0.5:
        w.task("src", f"gone_{seed}_objmask.json", {"obj_1": OBJ})
    return w.close()


# ----------------------------------------------------------------------------- running


def run_reference(root: Path, adapter: Adapter) -> tuple[dict[str, dict], dict]:
    """The suite's reference pipeline in process: official listing, runner, aggregation."""
    adapter.load()
    runner = make_runner(RunSettings(root=root, scoring=REFERENCE), adapter)
    records = [runner.run(case) for case in read_dataset(root).cases]
    summary = aggregate(records, model={"name": "t"}, settings=REFERENCE.as_dict())
    return {r["id"]: r for r in records}, summary


def predictions(world: World) -> ReferencePredictions:
    return ReferencePredictions(ModelSpec(name="predictions"), world.pred)


def counted(records: dict[str, dict]) -> dict[str, dict]:
    """The records that enter task scores (not skipped, not n/a, not file-level)."""
    return {k: r for k, r in records.items()
            if r["status"] not in ("skipped", "n/a") and not r["file_problem"]}
