"""Tasks, frames and ground-truth mask files as the official evaluation code finds them.

The official loader walks ``multi_json/<source>/`` in sorted order, reads every ``*.json``
(skipping ``frame_sampling`` files), splits the name on its last ``_``, skips unknown
suffixes, skips a scene whose frame folder is missing or holds no listed frame, skips a file
``json.load`` cannot read, and turns every list entry (QA) or object key (mask) into a task.
This module follows those rules literally and builds one :class:`ReferenceCase` per official
task, with the case id the ``fair`` reader gives the same entry, so reports of both protocols
line up case by case. Cases the official code never scores but ``fair`` counts (a skipped
scene's) are kept with ``skip`` set: they are listed in the report, not counted.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dynbench.answers import INSTRUCTION, Option, parse_options
from dynbench.data import Case, Dataset, cases_of_file, free_id
from dynbench.media import file_size
from dynbench.tasks import TASKS

SKIP_MARKER = "frame_sampling"
FRAME_PATTERNS = ("frame_*.jpg", "frame_*.png", "*.jpg", "*.png")
NUMBERED_FRAME = re.compile(r"frame_(\d+)\.(?:jpg|png)")
FIRST_EMPTY_MASK = (480, 640)  # (H, W) of the all-zero mask before any mask was read
PARSED_MASK = re.compile(r"frame_(\d+)_obj(\d+)\.(?:png|jpe?g)", re.IGNORECASE)
OBJECT_NUMBER = re.compile(r"(\d+)$")


@dataclass(frozen=True)
class OfficialFrames:
    """A scene's frames as the official code lists them, or why it skips the scene."""

    paths: tuple[Path, ...]
    indices: tuple[int, ...]  # the number in each name; positions when names have none
    skip: str | None = None


@dataclass(frozen=True)
class ReferenceCase(Case):
    """A case as the official code sees it; ``fair`` is the same entry read by ``fair``."""

    item: Any = field(default=None, compare=False)  # the raw JSON entry (QA item / object)
    object_key: str | None = None  # mask: the raw key naming the object
    frames: tuple[Path, ...] = field(default=(), compare=False)
    frame_indices: tuple[int, ...] = field(default=(), compare=False)
    skip: str | None = None  # the official code skips this case's scene (not counted)
    fair: Case | None = field(default=None, compare=False)

    @property
    def prompt(self) -> str:
        if self.kind != "qa":
            return super().prompt
        try:
            prompt = official_prompt(self.item)
        except Exception:  # noqa: BLE001 - shown as "", the case itself reports the error
            return ""
        return prompt if isinstance(prompt, str) else ""

    @property
    def mask_suffix(self) -> str:
        """``obj`` + the key's text after its last ``_``, verbatim (``obj_03`` -> ``obj03``)."""
        return "obj" + (self.object_key or "").split("_")[-1]


# ------------------------------------------------------------------------------- QA items


def qa_fields(item: dict) -> tuple[Any, Any, Any]:
    """question, options, answer with the official defaults for absent keys."""
    return item.get("question", ""), item.get("options", []), item.get("answer", "")


def official_prompt(item: dict) -> Any:
    """The official QA prompt; raises where the official code raises (non-text options)."""
    question, options, _ = qa_fields(item)
    if options:
        return f"{question}\n" + "\n".join(options) + f"\n{INSTRUCTION}"
    return question


def _parsed_options(options: Any) -> tuple[Option, ...]:
    """For display and html only: the options read the fair way when that is possible."""
    try:
        return parse_options(options) if isinstance(options, list) else ()
    except (TypeError, ValueError, AttributeError):
        return ()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else f"{value}"


# ------------------------------------------------------------------------------- frames


def official_frames(root: Path, source: str, scene: str) -> OfficialFrames:
    """Sorted ``frame_*.jpg``, else ``frame_*.png``, else ``*.jpg``, else ``*.png``.

    ``glob`` on the joined path string, as the official code does (so it is case-sensitive,
    skips hidden files, lists directories and broken links that match, and reads glob
    characters in the path as patterns). The sort is by string: ``frame_10`` before
    ``frame_2``.
    """
    folder = root / "frames" / source / scene
    if not folder.exists():
        return OfficialFrames((), (), f"frames/{source}/{scene}/ does not exist")
    for pattern in FRAME_PATTERNS:
        found = sorted(glob.glob(str(folder / pattern)))
        if found:
            paths = tuple(Path(p) for p in found)
            return OfficialFrames(paths, frame_indices(paths))
    return OfficialFrames((), (), f"frames/{source}/{scene}/ holds no {', '.join(FRAME_PATTERNS)}")


