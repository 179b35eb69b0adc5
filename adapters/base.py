"""The contract between the benchmark and a model family.

An adapter sees a video and a request; it never sees ground truth. Scoring lives in
``dynbench.scoring`` and never sees the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

QA = "qa"
MASK = "mask"


class LoadError(Exception):
    """The model cannot be loaded or run here.

    Raised before any case runs; the message names the model, the cause and the exact fix
    (an install command, an option to change), because the run stops on it once instead of
    failing every case.
    """


@dataclass
class Video:
    """The frames a model is shown, with the source frame index of each one."""

    key: str  # "<source>/<scene>"
    frames: list[Image.Image]  # RGB, in display order
    frame_indices: list[int]  # source frame index of frames[i] (0-based position in the scene)
    paths: list[Path]  # the files the frames were decoded from
    fps: float = 24.0

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the first frame."""
        return self.frames[0].size


@dataclass(frozen=True)
class QARequest:
    case_id: str
    question: str
    options: tuple[str, ...]  # "A. text" strings, letters normalised upper case
    prompt: str  # the benchmark's standard QA prompt


@dataclass(frozen=True)
class MaskRequest:
    case_id: str
    expression: str  # the object's referring question
    prompt: str  # what the official code sends: the bare referring question


@dataclass
class Segmentation:
    """A model's answer to a mask request.

    ``masks`` is a bool array (T, H, W) aligned with ``Video.frames`` (T == len(video)),
    or None when the model produced no mask ("no mask produced").
    """

    masks: np.ndarray | None
    text: str = ""
    notes: list[str] = field(default_factory=list)


class Adapter:
    """Base class: one subclass per model family.

    Subclasses set ``capabilities`` and implement ``answer`` and/or ``segment``.
    ``kind`` labels the report: "model" (real weights), "baseline", "smoke" (tiny
    random-weight model) or "predictions" (saved outputs).
    """

    family: ClassVar[str] = "base"
    capabilities: ClassVar[frozenset[str]] = frozenset()
    kind: ClassVar[str] = "model"

    def __init__(self, spec: Any) -> None:
        self.spec = spec

    def load(self) -> None:
        """Load weights; called once per process by the session fixture."""

    def answer(self, video: Video, request: QARequest) -> str:
        raise NotImplementedError(f"{type(self).__name__} does not answer questions")

    def segment(self, video: Video, request: MaskRequest) -> Segmentation:
        raise NotImplementedError(f"{type(self).__name__} does not segment")

    def describe(self) -> dict[str, Any]:
        """Facts for the report (load time, dtype, device, settings)."""
        facts = {"family": self.family, "kind": self.kind}
        if self.kind == "smoke":
            facts["label"] = (f"SMOKE MODEL tiny {self.family} (random weights, not a benchmark "
                              "result)")
        return facts

    def close(self) -> None:
        """Free resources at the end of the session."""
