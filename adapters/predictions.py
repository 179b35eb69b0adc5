"""Evaluate saved predictions instead of running a model (``--predictions DIR``).

Layout: ``DIR/answers.jsonl`` with lines ``{"id": "<case id>", "output": "<raw text>"}`` and
``DIR/masks/<case id>/frame_XXXX.png`` (XXXX = source frame index, nonzero = object). A
prediction the case needs but the folder lacks is an error for that case, never an empty mask.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from dynbench.adapters.base import MASK, QA, Adapter, MaskRequest, QARequest, Segmentation, Video


class PredictionError(Exception):
    """A required prediction is missing or unreadable."""


def read_answers(path: Path) -> dict[str, str]:
    answers: dict[str, str] = {}
    if not path.exists():
        return answers
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            answers[str(item["id"])] = str(item["output"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise PredictionError(f"{path}:{n}: expected {{\"id\": ..., \"output\": ...}} "
                                  f"({exc})") from None
    return answers


class SavedPredictions(Adapter):
    family = "predictions"
    capabilities = frozenset({QA, MASK})
    kind = "predictions"

    def __init__(self, spec, folder: Path) -> None:
        super().__init__(spec)
        self.folder = Path(folder)
        self.answers: dict[str, str] = {}
        self.problem: str | None = None

    def load(self) -> None:
        if not self.folder.is_dir():
            raise PredictionError(f"--predictions {self.folder}: folder does not exist")
        try:
            self.answers = read_answers(self.folder / "answers.jsonl")
        except PredictionError as exc:  # each QA case reports it; mask cases still run
            self.problem = str(exc)

    def answer(self, video: Video, request: QARequest) -> str:
        if self.problem:
            raise PredictionError(self.problem)
        try:
            return self.answers[request.case_id]
        except KeyError:
            raise PredictionError(f"no answer for {request.case_id} in "
                                  f"{self.folder / 'answers.jsonl'}") from None

    def segment(self, video: Video, request: MaskRequest) -> Segmentation:
        folder = self.folder / "masks" / request.case_id
        if not folder.is_dir():
            raise PredictionError(f"no predicted masks for {request.case_id}: {folder} is "
                                  "missing")
        masks = [self._frame(folder, i) for i in video.frame_indices]
        shapes = sorted({m.shape for m in masks})
        if len(shapes) > 1:
            raise PredictionError(f"predicted masks in {folder} differ in size across frames: "
                                  f"{shapes}")
        return Segmentation(np.stack(masks), text="")

    def _frame(self, folder: Path, index: int) -> np.ndarray:
        path = folder / f"frame_{index:04d}.png"
        try:
            with Image.open(path) as im:
                return np.asarray(im.convert("L")) > 0
        except FileNotFoundError:
            raise PredictionError(f"predicted mask {path} is missing (the model was shown "
                                  f"source frame {index})") from None
        except (UnidentifiedImageError, OSError) as exc:
            raise PredictionError(f"predicted mask {path} cannot be decoded ({exc})") from None

    def describe(self) -> dict:
        return {**super().describe(), "label": f"saved predictions from {self.folder}"}

