"""Frames and ground-truth masks on disk: listing, subsampling, decoding, caching.

A frame's *index* is the number in its file name (``frame_0007.jpg`` and ``00007.jpg`` are
both 7; a scene whose frames carry no numbers is ordered by name, index = position). Saved
predictions are keyed by it, so prediction and ground truth always refer to the same source
frame, whatever subsampling was applied. Mask files are paired with frames by index too
(:mod:`dynbench.masks`), never by file stem.
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from dynbench import safefs
from dynbench.data import MAX_NUMBER_DIGITS, DataError, number_text
from dynbench.images import decode_image, image_size, read_mask, rel
from dynbench.masks import ObjectMasks, SceneMasks, index_masks

__all__ = ["FrameCache", "FrameList", "content_hash", "decode_image", "frame_notes",
           "frame_size", "list_frames", "load_truth_masks", "object_masks", "read_mask",
           "sample_positions", "size_note", "truth_notes"]

IMAGE_EXTS = (".jpg", ".jpeg", ".png")
FRAME_NUMBER = re.compile(r"^(?P<prefix>.*?)(?P<num>\d+)$")
frame_size = image_size


@dataclass(frozen=True)
class FrameList:
    """All frames of one scene, in order, and what the run should note about them."""

    folder: Path
    paths: tuple[Path, ...]
    indices: tuple[int, ...]
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.paths)


_rel = rel


@lru_cache(maxsize=4096)
def list_frames(root: Path, source: str, scene: str) -> FrameList:
    """The scene's frames: numbered names by number, else any image by name.

    Refused with a DataError naming the paths: a folder that is missing, of the wrong kind or
    outside the dataset; frame files of the wrong kind; names that are not UTF-8; frame
    names following several patterns; two files with one index.
    """
    folder = root / "frames" / source / scene
    where = rel(folder, root)
    problem = safefs.kind_problem(folder, root, where + "/", "dir")
    if problem:
        if problem.endswith(": is missing"):
            problem = (f"{where}/: frame folder is missing; every scene in multi_json needs "
                       "its frames")
        raise DataError(problem)
    try:
        entries = [e for e in os.scandir(folder) if e.name.lower().endswith(IMAGE_EXTS)]
    except OSError as exc:
        raise DataError(f"{where}/: cannot be listed ({exc.strerror})") from None
    _refuse_bad_entries(root, where, entries)
    names = sorted(e.name for e in entries)
    if not names:
        raise DataError(f"{where}/: holds no .jpg/.png frames")
    indices, files, notes = _order(names, where)
    return FrameList(folder, tuple(folder / f for f in files), indices, notes)


def _refuse_bad_entries(root: Path, where: str, entries: list[os.DirEntry]) -> None:
    problems = [safefs.name_problem(e.name) or safefs.kind_problem(
        Path(e.path), root, f"{where}/{safefs.printable(e.name)}", "file", e) for e in entries]
    problems = [p for p in problems if p]
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise DataError("; ".join(problems[:3]) + more)


def _order(names: list[str], where: str) -> tuple[tuple[int, ...], tuple[str, ...], tuple]:
    """(indices, names, notes): by the number ending each name, or by name when none has
    one; a mix of patterns is refused, since any order we picked could be wrong."""
    parsed = [(n, FRAME_NUMBER.match(n.rsplit(".", 1)[0])) for n in names]
    patterns: dict[str, list[str]] = {}
    for name, m in parsed:
        patterns.setdefault(f"{m['prefix']}<n>" if m else "(no number)", []).append(name)
    if len(patterns) > 1:
        listing = ", ".join(f"{p} ({len(v)}, e.g. {v[0]})" for p, v in patterns.items())
        raise DataError(f"{where}/: frame names follow several patterns: {listing}; keep one "
                        "naming scheme (the frame order would be a guess)")
    if "(no number)" in patterns:
        return tuple(range(len(names))), tuple(names), (
            f"{where}/: frame names carry no number: ordered by name, index = position",)
    long = [n for n, m in parsed if len(number_text(m["num"])) > MAX_NUMBER_DIGITS]
    if long:
        raise DataError(f"{where}/{long[0]}: frame number too long to be an index")
    numbered = sorted((int(m["num"]), n) for n, m in parsed)
    _check_unique_indices(numbered, where)
    indices, files = zip(*numbered, strict=True)
    return tuple(indices), tuple(files), ()


def _check_unique_indices(numbered: list[tuple[int, str]], rel: str) -> None:
    seen: dict[int, str] = {}
    for index, name in numbered:
        if index in seen:
            raise DataError(f"{rel}/: frames {seen[index]} and {name} share index {index}; "
                            "keep one of them")
        seen[index] = name


def sample_positions(total: int, max_frames: int | None) -> list[int]:
    """Uniform subsampling that always keeps the first and last frame."""
    if not max_frames or total <= max_frames:
        return list(range(total))
    if max_frames == 1:
        return [0]
    step = (total - 1) / (max_frames - 1)
    return [round(i * step) for i in range(max_frames)]


def size_note(sizes: list[tuple[int, int]], where: str) -> str | None:
    """A note when a scene's frames differ in size: models get them as they are, and a
    predicted mask whose size differs from a frame's ground truth is resized (nearest)."""
    counts: dict[tuple[int, int], int] = {}
    for size in sizes:
        counts[size] = counts.get(size, 0) + 1
    if len(counts) < 2:
        return None
    listing = ", ".join(f"{w}x{h} ({n})" for (w, h), n in sorted(counts.items()))
    return (f"{where}/: frames differ in size: {listing}; predicted masks of another size are "
            "resized (nearest) to each frame's ground truth")


