"""Run one case: show the model its frames, score the output, build the result record.

Every outcome ends as a record: a score, a not-applicable skip, or an error that scores 0
and fails the test with a message naming the case and the cause.
"""

from __future__ import annotations

import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dynbench import runfolder
from dynbench.adapters.base import Adapter, MaskRequest, QARequest, Segmentation, Video
from dynbench.answers import format_options
from dynbench.data import Case, DataError
from dynbench.media import (
    FrameCache,
    content_hash,
    frame_notes,
    list_frames,
    load_truth_masks,
    sample_positions,
    truth_notes,
)
from dynbench.notices import warn
from dynbench.resume import ResumeCache
from dynbench.scoring import ScoringSettings, score_masks, score_qa
from dynbench.thumbs import save_strip


class NotApplicable(Exception):
    """The model cannot do this kind of task; the case is skipped, never scored 0."""


@dataclass(frozen=True)
class RunSettings:
    root: Path
    max_frames: int | None = None
    scoring: ScoringSettings = ScoringSettings()
    save_masks: Path | None = None  # write predicted masks here, in the --predictions layout
    thumbs: Path | None = None  # write small prediction strips (thumbs/) here, for report.html


def base_record(case: Case) -> dict[str, Any]:
    return {"id": case.id, "task": case.task, "dimension": case.dimension, "kind": case.kind,
            "source": case.source, "scene": case.scene, "video": case.scene_key,
            "status": "ok", "error": None,
            "notes": [], "file_problem": case.index is None and case.obj is None}


class Runner:
    def __init__(self, settings: RunSettings, adapter: Adapter,
                 cache: FrameCache | None = None, resume: ResumeCache | None = None) -> None:
        self.settings = settings
        self.adapter = adapter
        self.cache = cache or FrameCache(settings.root)
        self.resume = resume
        self._prefetcher: ThreadPoolExecutor | None = None
        self._prefetched: str | None = None

    def prefetch(self, case: Case | None, current: Case) -> None:
        """Decode (and let the adapter preprocess) the next video in the background while
        this case runs; failures surface later, when that case itself runs."""
        if case is None or case.scene_key in (current.scene_key, self._prefetched) or \
                case.problem:
            return
        self._prefetched = case.scene_key
        if self._prefetcher is None:
            self._prefetcher = ThreadPoolExecutor(1, thread_name_prefix="dynbench-prefetch")
        self._prefetcher.submit(self._warm, case)

    def _warm(self, case: Case) -> None:
        try:
            video = self.video(case)
            warm = getattr(self.adapter, "warm", None)
            if warm is not None:
                warm(video)
        except Exception:  # noqa: BLE001, S110 - the case reports it when it runs
            pass

    def run(self, case: Case) -> dict[str, Any]:
        """Return the case's record; errors are recorded, not raised."""
        chash = self.content_key(case)
        if self.resume is not None:
            cached = self.resume.get(case.id, chash)
            if cached is not None and self.resume.restore(
                    cached, self.settings.thumbs, masks=self.settings.save_masks is not None):
                return {**cached, "resumed": True}
        record = self.compute(case, chash)
        if self.resume is not None:
            self.resume.put(record, self.settings.thumbs)
        return record

    def content_key(self, case: Case) -> str:
        """What the case's result depends on in the data (keys --resume)."""
        return content_hash(case, self.settings.root)

    def compute(self, case: Case, chash: str) -> dict[str, Any]:
        record = base_record(case)
        record["content_hash"] = chash
        try:
            if case.problem:
                raise DataError(case.problem)
            if case.kind not in self.adapter.capabilities:
                raise NotApplicable(f"{self.adapter.family} does not do {case.kind} tasks")
            video = self.video(case)
            record.update(frames=video.frame_indices, n_frames=len(video))
            notes = frame_notes(self.settings.root, case.source, case.scene,
                                [f.size for f in video.frames])  # as `dynbench check` lists
            result = self.run_qa(case, video) if case.kind == "qa" else self.run_mask(case, video)
            record.update(result, notes=[*notes, *result.get("notes", [])])
        except NotApplicable as exc:
            record.update(status="n/a", reason=str(exc))
        except Exception as exc:  # noqa: BLE001 - every failure becomes a visible error
            record.update(error_fields(case, exc, self.settings))
        return record

    def video(self, case: Case) -> Video:
        frames = list_frames(self.settings.root, case.source, case.scene)
        keep = sample_positions(len(frames), self.settings.max_frames)
        paths = [frames.paths[i] for i in keep]
        return Video(key=case.scene_key, frames=[self.cache.get(p) for p in paths],
                     frame_indices=[frames.indices[i] for i in keep], paths=paths)

    def run_qa(self, case: Case, video: Video) -> dict[str, Any]:
        request = QARequest(case.id, case.question, format_options(case.options), case.prompt)
        output, facts = self._call(self._qa_method(), video, request)
        if not isinstance(output, str):
            raise TypeError(f"adapter returned {type(output).__name__}, expected text")
        result = score_qa(case, output, self.settings.scoring)
        return {"prompt": case.prompt, "output": output, "truth": case.truth, **result, **facts}

    def _qa_method(self):
        if self.settings.scoring.qa_mode == "generate":
            return self.adapter.answer
        method = getattr(self.adapter, "answer_logits", None)
        if method is None:
            raise NotImplementedError(f"{self.adapter.family} does not support --qa-mode logits "
                                      "(transformers-native families do)")
        return method

    def run_mask(self, case: Case, video: Video) -> dict[str, Any]:
        truth = load_truth_masks(self.settings.root, case.source, case.scene, case.obj,
                                 video.paths, [f.size for f in video.frames])
        request = MaskRequest(case.id, case.question, case.prompt)
        seg, facts = self._call(self.adapter.segment, video, request)
        masks = checked_masks(seg, len(video))
        notes = list(seg.notes)
        if masks is not None and self.settings.save_masks:
            notes += saved_masks_note(self.settings.save_masks, case.id, video.frame_indices,
                                      masks)
        if masks is not None and self.settings.thumbs:
            save_strip(self.settings.thumbs, case.id, video.frame_indices, masks)
        score = score_masks(masks, truth, self.settings.scoring)
        return {"prompt": case.prompt, "output": seg.text, "j": score.j, "f": score.f,
                "jf": score.jf, "per_frame_j": score.per_frame_j,
                "per_frame_f": score.per_frame_f, "mask_produced": masks is not None,
                "notes": [*truth_notes(self.settings.root, case.source, case.scene, case.obj),
                          *empty_truth_note(truth), *notes, *score.notes], **facts}

    def _call(self, method, video: Video, request) -> tuple[Any, dict[str, Any]]:
        torch = sys.modules.get("torch")
        cuda = torch is not None and torch.cuda.is_available()
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        output = method(video, request)
        facts: dict[str, Any] = {"latency_s": round(time.perf_counter() - start, 4)}
        if cuda:
            facts["peak_gpu_mem_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 3)
        return output, facts


def empty_truth_note(truth: list[np.ndarray]) -> list[str]:
    if any(t.any() for t in truth):
        return []
    return ["ground truth is empty on every shown frame (the object is visible only in "
            "frames not shown)"]


def make_runner(settings: RunSettings, adapter: Adapter, cache: FrameCache | None = None,
                resume: ResumeCache | None = None) -> Runner:
    """The runner of the settings' protocol (``reference``: the official rules)."""
    if settings.scoring.protocol == "reference":
        from dynbench.reference.runner import ReferenceRunner

        return ReferenceRunner(settings, adapter, cache, resume)
    return Runner(settings, adapter, cache, resume)


def checked_masks(seg: Segmentation, shown: int) -> np.ndarray | None:
    """Validate the adapter's mask stack: one H x W mask per shown frame, or None."""
    if not isinstance(seg, Segmentation):
        raise TypeError(f"adapter returned {type(seg).__name__}, expected Segmentation")
    if seg.masks is None:
        return None
    masks = np.asarray(seg.masks)
    if masks.ndim != 3 or len(masks) != shown:
        raise ValueError(f"model returned masks of shape {masks.shape} for {shown} shown "
                         "frame(s); expected (frames, height, width)")
    return masks.astype(bool, copy=False)


def failed_score(kind: str) -> dict[str, Any]:
    """What an errored case scores: wrong, or J&F 0 (it stays in the task's n)."""
    return {"correct": False} if kind == "qa" else {"j": 0.0, "f": 0.0, "jf": 0.0}


def error_fields(case: Case, exc: BaseException, settings: RunSettings) -> dict[str, Any]:
    """An error record: scored 0 / wrong, with a message naming the case and the cause."""
    message = error_message(case, exc, settings)
    score = {**failed_score(case.kind), "truth": case.truth} if case.kind == "qa" \
        else failed_score(case.kind)
    tb = None if isinstance(exc, DataError) else "".join(
        traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-4))
    return {"status": "error", "error": message, "error_type": type(exc).__name__,
            "traceback": tb, **score}


