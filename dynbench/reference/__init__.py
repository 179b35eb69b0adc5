"""``--protocol reference``: the paper's official evaluation code, reproduced rule for rule.

The official code (``Dynamics-X/Thinking-in-Dynamics``: ``eval.py`` and ``utils/``) decides a
number of things differently from the ``fair`` protocol: how it finds tasks and frames, how it
pairs ground-truth masks with frames, how it reads an answer. Under ``reference`` every one of
those rules is followed, so scores equal the official code's on any data and predictions, and
every case where a rule changed the result relative to ``fair`` is counted and named
(``reference_conventions``). Errors stay errors: they score 0 as the official code scores them,
and still make the run fail.

Modules: ``listing`` (tasks, frames and ground-truth files as the official code finds them),
``scoring`` (official answer and mask scoring, and which conventions changed a case),
``runner`` (one case under the official rules), ``summary`` (the report's reference section).
"""

from __future__ import annotations

# name -> what the official code does differently from ``fair`` (README lists the same)
CONVENTIONS: dict[str, str] = {
    "frame_listing": "frames are sorted frame_*.jpg, else frame_*.png, else *.jpg, else *.png "
                     "(case-sensitive glob, lexicographic order)",
    "options_verbatim": "options are shown as written in the data (no letters added, no "
                        "reformatting); no options: the question alone",
    "scene_skipped": "a scene whose frame folder is missing or holds no listed frame is "
                     "skipped and not counted",
    "unvalidated_item": "an item fair rejects as a data error (no question, malformed "
                        "options, no object number, duplicate id) is scored",
    "answer_outside_options": "a ground-truth answer that is not one of the option letters "
                              "is still scored",
    "gt_letter_verbatim": "the ground truth is answer.strip().upper() verbatim ('(B)' or 'B.' "
                          "never equals a bare 'B')",
    "first_token_match": "the answer is the first whitespace token of the output, trailing "
                         ".,;:!? stripped, upper-cased",
    "gt_by_position": "the ground truth of the i-th listed frame is frame_{i:04d}_obj<N>, "
                      "whatever that frame's own number",
    "gt_file_name": "ground-truth files are looked up by exact name: 4-digit index, the "
                    "object key's text after its last '_' verbatim, .png then .jpg",
    "gt_missing_zero": "a missing or unreadable ground-truth file is all zeros, sized like "
                       "the previous mask (480x640 before any)",
    "gt_size_unchecked": "a ground-truth mask whose size differs from its frame is used as is",
    "first_min_frames": "only the first min(#predicted, #ground-truth) frames are compared",
    "no_masks_zero": "no predicted mask at all scores J = F = J&F = 0",
    "pred_threshold_half": "predicted masks are binarised at > 0.5",
    "pred_mixed_sizes": "predicted masks may differ in size from frame to frame",
    "boundary_measure": "F uses erosion/dilation with the 3x3 cross, 2 iterations",
}
INPUT_CONVENTIONS = ("frame_listing", "options_verbatim")