def frame_notes(root: Path, source: str, scene: str, sizes: list[tuple[int, int]]) -> list[str]:
    """Notes about a scene's frames the run and ``dynbench check`` both report."""
    frames = list_frames(root, source, scene)
    note = size_note(sizes, rel(frames.folder, root))
    return [*frames.notes, *([note] if note else [])]


class FrameCache:
    """Decoded frames shared by all cases of a scene, bounded by memory.

    Cases are collected scene by scene, so a small LRU decodes each video once.
    """

    def __init__(self, root: Path, max_bytes: int = 2 << 30) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._items: OrderedDict[Path, Image.Image] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.decoded = 0

    def get(self, path: Path) -> Image.Image:
        with self._lock:
            if path in self._items:
                self._items.move_to_end(path)
                return self._items[path]
        image = decode_image(path, self.root, "RGB")
        with self._lock:
            self.decoded += 1
            self._items[path] = image
            self._bytes += image.width * image.height * 3
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= old.width * old.height * 3
        return image


def scene_masks(root: Path, source: str, scene: str) -> SceneMasks:
    frames = list_frames(root, source, scene)
    return index_masks(root, source, scene, frames.indices, tuple(p.name for p in frames.paths))


def object_masks(root: Path, source: str, scene: str, obj: str) -> ObjectMasks:
    """The object's mask files by frame position; DataError when the object cannot have
    trustworthy ground truth (no files, files matching no frame, wrong path kinds)."""
    masks = scene_masks(root, source, scene)
    where = safefs.printable(f"masks/{source}/{scene}/")
    problems = [*masks.problems, *(masks.objects[obj].problems if obj in masks.objects else ())]
    if problems:
        raise DataError("; ".join(problems))
    found = masks.objects.get(obj)
    if found is None or not found.files:
        raise DataError(f"{where}: no mask files for object {obj} (expected "
                        f"frame_XXXX_obj{obj}.png); the referenced object has no ground truth")
    return found


def truth_notes(root: Path, source: str, scene: str, obj: str) -> list[str]:
    """Notes on how the object's ground truth was read (numbering rule, .png over .jpg)."""
    masks = scene_masks(root, source, scene)
    return [*masks.notes, *(masks.objects[obj].notes if obj in masks.objects else ())]


def load_truth_masks(root: Path, source: str, scene: str, obj: str,
                     frames: list[Path], sizes: list[tuple[int, int]]) -> list[np.ndarray]:
    """Ground-truth masks of ``obj`` at exactly the given frames (bool H x W each).

    A frame without a mask file is an empty mask only when the object has masks elsewhere
    in the scene; an object whose every mask file is blank is a data error.
    """
    listed = list_frames(root, source, scene)
    position = {p: i for i, p in enumerate(listed.paths)}
    found = object_masks(root, source, scene, obj)
    truth = [_truth_mask(root, found.files.get(position[p]), size)
             for p, size in zip(frames, sizes, strict=True)]
    if not any(t.any() for t in truth):
        _refuse_blank_object(root, found, obj, source, scene)
    return truth


def _refuse_blank_object(root: Path, found: ObjectMasks, obj: str, source: str,
                         scene: str) -> None:
    if all(not read_mask(path, root).any() for path in found.files.values()):
        raise DataError(safefs.printable(f"masks/{source}/{scene}/") + f": every mask file of "
                        f"object {obj} is blank (no pixel > 0 by the mask rule); the "
                        "referenced object has no ground truth")


def _truth_mask(root: Path, path: Path | None, size: tuple[int, int]) -> np.ndarray:
    width, height = size
    if path is None:
        return np.zeros((height, width), dtype=bool)
    mask = read_mask(path, root)
    if mask.shape != (height, width):
        raise DataError(f"{rel(path, root)}: mask is {mask.shape[1]}x{mask.shape[0]} but its "
                        f"frame is {width}x{height}; fix the mask or its frame")
    return mask


def content_hash(case, root: Path) -> str:
    """What the case's result depends on in the data: its JSON fields and the names and sizes
    of its frame and mask files. Keys the regression gate's comparability and ``--resume``."""
    import hashlib
    import json

    h = hashlib.sha256(json.dumps([case.id, case.question, [(o.letter, o.text) for o in
                                                             case.options], case.truth,
                                   case.obj, case.problem]).encode())
    if case.problem:
        return h.hexdigest()[:16]
    try:
        frames = list_frames(root, case.source, case.scene)
    except DataError as exc:
        h.update(str(exc).encode())
        return h.hexdigest()[:16]
    for path in frames.paths:
        h.update(f"{path.name}:{file_size(path)};".encode())
    if case.obj is not None:
        found = scene_masks(root, case.source, case.scene).objects.get(case.obj)
        for position, path in sorted((found.files if found else {}).items()):
            h.update(f"{position}={path.name}:{file_size(path)};".encode())
    return h.hexdigest()[:16]


def file_size(path: Path) -> int:
    """Size in bytes, -1 when it cannot be read (a fingerprint ingredient, never an error)."""
    try:
        return path.stat().st_size
    except OSError:
        return -1
