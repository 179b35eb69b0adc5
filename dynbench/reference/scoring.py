"""Official scoring of one case, and which official conventions changed its result.

A convention is named for a case when replacing that one official rule by the ``fair`` rule
changes the case's result (status, J, F or J&F; correctness for QA). When only several rules
together make the difference, all of those that apply are named. Input conventions (what the
model is shown) cannot be replayed, so they are named whenever the input differs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from dynbench import metrics
from dynbench.answers import extract_letter, parse_options, reference_first_token
from dynbench.reference.listing import (
    FIRST_EMPTY_MASK,
    ReferenceCase,
    exact_mask_file,
    parsed_mask_files,
    qa_fields,
    read_mask,
)

TOLERANCE = 1e-12


class OfficialError(Exception):
    """Where the official code raises: the case scores 0, counted, and is an error here."""


# ------------------------------------------------------------------------------- QA


def official_letter(output: str) -> str:
    """The official matcher: first whitespace token, trailing ``.,;:!?`` removed, upper case;
    ``""`` for an empty output (which equals an empty or missing ground truth)."""
    return reference_first_token(output) or ""


def score_qa(case: ReferenceCase, output: str) -> dict:
    _, _, answer = qa_fields(case.item)
    if not isinstance(answer, str):
        raise OfficialError(f"{case.json_path} question {case.index}: answer {answer!r} is not "
                            "text; the official code fails on answer.strip() and scores 0")
    truth = answer.strip().upper()
    token = official_letter(output)
    return {"truth": truth, "extracted": token, "method": "reference_first_token",
            "unparsed": False, "correct": token == truth}


def qa_conventions(case: ReferenceCase, output: str, correct: bool) -> list[str]:
    """Scoring conventions that changed this answered case's correctness (or its status)."""
    fair = case.fair
    if fair is None or fair.problem:
        return [_rejection(case)]
    token, truth = official_letter(output), case.truth
    fair_letter = extract_letter(output, fair.options).letter
    named = [name for name, alone in (("gt_letter_verbatim", token == fair.truth),
                                      ("first_token_match", fair_letter == truth))
             if alone != correct]
    if not named and (fair_letter == fair.truth) != correct:
        named = ["gt_letter_verbatim", "first_token_match"]
    return named


def _rejection(case: ReferenceCase) -> str:
    """Why fair turns this entry into a data error: its answer, or the entry itself."""
    question, options, _ = qa_fields(case.item)
    well_formed = (case.fair is not None and isinstance(question, str) and question.strip()
                   and isinstance(options, list) and len(options) >= 2
                   and all(isinstance(o, str) for o in options))
    if well_formed:
        try:
            parse_options(options)
        except ValueError:
            well_formed = False
    return "answer_outside_options" if well_formed else "unvalidated_item"


def prompt_differs(case: ReferenceCase, prompt: str) -> bool:
    fair = case.fair
    return fair is not None and not fair.problem and fair.prompt != prompt


# ------------------------------------------------------------------------------- masks


@dataclass(frozen=True)
class Outcome:
    status: str  # "ok" or "error"
    j: float = 0.0
    f: float = 0.0
    jf: float = 0.0
    per_frame_j: tuple[float, ...] = ()
    per_frame_f: tuple[float, ...] = ()

    def same(self, other: Outcome) -> bool:
        return self.status == other.status and all(
            abs(a - b) <= TOLERANCE for a, b in ((self.j, other.j), (self.f, other.f),
                                                 (self.jf, other.jf)))


REJECTED = Outcome("error")


class _Rejected(Exception):
    """The fair rule being replayed would make the case an error."""


@dataclass
class MaskEvidence:
    """Everything a mask case's score depends on, with file lookups and reads cached so
    that replaying rules costs no extra disk work."""

    folder: Path  # the scene's ground-truth folder
    suffix: str  # official object suffix, e.g. "obj03"
    number: int | None  # the object number read as an integer (fair), None if none
    indices: tuple[int, ...]  # number of each listed frame (positions when names have none)
    sizes: tuple[tuple[int, int], ...]  # (W, H) of each listed frame
    preds: list[np.ndarray]  # predicted masks, 2-D each, in frame order
    bound_th: float  # DAVIS tolerance, for replaying the fair boundary measure
    fair_problem: bool = False  # fair rejects this entry as a data error
    _exact: dict[int, Path | None] = field(default_factory=dict)
    _parsed: dict[tuple[int, int], Path] | None = None
    _reads: dict[Path, np.ndarray | None] = field(default_factory=dict)

    def lookup(self, index: int, parsed: bool) -> Path | None:
        if parsed:
            if self._parsed is None:
                self._parsed = parsed_mask_files(self.folder)
            return None if self.number is None else self._parsed.get((index, self.number))
        if index not in self._exact:
            self._exact[index] = exact_mask_file(self.folder, index, self.suffix)
        return self._exact[index]

    def read(self, path: Path) -> np.ndarray | None:
        """The mask, or None when it cannot be read (the official code catches everything)."""
        if path not in self._reads:
            try:
                self._reads[path] = read_mask(path)
            except Exception:  # noqa: BLE001 - literally what the official loader does
                self._reads[path] = None
        return self._reads[path]

    def candidates(self, k: int) -> set[Path | None]:
        """The file each rule combination picks for the k-th listed frame."""
        return {self.lookup(i, parsed) for i in {k, self.indices[k]} for parsed in (False, True)}


