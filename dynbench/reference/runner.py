"""One case under the official rules: frames as the official code lists them, its prompt,
its scoring, and the names of the conventions that changed the result.

:class:`ReferenceRunner` replaces the fair runner's frame listing, case computation and
content hash; adapters, resume, prefetching and error records are shared with ``fair``.
:class:`ReferencePredictions` reads saved masks the way a model's list of masks reaches the
official scorer: in frame order, as many as were saved, each at its own size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from dynbench import runfolder
from dynbench.adapters.base import MaskRequest, QARequest, Video
from dynbench.adapters.predictions import PredictionError, SavedPredictions
from dynbench.data import Case, DataError
from dynbench.media import list_frames
from dynbench.reference import listing, scoring
from dynbench.reference.listing import ReferenceCase
from dynbench.runner import NotApplicable, Runner, base_record, error_fields
from dynbench.thumbs import save_strip

SKIPPED = "skipped"


class ReferenceRunner(Runner):
    def content_key(self, case: Case) -> str:
        return listing.content_hash(case, self.settings.root)

    def video(self, case: Case) -> Video:
        if not isinstance(case, ReferenceCase):
            return super().video(case)
        return Video(key=case.scene_key, frames=[self.cache.get(p) for p in case.frames],
                     frame_indices=list(case.frame_indices), paths=list(case.frames))

    def compute(self, case: Case, chash: str) -> dict[str, Any]:
        if not isinstance(case, ReferenceCase):  # a file-level problem: the same as fair
            return {**super().compute(case, chash), "reference_conventions": []}
        record = {**base_record(case), "content_hash": chash}
        if case.skip:
            return {**record, "status": SKIPPED, "reason": f"{case.skip}: the official code "
                    "skips this scene, so the case is not counted",
                    "reference_conventions": ["scene_skipped"]}
        named: list[str] = []
        try:
            if case.problem:
                raise DataError(case.problem)
            if case.kind not in self.adapter.capabilities:
                raise NotApplicable(f"{self.adapter.family} does not do {case.kind} tasks")
            named = self._input_conventions(case)
            video = self.video(case)
            record.update(frames=video.frame_indices, n_frames=len(video))
            result = self._qa(case, video) if case.kind == "qa" else self._mask(case, video)
            named += result.pop("conventions")
            record.update(result)
        except NotApplicable as exc:
            named = []
            record.update(status="n/a", reason=str(exc))
        except Exception as exc:  # noqa: BLE001 - errors score 0 and stay visible
            record.update(error_fields(case, exc, self.settings))
        record["reference_conventions"] = named
        return record

    def _input_conventions(self, case: ReferenceCase) -> list[str]:
        """What the model is shown differently from fair. Saved answers do not depend on it;
        saved masks are read at the listed frames, so the listing still counts for them."""
        if self.adapter.kind == "predictions" and case.kind == "qa":
            return []
        named = []
        try:
            fair_paths = list(list_frames(self.settings.root, case.source, case.scene).paths)
        except DataError:
            fair_paths = None
        if fair_paths != list(case.frames):
            named.append("frame_listing")
        if case.kind == "qa" and scoring.prompt_differs(case, case.prompt):
            named.append("options_verbatim")
        return named

    def _qa(self, case: ReferenceCase, video: Video) -> dict[str, Any]:
        prompt = listing.official_prompt(case.item)
        if not isinstance(prompt, str):
            raise scoring.OfficialError(f"{case.json_path} question {case.index}: the question "
                                        f"is {prompt!r}, not text, and there are no options")
        _, options, _ = listing.qa_fields(case.item)
        shown = tuple(options) if isinstance(options, list) else ()
        request = QARequest(case.id, case.question, shown, prompt)
        output, facts = self._call(self._qa_method(), video, request)
        if not isinstance(output, str):
            raise TypeError(f"adapter returned {type(output).__name__}, expected text")
        result = scoring.score_qa(case, output)
        return {"prompt": prompt, "output": output, **result, **facts,
                "conventions": scoring.qa_conventions(case, output, result["correct"])}

    def _mask(self, case: ReferenceCase, video: Video) -> dict[str, Any]:
        request = MaskRequest(case.id, case.question, case.prompt)
        seg, facts = self._call(self.adapter.segment, video, request)
        preds = scoring.predicted_frames(getattr(seg, "masks", None))
        evidence = scoring.MaskEvidence(
            folder=listing.mask_dir(self.settings.root, case), suffix=case.mask_suffix,
            number=listing.object_number(case.object_key or ""),
            indices=tuple(video.frame_indices), sizes=tuple(f.size for f in video.frames),
            preds=preds, bound_th=self.settings.scoring.bound_th,
            fair_problem=case.fair is None or bool(case.fair.problem))
        outcome = scoring.mask_outcome(evidence)
        self._save(case, video, preds)
        notes = list(getattr(seg, "notes", []))
        if not preds:
            notes.append("no mask produced: J = F = J&F = 0 (official)")
        return {"prompt": case.prompt, "output": getattr(seg, "text", ""), "j": outcome.j,
                "f": outcome.f, "jf": outcome.jf, "per_frame_j": list(outcome.per_frame_j),
                "per_frame_f": list(outcome.per_frame_f), "mask_produced": bool(preds),
                "compared_frames": len(outcome.per_frame_j), "notes": notes, **facts,
                "conventions": scoring.mask_conventions(evidence, outcome)}

    def _save(self, case: ReferenceCase, video: Video, preds: list[np.ndarray]) -> None:
        """--save-masks and thumbnails, in the --predictions layout (frame number names);
        no mask at all is saved as an empty folder, which reads back as "no mask"."""
        if not preds:
            if self.settings.save_masks:
                runfolder.mask_dir(self.settings.save_masks, case.id).mkdir(parents=True,
                                                                           exist_ok=True)
            return
        binary = [p > 0.5 for p in preds]
        indices = video.frame_indices[:len(binary)]
        if self.settings.save_masks:
            runfolder.mask_dir(self.settings.save_masks, case.id).mkdir(parents=True,
                                                                       exist_ok=True)
            for index, mask in zip(indices, binary, strict=False):
                Image.fromarray(mask.astype(np.uint8) * 255).save(
                    runfolder.mask_file(self.settings.save_masks, case.id, index))
        if self.settings.thumbs and len({m.shape for m in binary}) == 1:
            save_strip(self.settings.thumbs, case.id, indices, np.stack(binary))


class ReferencePredictions(SavedPredictions):
    """Saved masks as the official scorer would receive a model's list of masks.

    ``masks/<case id>/frame_XXXX.png`` for the listed frames, in order, up to the first one
    that is missing (the official code compares only that many frames); each keeps its own
    size and its 8-bit values. A folder with no file for any listed frame is "no mask" (J&F
    0, as the official code scores it) when it is empty, an error when it holds other files;
    a file after a missing one is an error (a model's list has no holes).
    """

    def segment(self, video: Video, request: MaskRequest):
        from dynbench.adapters.base import Segmentation

        folder = runfolder.mask_dir(self.folder, request.case_id)
        if not folder.is_dir():
            raise PredictionError(f"no predicted masks for {request.case_id}: {folder} is "
                                  "missing (an empty folder means 'no mask produced')")
        paths = [runfolder.mask_file(self.folder, request.case_id, i)
                 for i in video.frame_indices]
        present = [p.is_file() for p in paths]
        count = present.index(False) if False in present else len(paths)
        if any(present[count:]):
            later = next(p.name for p, ok in zip(paths[count:], present[count:], strict=True)
                         if ok)
            raise PredictionError(f"predicted masks in {folder} stop at {paths[count].name} "
                                  f"but {later} exists; save every frame up to the last one")
        if count == 0:
            others = sorted(p.name for p in folder.iterdir())
            if others:
                raise PredictionError(f"{folder} holds {len(others)} file(s) ({others[0]}, ...) "
                                      "but none for the listed frames "
                                      f"(frame_{video.frame_indices[0]:04d}.png, ...)")
            return Segmentation(None, text="", notes=["empty prediction folder: no mask"])
        return Segmentation([_read(p) for p in paths[:count]], text="")


def _read(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            return np.array(im.convert("L"))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise PredictionError(f"predicted mask {path} cannot be decoded ({exc})") from None
