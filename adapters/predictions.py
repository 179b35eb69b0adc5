"""Evaluate saved predictions instead of running a model (``--predictions DIR``).

Layout: ``DIR/answers.jsonl`` with lines ``{"id": "<case id>", "output": "<raw text>"}`` and
``DIR/masks/<case id>/frame_XXXX.png`` (XXXX = source frame index; read by the mask rule
of :mod:`dynbench.images`). A prediction the case needs but the folder lacks is an error for
that case, never an empty mask. What fails what:

* an ``answers.jsonl`` that cannot be read (not UTF-8, a directory, a line that is not a JSON
  object with a string ``id``) fails every QA case, naming the file and line; mask cases
  still run;
* an id given on two lines, or an ``output`` that is not a string, fails that case only;
* a path leaving the predictions folder through a symlink is refused (``--follow-symlinks``
  allows it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dynbench import runfolder, safefs
from dynbench.adapters.base import MASK, QA, Adapter, MaskRequest, QARequest, Segmentation, Video
from dynbench.data import DataError
from dynbench.images import read_mask


class PredictionError(Exception):
    """A required prediction is missing or unreadable."""


@dataclass
class Answers:
    """What ``answers.jsonl`` says per case id: the text, or why that id has none."""

    text: dict[str, str] = field(default_factory=dict)
    bad: dict[str, str] = field(default_factory=dict)  # id -> problem (duplicate, non-string)


def read_answers(path: Path) -> Answers:
    """Parse ``answers.jsonl``; raises PredictionError (file:line) if the file is unusable."""
    answers = Answers()
    if not path.exists() and not path.is_symlink():
        return answers
    problem = safefs.kind_problem(path, path.parent, str(path), "file")
    if problem:
        raise PredictionError(problem)
    lines_of: dict[str, list[int]] = {}
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            item = _parse_line(raw, path, n)
            if item is None:
                continue
            case_id, output = item
            lines_of.setdefault(case_id, []).append(n)
            if not isinstance(output, str):
                answers.bad[case_id] = (f"{path}:{n}: 'output' for {case_id} is "
                                        f"{type(output).__name__}, expected the model's raw text "
                                        "(a string)")
            else:
                answers.text[case_id] = output
    for case_id, lines in lines_of.items():
        if len(lines) > 1:
            answers.bad[case_id] = (f"{path}: lines {', '.join(map(str, lines))} all give an "
                                    f"answer for {case_id}; keep one")
    return answers


def _parse_line(raw: bytes, path: Path, n: int) -> tuple[str, object] | None:
    try:
        line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
    except UnicodeDecodeError:
        raise PredictionError(f"{path}:{n}: not UTF-8 text; re-save the file as UTF-8") from None
    if not line.strip():
        return None
    try:
        item = json.loads(line)
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise PredictionError(f"{path}:{n}: not a JSON line ({str(exc)[:80]}); expected "
                              "{\"id\": ..., \"output\": ...}") from None
    if not isinstance(item, dict) or not isinstance(item.get("id"), str) or "output" not in item:
        raise PredictionError(f"{path}:{n}: expected {{\"id\": \"<case id>\", \"output\": "
                              "\"<text>\"}")
    return item["id"], item["output"]


class SavedPredictions(Adapter):
    family = "predictions"
    capabilities = frozenset({QA, MASK})
    kind = "predictions"

    def __init__(self, spec, folder: Path) -> None:
        super().__init__(spec)
        self.folder = Path(folder)
        self.answers = Answers()
        self.problem: str | None = None

    def load(self) -> None:
        if not self.folder.is_dir():
            raise PredictionError(f"--predictions {self.folder}: folder does not exist")
        try:
            self.answers = read_answers(self.folder / runfolder.ANSWERS)
        except (PredictionError, OSError) as exc:  # each QA case reports it; masks still run
            self.problem = str(exc)

    def answer(self, video: Video, request: QARequest) -> str:
        if self.problem:
            raise PredictionError(self.problem)
        if request.case_id in self.answers.bad:
            raise PredictionError(self.answers.bad[request.case_id])
        try:
            return self.answers.text[request.case_id]
        except KeyError:
            raise PredictionError(f"no answer for {request.case_id} in "
                                  f"{self.folder / runfolder.ANSWERS}") from None

    def segment(self, video: Video, request: MaskRequest) -> Segmentation:
        folder = runfolder.mask_dir(self.folder, request.case_id)
        problem = safefs.kind_problem(folder, self.folder, str(folder), "dir")
        if problem:
            raise PredictionError(f"no predicted masks for {request.case_id}: {problem}")
        masks = [self._frame(request.case_id, i) for i in video.frame_indices]
        return Segmentation(_same_size(masks), text="")

    def _frame(self, case_id: str, index: int) -> np.ndarray:
        path = runfolder.mask_file(self.folder, case_id, index)
        problem = safefs.kind_problem(path, self.folder, str(path), "file")
        if problem:
            problem = problem.replace(f"{path}: is missing", f"{path} is missing")
            raise PredictionError(f"predicted mask {problem} (the model was shown source frame "
                                  f"{index})")
        try:
            return read_mask(path, self.folder)
        except DataError as exc:
            raise PredictionError(f"predicted mask {exc}") from None

    def describe(self) -> dict:
        return {**super().describe(), "label": f"saved predictions from {self.folder}"}


def _same_size(masks: list[np.ndarray]) -> np.ndarray:
    """Stack per-frame masks; frames of a video may differ in size, so smaller masks are
    enlarged (nearest) to the largest; scoring resizes each back to its ground truth, which
    restores it exactly for whole-number ratios (the record notes the resize)."""
    shapes = {m.shape for m in masks}
    if len(shapes) == 1:
        return np.stack(masks)
    height = max(s[0] for s in shapes)
    width = max(s[1] for s in shapes)
    return np.stack([m if m.shape == (height, width) else _nearest(m, (height, width))
                     for m in masks])


def _nearest(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    rows = (np.arange(shape[0]) * mask.shape[0]) // shape[0]
    cols = (np.arange(shape[1]) * mask.shape[1]) // shape[1]
    return mask[rows][:, cols]
