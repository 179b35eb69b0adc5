"""Turn a model's output into a score. Sees ground truth, never the model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynbench.answers import extract_letter
from dynbench.data import Case

PROTOCOLS = ("fair", "reference")


@dataclass(frozen=True)
class ScoringSettings:
    """Everything that changes a score; recorded in every report."""

    protocol: str = "fair"  # "reference" reproduces the reference code's answer matching
    jf_mode: str = "davis"  # or "reference" (the reference code's boundary measure)
    bound_th: float = 0.008
    qa_mode: str = "generate"  # "logits": options ranked by next-token letter logits

    def as_dict(self) -> dict:
        return {"protocol": self.protocol, "jf_mode": self.jf_mode, "bound_th": self.bound_th,
                "qa_mode": self.qa_mode}


def score_qa(case: Case, output: str, settings: ScoringSettings) -> dict:
    """Extracted letter, correctness and whether the output could be parsed at all (the
    ``fair`` rules; ``--protocol reference`` scores in ``dynbench.reference.scoring``)."""
    found = extract_letter(output, case.options)
    result = {"extracted": found.letter, "method": found.method,
              "unparsed": found.letter is None, "correct": found.letter == case.truth}
    if found.letter is None:
        result["unparsed_reason"] = found.reason
    return result


@dataclass
class MaskScore:
    j: float
    f: float
    jf: float
    per_frame_j: list[float]
    per_frame_f: list[float]
    notes: list[str]


def score_masks(pred: np.ndarray | None, truth: list[np.ndarray],
                settings: ScoringSettings) -> MaskScore:
    """J&F over exactly the shown frames; a missing mask is scored as an empty prediction."""
    from dynbench import metrics

    notes: list[str] = []
    if pred is None:
        notes.append("no mask produced: scored as an empty prediction")
        frames = [np.zeros_like(t) for t in truth]
    else:
        frames, resized = _align_sizes(pred, truth)
        if resized:
            notes.append(f"prediction resized (nearest) to ground-truth size on {resized} "
                         "frame(s)")
    s = metrics.sequence_scores(frames, truth, mode=settings.jf_mode, bound_th=settings.bound_th)
    return MaskScore(s.j, s.f, s.jf, list(s.per_frame_j), list(s.per_frame_f), notes)


def _align_sizes(pred: np.ndarray, truth: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    if len(pred) != len(truth):
        raise ValueError(f"the model returned {len(pred)} mask frame(s) for {len(truth)} shown "
                         "frame(s); masks must align with the frames the model was shown")
    from dynbench import metrics

    frames, resized = [], 0
    for p, t in zip(pred, truth, strict=True):
        if p.shape != t.shape:
            p = metrics.resize_nearest(p, t.shape)
            resized += 1
        frames.append(np.asarray(p))
    return frames, resized
