"""Frames, requests and checks shared by the remote-code stand-in tests (every remote family)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dynbench.adapters.base import MaskRequest, QARequest, Video

PROMPT = ("How does the red box move?\nA. left\nB. right\nC. up\nD. down\n"
          "Answer with the option's letter from the given choices directly.")
EXPRESSION = "the red box that moves right"
SIZE = (64, 48)  # (width, height)
INDICES = [0, 2, 4]
TF_MAJOR = int(__import__("transformers").__version__.split(".")[0])
INSTALL = "pip install 'transformers>=4.57.1,<5'"
needs_tf4 = pytest.mark.skipif(TF_MAJOR >= 5, reason="the real remote code needs transformers 4.x")
only_tf5 = pytest.mark.skipif(TF_MAJOR < 5, reason="checks the transformers 5 failure")


def frame(i: int, size: tuple[int, int] = SIZE) -> Image.Image:
    """Green background, a red 10x10 square moving 10 px right per shown frame."""
    arr = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    arr[..., 1] = 255
    arr[10:20, 5 + 10 * i:15 + 10 * i] = (255, 0, 0)
    return Image.fromarray(arr)


def red_over_green(img: Image.Image) -> np.ndarray:
    """What the stand-ins' per-pixel mask head computes: R > G."""
    arr = np.asarray(img).astype(int)
    return arr[..., 0] > arr[..., 1]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def make_video(folder: Path, count: int = len(INDICES)) -> Video:
    frames = [frame(i) for i in range(count)]
    indices = INDICES if count == len(INDICES) else list(range(count))
    paths = [folder / f"frame_{i:04d}.png" for i in indices]
    for img, path in zip(frames, paths, strict=True):
        img.save(path)
    return Video(key="src/scene", frames=frames, frame_indices=indices, paths=paths)


def qa() -> QARequest:
    return QARequest("qa/src/scene/q0", "How does the red box move?",
                     ("A. left", "B. right", "C. up", "D. down"), PROMPT)


def seg() -> MaskRequest:
    return MaskRequest("objmask/src/scene/obj1", EXPRESSION, EXPRESSION)


def offline_hf(tmp_path_factory) -> pytest.MonkeyPatch:
    """Offline hub and a throwaway HF_HOME (undo the returned MonkeyPatch when done)."""
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("hf-home")
    for key, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                       "HF_HOME": str(home), "HF_MODULES_CACHE": str(home / "modules")}.items():
        mp.setenv(key, value)
    return mp
