"""Small images for the HTML report: prediction strips and frame-strip thumbnails.

The runner calls :func:`save_strip` once per mask case (``RunSettings.thumbs`` set), so the
report can show predictions even when ``--save-masks`` was not given: ``thumbs/<case id>.png``
is one grey PNG with at most ``MAX_FRAMES`` downscaled masks side by side, their source frame
indices stored in a PNG text chunk. :func:`case_strip` builds, for the report, one row per
shown frame: image | ground truth | prediction | overlay, each at most ``THUMB_WIDTH`` px wide.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from dynbench import runfolder
from dynbench.data import DataError
from dynbench.images import open_image, read_mask
from dynbench.media import list_frames, load_truth_masks, sample_positions

THUMB_WIDTH = 96
MAX_FRAMES = 8  # frames in a saved prediction strip
SHOW_FRAMES = 4  # frames shown per case in the report
FRAMES_KEY = "dynbench-frames"
T = TypeVar("T")


def pick(items: Sequence[T], k: int) -> list[T]:
    """At most k items, uniformly spaced, first and last kept (as frame subsampling does)."""
    return [items[i] for i in sample_positions(len(items), k)]


def thumb_size(width: int, height: int, max_width: int = THUMB_WIDTH) -> tuple[int, int]:
    if width <= max_width:
        return width, height
    return max_width, max(1, round(height * max_width / width))


def downscale_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 0..255 coverage at ``size`` (W, H): strided first (cheap), then box-filtered."""
    h, w = mask.shape
    step = max(1, min(h // size[1], w // size[0]) // 2)
    small = np.ascontiguousarray(mask[::step, ::step]).astype(np.uint8) * 255
    return np.asarray(Image.fromarray(small).resize(size, Image.Resampling.BOX))


def save_strip(folder: Path, case_id: str, indices: Sequence[int],
               masks: np.ndarray) -> Path | None:
    """Write ``thumbs/<case id>.png``; best effort: a thumbnail never fails a case."""
    try:
        chosen = sample_positions(len(indices), MAX_FRAMES)
        size = thumb_size(masks.shape[2], masks.shape[1])
        strip = np.concatenate([downscale_mask(masks[i], size) for i in chosen], axis=1)
        info = PngInfo()
        info.add_text(FRAMES_KEY, ",".join(str(indices[i]) for i in chosen))
        out = runfolder.thumb_file(folder, case_id)
        out.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(strip).save(out, pnginfo=info, optimize=False)
        return out
    except (OSError, ValueError, IndexError):
        return None


def read_strip(path: Path) -> dict[int, np.ndarray]:
    """frame index -> downscaled predicted mask (uint8), from a saved strip; {} if unusable."""
    try:
        with Image.open(path) as im:
            frames = [int(x) for x in im.text.get(FRAMES_KEY, "").split(",") if x]
            strip = np.asarray(im.convert("L"))
    except (OSError, ValueError):
        return {}
    if not frames or strip.shape[1] % len(frames):
        return {}
    return dict(zip(frames, np.split(strip, len(frames), axis=1), strict=True))


def data_uri(image: Image.Image, fmt: str = "PNG") -> str:
    buf = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(buf, "JPEG", quality=72)
    else:
        image.save(buf, "PNG")
    return f"data:image/{fmt.lower()};base64,{base64.b64encode(buf.getvalue()).decode()}"


@lru_cache(maxsize=256)
def frame_thumb(path: Path, root: Path | None = None) -> tuple[Image.Image, tuple[int, int]]:
    """A frame downscaled to thumbnail size (JPEG draft mode decodes it small) + full size.
    Opened with the dataset's guards: the pixel limit applies (paths come from
    :func:`list_frames`, which refuses symlinks leaving the dataset)."""
    with open_image(path, root or path.parent) as im:
        full = im.size
        size = thumb_size(*full)
        im.draft("RGB", (size[0] * 2, size[1] * 2))
        return im.convert("RGB").resize(size, Image.Resampling.BILINEAR), full


def overlay(image: Image.Image, truth: np.ndarray, pred: np.ndarray | None) -> Image.Image:
    """Ground truth tinted green, prediction red (overlap yellow)."""
    rgb = np.asarray(image, dtype=np.float32).copy()
    tint = np.zeros_like(rgb)
    tint[..., 1] = truth > 127
    if pred is not None:
        tint[..., 0] = pred > 127
    hit = tint.any(axis=-1)
    rgb[hit] = 0.45 * rgb[hit] + 0.55 * 255 * tint[hit]
    return Image.fromarray(rgb.astype(np.uint8))


def _mask_image(mask: np.ndarray) -> Image.Image:
    return Image.fromarray(mask).convert("1")


def _prediction(folder: Path, case_id: str, index: int, size: tuple[int, int],
                strip: dict[int, np.ndarray]) -> np.ndarray | None:
    """Predicted mask at thumbnail size: saved masks/ first, else the thumbs/ strip."""
    path = runfolder.mask_file(folder, case_id, index)
    if path.is_file() and not path.is_symlink():
        return downscale_mask(read_mask(path, folder), size)
    cell = strip.get(index)
    if cell is None:
        return None
    if cell.shape != (size[1], size[0]):
        cell = np.asarray(Image.fromarray(cell).resize(size, Image.Resampling.BILINEAR))
    return cell


def case_strip(folder: Path, root: Path, record: dict) -> list[dict[str, Any]]:
    """Rows (frame, image, truth, prediction, overlay data URIs) for a mask case's shown
    frames, at most ``SHOW_FRAMES``; raises DataError/OSError when the data is unreadable."""
    case_id = record["id"]
    obj = case_id.rsplit("/obj", 1)[-1]
    strip = read_strip(runfolder.thumb_file(folder, case_id))
    shown = sorted(strip) if strip else list(record.get("frames") or [])
    frames = list_frames(root, record["source"], record["scene"])
    where = dict(zip(frames.indices, frames.paths, strict=True))
    chosen = [i for i in pick(shown, SHOW_FRAMES) if i in where]
    thumbs = [frame_thumb(where[i], root) for i in chosen]
    truths = load_truth_masks(root, record["source"], record["scene"], str(int(obj)),
                              [where[i] for i in chosen], [full for _, full in thumbs])
    rows = []
    for index, (image, _), truth in zip(chosen, thumbs, truths, strict=True):
        small = downscale_mask(truth, image.size)
        pred = _prediction(folder, case_id, index, image.size, strip)
        rows.append({"frame": index, "image": data_uri(image, "JPEG"),
                     "truth": data_uri(_mask_image(small)),
                     "pred": None if pred is None else data_uri(_mask_image(pred)),
                     "overlay": data_uri(overlay(image, small, pred), "JPEG")})
    return rows


def safe_case_strip(folder: Path, root: Path, record: dict) -> list[dict] | str:
    """:func:`case_strip`, or the reason it could not be built (the report goes on)."""
    try:
        return case_strip(folder, root, record)
    except (DataError, OSError, ValueError, KeyError) as exc:
        return f"frames unavailable: {exc}"
