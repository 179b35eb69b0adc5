"""Frames and ground-truth masks on disk: listing, subsampling, decoding, caching.

A frame's *index* is the number in its file name (``frame_0007.jpg`` -> 7); mask files and
saved predictions are keyed by it, so prediction and ground truth always refer to the same
source frame, whatever subsampling was applied.
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
from PIL import Image, UnidentifiedImageError

from dynbench.data import DataError

IMAGE_EXTS = (".jpg", ".jpeg", ".png")
FRAME_NAME = re.compile(r"^frame_(\d+)\.(?:jpe?g|png)$", re.IGNORECASE)
MASK_NAME = re.compile(r"^(?P<stem>.+)_obj(?P<obj>\d+)\.(?:png|jpe?g)$", re.IGNORECASE)


@dataclass(frozen=True)
class FrameList:
    """All frames of one scene, in order."""

    folder: Path
    paths: tuple[Path, ...]
    indices: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.paths)


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


@lru_cache(maxsize=4096)
def list_frames(root: Path, source: str, scene: str) -> FrameList:
    """The scene's frames: ``frame_<n>`` files by number, else any image by name."""
    folder = root / "frames" / source / scene
    rel = _rel(folder, root)
    try:
        names = sorted(e.name for e in os.scandir(folder) if e.is_file())
    except FileNotFoundError:
        raise DataError(f"{rel}/: frame folder is missing; every scene in multi_json needs "
                        "its frames") from None
    numbered = [(int(m.group(1)), n) for n in names if (m := FRAME_NAME.match(n))]
    if numbered:
        _check_unique_indices(numbered, rel)
        numbered.sort()
        indices, files = zip(*numbered, strict=True)
    else:
        files = tuple(n for n in names if n.lower().endswith(IMAGE_EXTS))
        indices = tuple(range(len(files)))
    if not files:
        raise DataError(f"{rel}/: holds no .jpg/.png frames")
    return FrameList(folder, tuple(folder / f for f in files), tuple(indices))


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


def decode_image(path: Path, root: Path, mode: str) -> Image.Image:
    try:
        with Image.open(path) as im:
            return im.convert(mode)
    except FileNotFoundError:
        raise DataError(f"{_rel(path, root)}: file is missing") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"{_rel(path, root)}: cannot decode image ({exc}); replace the "
                        "file") from None


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


@lru_cache(maxsize=256)
def mask_files(root: Path, source: str, scene: str) -> dict[tuple[str, str], Path]:
    """(frame stem, object number) -> mask file, for one scene; read once per scene."""
    folder = root / "masks" / source / scene
    try:
        names = sorted(e.name for e in os.scandir(folder) if e.is_file())
    except FileNotFoundError:
        return {}
    found: dict[tuple[str, str], Path] = {}
    for name in names:
        m = MASK_NAME.match(name)
        if m:
            found.setdefault((m["stem"], str(int(m["obj"]))), folder / name)
    return found


def load_truth_masks(root: Path, source: str, scene: str, obj: str,
                     frames: list[Path], sizes: list[tuple[int, int]]) -> list[np.ndarray]:
    """Ground-truth masks of ``obj`` at exactly the given frames (bool H x W each).

    A frame without a mask file is an empty mask only when the object has masks elsewhere
    in the scene; an object with no mask file at all is a data error.
    """
    files = mask_files(root, source, scene)
    if not any(o == obj for _, o in files):
        raise DataError(f"masks/{source}/{scene}/: no mask files for object {obj} "
                        f"(expected frame_XXXX_obj{obj}.png); the referenced object has no "
                        "ground truth")
    return [_truth_mask(root, files.get((p.stem, obj)), size) for p, size in zip(frames, sizes,
                                                                                  strict=True)]


def _truth_mask(root: Path, path: Path | None, size: tuple[int, int]) -> np.ndarray:
    width, height = size
    if path is None:
        return np.zeros((height, width), dtype=bool)
    mask = np.asarray(decode_image(path, root, "L")) > 0
    if mask.shape != (height, width):
        raise DataError(f"{_rel(path, root)}: mask is {mask.shape[1]}x{mask.shape[0]} but its "
                        f"frame is {width}x{height}; fix the mask or its frame")
    return mask


def frame_size(path: Path, root: Path) -> tuple[int, int]:
    """Image size without decoding pixels."""
    try:
        with Image.open(path) as im:
            return im.size
    except FileNotFoundError:
        raise DataError(f"{_rel(path, root)}: file is missing") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"{_rel(path, root)}: cannot decode image ({exc})") from None


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
        h.update(f"{path.name}:{_size(path)};".encode())
    if case.obj is not None:
        for (_stem, obj), path in sorted(mask_files(root, case.source, case.scene).items()):
            if obj == case.obj:
                h.update(f"{path.name}:{_size(path)};".encode())
    return h.hexdigest()[:16]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1
