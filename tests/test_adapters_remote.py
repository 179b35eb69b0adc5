"""Shared remote-code helpers (``remote_common``) on stand-in checkpoints.

The families have their own modules: tests/test_sa2va.py, tests/test_internvl_chat.py,
tests/test_adapters_llava_unipixel.py.

Each stand-in checkpoint is built once per session into a temporary folder and loaded the way
a user's download is (``trust_remote_code=True``, offline); adapters are created through the
registry from the folder's ``config.json`` or from an ``--alias`` hub id. The stand-ins
record what they were given, so the assertions check our side of each real call contract:
the prompt, ``tokenizer=`` vs ``processor=``, the frames, and masks aligned with them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dynbench.adapters import remote_common as rc
from dynbench.adapters.base import MaskRequest, QARequest, Video
from dynbench.adapters.registry import create_adapter
from dynbench.modelspec import ModelSpec
from dynbench.tiny import build_tiny

PROMPT = ("How does the red box move?\nA. left\nB. right\nC. up\nD. down\n"
          "Answer with the option's letter from the given choices directly.")
SEG_PROMPT = "Please segment the red box that moves right."
SIZE = (64, 48)  # (width, height)
INDICES = [0, 2, 4]


def frame(i: int) -> Image.Image:
    """Green background, a red 10x10 square moving 10 px right per shown frame."""
    arr = np.zeros((SIZE[1], SIZE[0], 3), dtype=np.uint8)
    arr[..., 1] = 255
    arr[10:20, 5 + 10 * i:15 + 10 * i] = (255, 0, 0)
    return Image.fromarray(arr)


def red_over_green(img: Image.Image) -> np.ndarray:
    """What the stand-ins' per-pixel mask head computes: R > G."""
    arr = np.asarray(img).astype(int)
    return arr[..., 0] > arr[..., 1]


@pytest.fixture(scope="session")
def hf_env(tmp_path_factory):
    """Offline hub and a throwaway HF_HOME for the whole session."""
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("hf-home")
    for key, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                       "HF_HOME": str(home), "HF_MODULES_CACHE": str(home / "modules")}.items():
        mp.setenv(key, value)
    yield home
    mp.undo()


@pytest.fixture(scope="session")
def standin(tmp_path_factory, hf_env):
    """``standin(name)`` -> folder of the tiny stand-in checkpoint, built once per session."""
    root = tmp_path_factory.mktemp("standins")
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            built[name] = build_tiny(name, root / f"{name}-standin")
        return built[name]

    return get


@pytest.fixture(scope="session")
def video(tmp_path_factory) -> Video:
    folder = tmp_path_factory.mktemp("frames")
    frames = [frame(i) for i in range(len(INDICES))]
    paths = [folder / f"frame_{i:04d}.png" for i in INDICES]
    for img, path in zip(frames, paths, strict=True):
        img.save(path)
    return Video(key="src/scene", frames=frames, frame_indices=INDICES, paths=paths)


def qa() -> QARequest:
    return QARequest("qa/src/scene/q0", "How does the red box move?",
                     ("A. left", "B. right", "C. up", "D. down"), PROMPT)


def seg() -> MaskRequest:
    return MaskRequest("objmask/src/scene/obj1", "the red box that moves right", SEG_PROMPT)


def loaded(folder: Path, **spec):
    adapter = create_adapter(ModelSpec(name=str(folder), **spec))
    adapter.load()
    return adapter


def test_mask_stack_shapes_and_dtypes():
    four_d = np.zeros((1, 3, 4, 5), dtype=np.float32)
    four_d[0, 1, 2, 3] = 0.7
    assert rc.mask_stack(four_d, 3, "m")[1, 2, 3] and rc.mask_stack(four_d, 3, "m").sum() == 1
    assert rc.mask_stack(np.full((3, 4, 5), 255, np.uint8), 3, "m").all()
    assert rc.mask_stack(np.ones((4, 5), bool), 1, "m").shape == (1, 4, 5)
    with pytest.raises(rc.MisalignedOutput, match="shape"):
        rc.mask_stack(np.ones((2, 3, 4, 5), bool), 3, "m")