def error_message(case: Case, exc: BaseException, settings: RunSettings) -> str:
    if isinstance(exc, DataError):
        return f"data error: {exc}"
    if _is_oom(exc):
        return (f"out of GPU memory on {case.id} (cache emptied, run continues); try "
                f"--max-frames {max(2, (settings.max_frames or 32) // 2)} or a smaller dtype")
    return f"{type(exc).__name__} during inference: {exc}"


def _is_oom(exc: BaseException) -> bool:
    if "out of memory" not in str(exc).lower():
        return False
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
    return True


def saved_masks_note(folder: Path, case_id: str, indices: list[int],
                     masks: np.ndarray) -> list[str]:
    """Save the masks; a full disk costs the files (said in a note and the warnings), never
    the case's score."""
    try:
        save_masks(folder, case_id, indices, masks)
    except OSError as exc:
        warn(f"--save-masks: masks not saved under {folder / 'masks'} "
             f"({exc.strerror or exc}); the scores are unaffected")
        return [f"predicted masks not saved: {exc.strerror or exc}"]
    return []


def save_masks(folder: Path, case_id: str, indices: list[int], masks: np.ndarray) -> None:
    """Predicted masks as PNG, in the layout ``--predictions`` reads back."""
    runfolder.mask_dir(folder, case_id).mkdir(parents=True, exist_ok=True)
    for index, mask in zip(indices, masks, strict=True):
        Image.fromarray(mask.astype(np.uint8) * 255).save(runfolder.mask_file(folder, case_id,
                                                                              index))
