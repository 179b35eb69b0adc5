"""Stand-in ``process_vision_info``: UniPixel's rules for a video given as a list of frames.

UniPixel's own copy (``unipixel/dataset/utils.py``) differs from qwen_vl_utils: every frame is
opened (path or PIL image), RGBA is flattened on white, and resized with PIL's default filter
to a size from its ``smart_resize``: sides rounded to multiples of 28, then scaled *up* to
``min_pixels`` if below it, then *down* to ``max_pixels`` if above it (the max wins); the list
is padded with its last frame to an even length, and ``fps`` (default 2.0) is returned per
video. ``LAST_CALL`` records the video entries for tests.
"""

from __future__ import annotations

import math
from typing import Any

from PIL import Image

FACTOR = 28
MAX_RATIO = 200
DEFAULT_FPS = 2.0
LAST_CALL: dict[str, Any] = {}


def smart_resize(height: int, width: int, factor: int = FACTOR, min_pixels: int = 4 * 28 * 28,
                 max_pixels: int = 16384 * 28 * 28) -> tuple[int, int]:
    if max(height, width) / min(height, width) > MAX_RATIO:
        raise ValueError(f"absolute aspect ratio must be smaller than {MAX_RATIO}")
    h = max(factor, round(height / factor) * factor)
    w = max(factor, round(width / factor) * factor)
    if h * w < min_pixels:
        scale = math.sqrt(min_pixels / (height * width))
        h = math.ceil(height * scale / factor) * factor
        w = math.ceil(width * scale / factor) * factor
    if h * w > max_pixels:
        scale = math.sqrt(height * width / max_pixels)
        h = math.floor(height / scale / factor) * factor
        w = math.floor(width / scale / factor) * factor
    return h, w


def _rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGBA":
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.split()[3])
        return flat
    return image.convert("RGB")


def _frame(item: Any, min_pixels: int, max_pixels: int) -> Image.Image:
    image = _rgb(item if isinstance(item, Image.Image) else Image.open(item))
    h, w = smart_resize(image.height, image.width, min_pixels=min_pixels, max_pixels=max_pixels)
    return image.resize((w, h))


def _frames(entry: dict[str, Any]) -> list[Image.Image]:
    frames = [_frame(item, entry.get("min_pixels", 4 * 28 * 28),
                     entry.get("max_pixels", 16384 * 28 * 28)) for item in entry["video"]]
    return frames + frames[-1:] * (len(frames) % 2)


def process_vision_info(conversations, return_video_kwargs=False, sanity_check=False):
    if isinstance(conversations[0], dict):
        conversations = [conversations]
    entries = [c for conv in conversations for m in conv for c in m["content"]
               if isinstance(c, dict) and (c.get("type") == "video" or "video" in c)]
    LAST_CALL.clear()
    LAST_CALL["videos"] = [{k: v for k, v in e.items() if k != "video"} |
                           {"items": list(e["video"])} for e in entries]
    videos = [_frames(e) for e in entries] or None
    if return_video_kwargs:
        return None, videos, {"fps": [e.get("fps", DEFAULT_FPS) for e in entries]}
    return None, videos
