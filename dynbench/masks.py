"""Ground-truth mask files of a scene, paired with its frames by frame *index*.

A mask file is ``<stem>_obj<N>.<png|jpg>``; the number at the end of ``<stem>`` says which
frame it belongs to. Datasets disagree on what that number counts, so each scene's numbering
is read from its files instead of matching file stems (``frame_0000`` never has to equal
``00000``). The first rule under which every mask file of the scene names a frame wins:

1. ``number``: the mask number is the number in the frame's file name (any padding, any
   prefix: ``frame_0.jpg``, ``frame_00000.jpg``, ``00000.jpg`` all pair with
   ``frame_0000_obj1.png``);
2. ``position``: the 0-based position among the scene's frames (frames named by source-video
   index, masks counted 0, 1, 2, ...);
3. ``position1``: the 1-based position (masks counted from 1);
4. ``sampled``: the source-video index that the scene's ``*_frame_sampling.json`` lists for
   that position (frames counted 0, 1, 2, ..., masks named by source index).

Rules 2-4 are noted on every mask case of the scene; when another rule fits every file as
well but pairs differently, that is noted too. Mask files that fit no rule are an error for
their object, naming the files: an object never silently gets empty ground truth.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from dynbench import safefs
from dynbench.data import MAX_NUMBER_DIGITS, SKIP_MARKER, number_text

MASK_NAME = re.compile(r"^(?P<stem>.*?)_obj(?P<obj>\d+)\.(?P<ext>png|jpe?g)$", re.IGNORECASE)
TRAILING_NUMBER = re.compile(r"(\d+)$")
SAMPLING_KEYS = ("frame_indices", "sampled_frames", "indices", "frames")
MAX_SAMPLING_BYTES = 4 << 20
RULES = {
    "number": "the numbers in the frame file names",
    "position": "0-based positions among the scene's frames (not the numbers in the frame "
                "names)",
    "position1": "frame positions counted from 1",
    "sampled": "source-video frame indices listed in {sampling}",
}


@dataclass(frozen=True)
class ObjectMasks:
    """One object's mask files by frame position, and what stops or qualifies them."""

    files: dict[int, Path] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SceneMasks:
    objects: dict[str, ObjectMasks] = field(default_factory=dict)
    problems: tuple[str, ...] = ()  # scene-wide: every mask case of the scene fails with them
    notes: tuple[str, ...] = ()  # scene-wide: noted on every mask case of the scene


@dataclass
class _Found:
    """A mask file as listed: object, frame number, name, path."""

    obj: str
    number: int
    name: str
    path: Path


@lru_cache(maxsize=256)
def index_masks(root: Path, source: str, scene: str, frame_numbers: tuple[int, ...],
                frame_names: tuple[str, ...]) -> SceneMasks:
    """The scene's mask files paired with its frames (given by number and name, in order)."""
    folder = root / "masks" / source / scene
    rel = safefs.printable(f"masks/{source}/{scene}")
    if not os.path.lexists(folder):
        return SceneMasks()
    problem = safefs.kind_problem(folder, root, rel + "/", "dir")
    if problem:
        return SceneMasks(problems=(problem,))
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        return SceneMasks(problems=(f"{rel}/: cannot be listed ({exc.strerror})",))
    found, bad, scene_problems = _list(root, rel, entries)
    if scene_problems:
        return SceneMasks(problems=tuple(scene_problems))
    sampled, sampling_name, sampling_issue = read_sampling(root, source, scene)
    rule, mapping, notes = choose_rule(found, frame_numbers, frame_names, sampled, sampling_name)
    objects = {obj: _object(obj, [f for f in found if f.obj == obj], mapping, bad.get(obj, []),
                            rel, frame_numbers, sampling_issue)
               for obj in sorted({f.obj for f in found} | set(bad))}
    return SceneMasks(objects=objects, notes=tuple(notes))


def _list(root: Path, rel: str, entries: list[os.DirEntry]
          ) -> tuple[list[_Found], dict[str, list[str]], list[str]]:
    """Mask files, wrong-kind paths by object, and scene-wide problems (bad names)."""
    found: list[_Found] = []
    bad: dict[str, list[str]] = {}
    problems: list[str] = []
    for entry in sorted(entries, key=lambda e: e.name):
        m = MASK_NAME.match(entry.name)
        if not m:
            continue
        name_issue = safefs.name_problem(entry.name)
        if name_issue:
            problems.append(f"{rel}/: {name_issue}")
            continue
        obj = number_text(m["obj"])
        kind = safefs.kind_problem(Path(entry.path), root, f"{rel}/{entry.name}", "file", entry)
        number = TRAILING_NUMBER.search(m["stem"])
        if kind:
            bad.setdefault(obj, []).append(kind)
        elif not number or len(number_text(number.group(1))) > MAX_NUMBER_DIGITS:
            bad.setdefault(obj, []).append(f"{rel}/{entry.name}: cannot read a frame number "
                                           "from the name (expected e.g. frame_0003_obj1.png)")
        elif len(obj) <= MAX_NUMBER_DIGITS:
            found.append(_Found(obj, int(number_text(number.group(1))), entry.name,
                                Path(entry.path)))
    return found, bad, problems