def ground_truth(ev: MaskEvidence, fair: frozenset[str]) -> list[np.ndarray]:
    """One mask per listed frame, by the official rules except those named in ``fair``."""
    paths = [ev.lookup(ev.indices[k] if "gt_by_position" in fair else k, "gt_file_name" in fair)
             for k in range(len(ev.indices))]
    fair_missing = "gt_missing_zero" in fair
    if fair_missing and not any(paths):
        raise _Rejected("no mask files for the object")
    masks: list[np.ndarray] = []
    for k, path in enumerate(paths):
        mask = ev.read(path) if path is not None else None
        w, h = ev.sizes[k]
        if mask is None:
            if fair_missing and path is not None:
                raise _Rejected("unreadable mask")
            if fair_missing:
                mask = np.zeros((h, w), dtype=np.uint8)
            else:
                mask = np.zeros_like(masks[-1]) if masks else np.zeros(FIRST_EMPTY_MASK, np.uint8)
        elif "gt_size_unchecked" in fair and mask.shape != (h, w):
            raise _Rejected("mask size differs from its frame")
        masks.append(mask)
    return masks


def fit_to(pred: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A bool prediction resized (nearest) to the ground truth's size, as the official code
    does: through an 8-bit image (0/255) and back with > 127."""
    if pred.shape == shape:
        return pred
    image = Image.fromarray(pred.astype(np.uint8) * 255)
    return np.array(image.resize((shape[1], shape[0]), Image.NEAREST)) > 127


def mask_outcome(ev: MaskEvidence, fair: frozenset[str] = frozenset()) -> Outcome:
    """The case's result under the official rules, except those named in ``fair``."""
    if "unvalidated_item" in fair and ev.fair_problem:
        return REJECTED
    try:
        gts = ground_truth(ev, fair)
    except _Rejected:
        return REJECTED
    preds = ev.preds
    if not preds:
        if "no_masks_zero" not in fair:
            return Outcome("ok")
        preds = [np.zeros(g.shape, dtype=bool) for g in gts]
    elif "first_min_frames" in fair and len(preds) != len(gts):
        return REJECTED
    if "pred_mixed_sizes" in fair and len({p.shape for p in preds}) > 1:
        return REJECTED
    official_threshold = "pred_threshold_half" not in fair
    pairs = [(fit_to(p > 0.5 if official_threshold else p != 0, g.shape), g > 0)
             for p, g in zip(preds, gts, strict=False)]
    if "boundary_measure" in fair:
        s = metrics.sequence_scores([p for p, _ in pairs], [g for _, g in pairs], "davis",
                                    ev.bound_th)
        return Outcome("ok", s.j, s.f, s.jf, s.per_frame_j, s.per_frame_f)
    scores = [metrics.frame_scores(p, g, "reference") for p, g in pairs]
    js = tuple(float(j) for j, _ in scores)
    fs = tuple(float(f) for _, f in scores)
    j, f = float(np.mean(js)), float(np.mean(fs))
    return Outcome("ok", j, f, (j + f) / 2, js, fs)


def _any_gt(ev: MaskEvidence, test: Callable[[int, Path | None], bool]) -> bool:
    return any(test(k, p) for k in range(len(ev.indices)) for p in ev.candidates(k))


def _gt_missing(ev: MaskEvidence) -> bool:
    return _any_gt(ev, lambda k, p: p is None or ev.read(p) is None)


def _gt_size_differs(ev: MaskEvidence) -> bool:
    def differs(k: int, p: Path | None) -> bool:
        mask = None if p is None else ev.read(p)
        return mask is not None and mask.shape != ev.sizes[k][::-1]
    return _any_gt(ev, differs)


def _file_name_differs(ev: MaskEvidence) -> bool:
    indices = set(range(len(ev.indices))) | set(ev.indices)
    return any(ev.lookup(i, False) != ev.lookup(i, True) for i in indices)


_APPLIES: dict[str, Callable[[MaskEvidence], bool]] = {
    "unvalidated_item": lambda ev: ev.fair_problem,
    "gt_by_position": lambda ev: any(i != k for k, i in enumerate(ev.indices)),
    "gt_file_name": _file_name_differs,
    "gt_missing_zero": _gt_missing,
    "gt_size_unchecked": _gt_size_differs,
    "first_min_frames": lambda ev: bool(ev.preds) and len(ev.preds) != len(ev.indices),
    "no_masks_zero": lambda ev: not ev.preds,
    "pred_threshold_half": lambda ev: any(p.dtype != np.bool_ and bool(((p > 0.5) != (p != 0))
                                                                       .any()) for p in ev.preds),
    "pred_mixed_sizes": lambda ev: len({p.shape for p in ev.preds}) > 1,
    "boundary_measure": lambda ev: True,
}


def mask_conventions(ev: MaskEvidence, official: Outcome) -> list[str]:
    """The scoring conventions that changed this case's result (see the module doc)."""
    applicable = [name for name, applies in _APPLIES.items() if applies(ev)]
    named = [name for name in applicable
             if not mask_outcome(ev, frozenset({name})).same(official)]
    if not named and applicable and not mask_outcome(ev, frozenset(applicable)).same(official):
        named = applicable
    return named


def predicted_frames(masks) -> list[np.ndarray]:
    """An adapter's masks as the official code receives them: a list of 2-D frames (a
    (T, H, W) array is split into its frames; extra unit axes are squeezed)."""
    if masks is None:
        return []
    if isinstance(masks, np.ndarray):
        masks = [masks]
    masks = list(masks)
    if masks and np.ndim(masks[0]) == 3:  # the official code splits the first mask stack
        masks = list(np.asarray(masks[0]))
    frames = [np.squeeze(np.asarray(m)) for m in masks]
    for i, frame in enumerate(frames):
        if frame.ndim != 2:
            raise OfficialError(f"predicted mask {i} has shape {frame.shape}, not (H, W)")
    return frames