def frame_indices(paths: tuple[Path, ...]) -> tuple[int, ...]:
    """Frame numbers from ``frame_<n>.jpg|png`` names (they name saved predictions); the
    positions when some name has no number or two share one."""
    matches = [NUMBERED_FRAME.fullmatch(p.name) for p in paths]
    numbers = [int(m[1]) for m in matches if m]
    if len(numbers) == len(paths) and len(set(numbers)) == len(numbers):
        return tuple(numbers)
    return tuple(range(len(paths)))


# ------------------------------------------------------------------------------- masks


def mask_dir(root: Path, case: Case) -> Path:
    return root / "masks" / case.source / case.scene


def exact_mask_file(folder: Path, index: int, suffix: str) -> Path | None:
    """``frame_{index:04d}_{suffix}.png``, else ``.jpg``: the first that exists."""
    for ext in ("png", "jpg"):
        path = folder / f"frame_{index:04d}_{suffix}.{ext}"
        if path.exists():
            return path
    return None


def parsed_mask_files(folder: Path) -> dict[tuple[int, int], Path]:
    """(frame number, object number) -> file, numbers read as integers (the fair rule)."""
    try:
        names = sorted(e.name for e in os.scandir(folder) if e.is_file())
    except OSError:
        return {}
    found: dict[tuple[int, int], Path] = {}
    for name in names:
        m = PARSED_MASK.fullmatch(name)
        if m:
            found.setdefault((int(m[1]), int(m[2])), folder / name)
    return found


def read_mask(path: Path) -> np.ndarray:
    """The file as 8-bit grayscale, values kept (``> 0`` is the object); raises if unreadable."""
    with Image.open(path) as im:
        return np.array(im.convert("L"))


def object_number(key: str) -> int | None:
    m = OBJECT_NUMBER.search(key.rpartition("_")[2])
    return int(m[1]) if m else None


# ------------------------------------------------------------------------------- reading


def read_dataset(root: Path) -> Dataset:
    """Every official task of the dataset as a case, in the official order."""
    dataset = Dataset(root)
    seen: set[str] = set()
    scenes: dict[tuple[str, str], OfficialFrames] = {}
    for source, path in task_files(root):
        for case in cases_of(root, source, path, scenes):
            dataset.cases.append(_unique(case, seen))
    return dataset


def task_files(root: Path) -> Iterator[tuple[str, Path]]:
    base = root / "multi_json"
    if not base.exists():
        return
    for source_dir in sorted(base.iterdir()):
        if source_dir.is_dir():
            for path in sorted(source_dir.glob("*.json")):
                if SKIP_MARKER not in path.name:
                    yield source_dir.name, path


def _file_level(case: Case) -> bool:
    return case.index is None and case.obj is None


def _fair_cases(root: Path, source: str, path: Path) -> list[Case]:
    try:
        return cases_of_file(root, source, path)
    except Exception:  # noqa: BLE001 - a directory named *.json and the like: no fair cases
        return []


def cases_of(root: Path, source: str, path: Path,
             scenes: dict[tuple[str, str], OfficialFrames]) -> list[Case]:
    """The cases of one task file under the official rules."""
    fair = _fair_cases(root, source, path)
    fair_file = [c for c in fair if _file_level(c)]
    parts = path.stem.rsplit("_", 1)
    rel = path.relative_to(root).as_posix()
    if len(parts) != 2 or parts[1] not in TASKS:
        return fair_file or [_file_case(rel, source, path.stem, "data",
                                        f"{rel}: not a task file (the official code skips it)")]
    scene, task = parts
    if (source, scene) not in scenes:
        scenes[(source, scene)] = official_frames(root, source, scene)
    frames = scenes[(source, scene)]
    base = {"task": task, "source": source, "scene": scene, "json_path": rel,
            "frames": frames.paths, "frame_indices": frames.indices}
    if frames.skip:
        per_item = [c for c in fair if not _file_level(c)]
        return [_from_fair(c, base, skip=frames.skip) for c in per_item] or fair_file
    try:
        with open(path, encoding="utf-8") as f:
            payload = json.load(f)
    except Exception as exc:  # noqa: BLE001 - the official code skips any unreadable file
        return fair_file or [_file_case(rel, source, scene, task,
                                        f"{rel}: cannot be read ({exc}); the official code "
                                        "skips it")]
    per_item = [c for c in fair if not _file_level(c)]
    if TASKS[task].kind == "qa":
        return _qa_cases(base, payload, per_item, fair_file)
    return _mask_cases(base, payload, per_item, fair_file)