def read_sampling(root: Path, source: str, scene: str
                  ) -> tuple[tuple[int, ...] | None, str | None, str | None]:
    """(source-video indices of the scene's frames, file name, why unusable) from
    ``<scene>_frame_sampling.json`` or ``<source>_<scene>_frame_sampling.json``."""
    for name in (f"{scene}_{SKIP_MARKER}.json", f"{source}_{scene}_{SKIP_MARKER}.json"):
        path = root / "multi_json" / source / name
        if not os.path.lexists(path):
            continue
        where = safefs.printable(f"multi_json/{source}/{name}")
        problem = safefs.kind_problem(path, root, where, "file")
        if problem:
            return None, where, problem
        try:
            payload = json.loads(safefs.read_capped(path, MAX_SAMPLING_BYTES, where)
                                 .decode("utf-8-sig"))
            values = next(payload[k] for k in SAMPLING_KEYS if k in payload)
            indices = tuple(int(v) for v in values)
        except Exception as exc:  # noqa: BLE001 - an unreadable sampling file is only a hint
            return None, where, f"{where} could not be read ({type(exc).__name__})"
        return indices, where, None
    return None, None, None


def choose_rule(found: list[_Found], frame_numbers: tuple[int, ...],
                frame_names: tuple[str, ...], sampled: tuple[int, ...] | None,
                sampling_name: str | None) -> tuple[str, dict[int, int], list[str]]:
    """The numbering rule (see module docstring), its number -> position map, and notes."""
    count = len(frame_numbers)
    candidates = {"number": {n: p for p, n in enumerate(frame_numbers)},
                  "position": {p: p for p in range(count)},
                  "position1": {p + 1: p for p in range(count)}}
    if sampled is not None and len(sampled) == count and len(set(sampled)) == count:
        candidates["sampled"] = {n: p for p, n in enumerate(sampled)}
    numbers = {f.number for f in found}
    hits = {rule: sum(n in mapping for n in numbers) for rule, mapping in candidates.items()}
    rule = max(candidates, key=lambda r: hits[r])  # first on ties: the listed order
    mapping = candidates[rule]
    notes = []
    if found and rule != "number":
        paired = [f for f in found if f.number in mapping]
        telling = [f for f in paired if frame_numbers[mapping[f.number]] != f.number]
        example = min(telling or paired or found, key=lambda f: (f.number, f.name))
        notes.append(f"mask files are numbered by {_rule_text(rule, sampling_name)}: "
                     f"{example.name} belongs to frame {frame_names[mapping[example.number]]}"
                     if example.number in mapping else
                     f"mask files are numbered by {_rule_text(rule, sampling_name)}")
    fitting = [r for r in candidates if hits[r] == len(numbers) and r != rule]
    differing = [r for r in fitting if any(candidates[r][n] != mapping[n] for n in numbers)]
    if numbers and hits[rule] == len(numbers) and differing:
        notes.append(f"mask numbering is ambiguous: read as {_rule_text(rule, sampling_name)}, "
                     f"but {_rule_text(differing[0], sampling_name)} fits every mask file too")
    return rule, mapping, notes


def _rule_text(rule: str, sampling_name: str | None) -> str:
    return RULES[rule].format(sampling=sampling_name)


def _object(obj: str, found: list[_Found], mapping: dict[int, int], bad: list[str], rel: str,
            frame_numbers: tuple[int, ...], sampling_issue: str | None) -> ObjectMasks:
    problems = list(bad)
    notes: list[str] = []
    by_number: dict[int, list[_Found]] = {}
    for f in found:
        by_number.setdefault(f.number, []).append(f)
    files: dict[int, Path] = {}
    both = []
    unmatched = []
    for number, group in sorted(by_number.items()):
        chosen, clash = _prefer_png(group)
        if clash:
            problems.append(f"{rel}/: {' and '.join(clash)} are masks of the same frame; keep "
                            "one")
            continue
        if len(group) > 1:
            both.append(chosen.name)
        if number in mapping:
            files[mapping[number]] = chosen.path
        else:
            unmatched.append(chosen.name)
    if unmatched:
        span = (f"frames are numbered {min(frame_numbers)}..{max(frame_numbers)}"
                if frame_numbers else "the scene has no frames")
        hint = f"; {sampling_issue}" if sampling_issue else ""
        problems.append(f"{rel}/: mask files of object {obj} match no frame: "
                        f"{_names(unmatched)} ({span}, and no numbering rule pairs them"
                        f"{hint}); rename or remove them")
    if both:
        notes.append(f"{len(both)} frame(s) have both a .png and a .jpg mask of object {obj} "
                     f"(e.g. {both[0]}): the .png is used")
    if any(p.suffix.lower() != ".png" for p in files.values()):
        notes.append(f"object {obj} has JPEG (lossy) mask files: read with threshold 127 "
                     "instead of > 0")
    return ObjectMasks(files=files, problems=tuple(problems), notes=tuple(notes))


def _prefer_png(group: list[_Found]) -> tuple[_Found, list[str]]:
    """The file to use among masks of one frame: a lone .png beats .jpg; two files of the
    same kind (``frame_3_obj1.png`` and ``frame_0003_obj1.png``) are a clash."""
    pngs = [f for f in group if f.name.lower().endswith(".png")]
    pool = pngs or group
    if len(pool) > 1:
        return pool[0], [f.name for f in pool]
    return pool[0], []


def _names(names: list[str], shown: int = 4) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
