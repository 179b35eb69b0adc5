"""Small hand-built datasets for the suite's own tests (independent of the generator)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

QUESTION = {"question": "Where does the box go?", "options": ["A. left", "B. right", "C. up"],
            "answer": "B"}
OBJECT = {"question": "the box that moves right", "crop_caption": "a box",
          "crop_category": "box"}


def box_mask(size: tuple[int, int], i: int) -> np.ndarray:
    w, h = size
    m = np.zeros((h, w), dtype=bool)
    m[h // 4: h // 2, 2 + 3 * i: 8 + 3 * i] = True
    return m


def write_scene(root: Path, source: str, scene: str, *, frames: int = 4,
                size: tuple[int, int] = (32, 24), ext: str = "png",
                qa: dict[str, list] | None = None, objects: dict[str, dict] | None = None,
                absent: tuple[int, ...] = ()) -> None:
    """A scene whose object 1 is a box moving right; ``absent`` frames have no mask file."""
    fdir, mdir = root / "frames" / source / scene, root / "masks" / source / scene
    jdir = root / "multi_json" / source
    for d in (fdir, mdir, jdir):
        d.mkdir(parents=True, exist_ok=True)
    for i in range(frames):
        mask = box_mask(size, i)
        rgb = np.stack([mask * 200, mask * 50, np.full(mask.shape, 30)], -1).astype(np.uint8)
        Image.fromarray(rgb).save(fdir / f"frame_{i:04d}.{ext}")
        if i not in absent:
            Image.fromarray(mask.astype(np.uint8) * 255).save(mdir / f"frame_{i:04d}_obj1.png")
    for task, items in (qa if qa is not None else {"cameraqa": [QUESTION, QUESTION]}).items():
        (jdir / f"{scene}_{task}.json").write_text(json.dumps(items))
    for task, objs in (objects if objects is not None else {"objmask": {"obj_1": OBJECT}}).items():
        (jdir / f"{scene}_{task}.json").write_text(json.dumps(objs))


def small_dataset(root: Path) -> Path:
    write_scene(root, "srcA", "street_cross_02")
    write_scene(root, "srcA", "park", ext="jpg", qa={"sceneqa": [QUESTION], "qa": [QUESTION]},
                objects={"scenemask": {"obj_1": OBJECT}, "cameramask": {"scene_obj_1": OBJECT}},
                absent=(3,))
    (root / "multi_json" / "srcA" / "park_frame_sampling.json").write_text("{}")
    return root


# a conftest for child runs: the chance baseline slowed by $SLOW_S seconds per QA answer, so
# a run can be watched (progress) or killed half-way (resume)
SLOW_CONFTEST = '''
import os, time
import pytest
from dynbench.adapters.baseline import ChanceBaseline

class SlowBaseline(ChanceBaseline):
    """The chance baseline, slowed down so a run can be killed half-way."""
    def answer(self, video, request):
        time.sleep(float(os.environ.get("SLOW_S", "0")))
        return super().answer(video, request)

@pytest.fixture(scope="session")
def dynbench_adapter(pytestconfig):
    from dynbench.plugin import _state
    return SlowBaseline(_state(pytestconfig).spec)
'''