def _file_case(rel: str, source: str, scene: str, task: str, problem: str) -> Case:
    return Case(id=f"{task}/{source}/{scene}/file", task=task, source=source, scene=scene,
                json_path=rel, problem=problem)


def _from_fair(case: Case, base: dict, **extra) -> ReferenceCase:
    values = {f.name: getattr(case, f.name) for f in fields(Case)}
    return ReferenceCase(**{**values, **base, **extra}, fair=case)


def _aligned(per_item: list[Case], n: int) -> list[Case | None]:
    """The fair case of each entry, by position, when fair read the entries one by one."""
    return per_item if len(per_item) == n else [None] * n


def _stops(base: dict, what: str) -> Case:
    return _file_case(base["json_path"], base["source"], base["scene"], base["task"],
                      f"{base['json_path']}: {what}; the official code stops the whole "
                      "evaluation on this file")


def _qa_cases(base: dict, payload: Any, per_item: list[Case], fair_file: list[Case]) -> list:
    if isinstance(payload, (list, str, dict)) and not payload:
        return fair_file  # no entries: the official code has no task here
    if not isinstance(payload, list):
        return [_stops(base, f"holds a {type(payload).__name__}, not a list of questions")]
    prefix = f"{base['task']}/{base['source']}/{base['scene']}/q"
    cases = []
    for i, (item, fair) in enumerate(zip(payload, _aligned(per_item, len(payload)),
                                         strict=True)):
        common = {**base, "id": fair.id if fair else f"{prefix}{i}", "index": i, "fair": fair}
        where = f"{base['json_path']} question {i}"
        if not isinstance(item, dict):
            cases.append(ReferenceCase(**common, problem=f"{where}: a {type(item).__name__} "
                                       "where an object is expected; the official code stops "
                                       "the whole evaluation here"))
            continue
        question, options, answer = qa_fields(item)
        cases.append(ReferenceCase(
            **common, question=_text(question), options=_parsed_options(options),
            truth=answer.strip().upper() if isinstance(answer, str) else None, item=item))
    return cases


def _mask_cases(base: dict, payload: Any, per_item: list[Case], fair_file: list[Case]) -> list:
    if not isinstance(payload, dict):
        return [_stops(base, f"holds a {type(payload).__name__}, not an object of objects")]
    if not payload:
        return fair_file
    prefix = f"{base['task']}/{base['source']}/{base['scene']}/obj"
    cases = []
    for (key, item), fair in zip(payload.items(), _aligned(per_item, len(payload)),
                                 strict=True):
        number = object_number(key)
        common = {**base, "id": fair.id if fair else f"{prefix}{key if number is None else number}",
                  "obj": fair.obj if fair else str(key if number is None else number),
                  "object_key": key, "fair": fair}
        if not isinstance(item, dict):
            cases.append(ReferenceCase(**common, problem=f"{base['json_path']} object {key!r}: "
                                       f"a {type(item).__name__} where an object is expected; "
                                       "the official code stops the whole evaluation here"))
            continue
        cases.append(ReferenceCase(**common, question=_text(item.get("question", "")),
                                   item=item))
    return cases


def _unique(case: Case, seen: set[str]) -> Case:
    """Ids stay unique (``~2``, ``~3``, as the fair reader names clashes); the official code
    scores both entries, fair rejects the later one, so its fair view gets that problem."""
    new_id = free_id(case.id, seen)
    if new_id == case.id:
        return case
    if not isinstance(case, ReferenceCase):
        return replace(case, id=new_id)
    fair = case.fair and replace(case.fair, id=new_id, problem=f"duplicate case id {case.id!r}")
    return replace(case, id=new_id, fair=fair)


# ------------------------------------------------------------------------------- hashing


def content_hash(case: Case, root: Path) -> str:
    """What a reference case's result depends on: its raw entry, its fair view, its frame
    files and the scene's mask files (names and sizes). Keys ``--resume``."""
    fair = case.fair if isinstance(case, ReferenceCase) else None
    h = hashlib.sha256(json.dumps(
        [case.id, case.problem, getattr(case, "item", None), getattr(case, "object_key", None),
         getattr(case, "skip", None), fair and [fair.problem, fair.truth, fair.obj,
                                                [(o.letter, o.text) for o in fair.options]]],
        sort_keys=True, default=repr).encode())
    for path in getattr(case, "frames", ()):
        h.update(f"{path.name}:{file_size(path)};".encode())
    if case.kind == "mask":
        folder = mask_dir(root, case)
        try:
            names = sorted(e.name for e in os.scandir(folder) if "_obj" in e.name)
        except OSError:
            names = []
        for name in names:
            h.update(f"{name}:{file_size(folder / name)};".encode())
    return h.hexdigest()[:16]

