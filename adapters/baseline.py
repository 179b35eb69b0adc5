"""A seeded chance-level baseline: the floor every real model must clear.

Each answer depends only on (seed, case id), so it is the same in any order, on any xdist
worker and after a resume. Labelled "baseline" in every report.
"""

from __future__ import annotations

import hashlib

import numpy as np

from dynbench.adapters.base import MASK, QA, Adapter, MaskRequest, QARequest, Segmentation, Video


def _rng(seed: int, case_id: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}:{case_id}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


class ChanceBaseline(Adapter):
    family = "baseline"
    capabilities = frozenset({QA, MASK})
    kind = "baseline"

    def answer(self, video: Video, request: QARequest) -> str:
        rng = _rng(self.spec.seed, request.case_id)
        return request.options[rng.integers(len(request.options))].split(".", 1)[0]

    def segment(self, video: Video, request: MaskRequest) -> Segmentation:
        """A random box (10-50% of each side), the same on every frame."""
        rng = _rng(self.spec.seed, request.case_id)
        width, height = video.size
        bw, bh = (max(1, int(s * rng.uniform(0.1, 0.5))) for s in (width, height))
        x, y = int(rng.integers(0, width - bw + 1)), int(rng.integers(0, height - bh + 1))
        masks = np.zeros((len(video), height, width), dtype=bool)
        masks[:, y:y + bh, x:x + bw] = True
        return Segmentation(masks, text="[baseline box]")

    def describe(self) -> dict:
        return {**super().describe(), "label": f"chance-level baseline (seed {self.spec.seed})"}
