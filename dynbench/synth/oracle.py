"""Perfect predictions for a generated dataset, from the generator's own model.

``python -m dynbench.synth OUT --oracle PRED`` writes ``PRED`` in the ``--predictions``
layout: the correct letter for every question and the true visible silhouette for every
object at every frame, keyed by the frame index the suite must assign to each frame file.
The answers come from the scene parameters, never from reading the written files back, so
``pytest --data-dir OUT --predictions PRED`` scores 100 exactly where the suite reads the
data right, and any misreading (a frame paired with the wrong mask, an inverted palette)
shows up as a score below 100.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass
class Oracle:
    answers: dict[str, str] = field(default_factory=dict)
    masks: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)

    def add_qa(self, task: str, source: str, scene: str, items: list[dict]) -> None:
        for i, item in enumerate(items):
            self.answers[f"{task}/{source}/{scene}/q{i}"] = str(item["answer"]).upper()

    def add_mask(self, task: str, source: str, scene: str, obj: int,
                 frames: dict[int, np.ndarray]) -> None:
        self.masks[f"{task}/{source}/{scene}/obj{obj}"] = frames

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        lines = [json.dumps({"id": k, "output": v}, ensure_ascii=False)
                 for k, v in sorted(self.answers.items())]
        (folder / "answers.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        for case_id, frames in sorted(self.masks.items()):
            out = folder / "masks" / case_id
            out.mkdir(parents=True, exist_ok=True)
            for index, mask in frames.items():
                Image.fromarray(mask.astype(np.uint8) * 255).save(out / f"frame_{index:04d}.png")
