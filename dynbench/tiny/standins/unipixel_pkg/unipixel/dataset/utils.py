"""Stand-in ``process_vision_info``: the subset of UniPixel's that frame lists use.

Like the real one for ``{"type": "video", "video": [paths or PIL images]}``: every frame is
opened, resized to multiples of 28 within ``min_pixels``..``max_pixels`` and the list padded
to an even length; returns ``(images, videos, {"fps": [...]})``. ``LAST_CALL`` records the
video entries for tests.
"""

from __future__ import annotations

import math
from typing import Any

from PIL import Image

FACTOR = 28
LAST_CALL: dict[str, Any] = {}


def smart_resize(height: int, width: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    h = max(FACTOR, round(height / FACTOR) * FACTOR)
    w = max(FACTOR, round(width / FACTOR) * FACTOR)
    if h * w > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h = max(FACTOR, math.floor(height / beta / FACTOR) * FACTOR)
        w = max(FACTOR, math.floor(width / beta / FACTOR) * FACTOR)
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h = math.ceil(height * beta / FACTOR) * FACTOR
        w = math.ceil(width * beta / FACTOR) * FACTOR
    return h, w


def _open(item: Any) -> Image.Image:
    image = item if isinstance(item, Image.Image) else Image.open(item)
    return image.convert("RGB")


def _frames(entry: dict[str, Any]) -> list[Image.Image]:
    frames = []
    for item in entry["video"]:
        image = _open(item)
        h, w = smart_resize(image.height, image.width, entry["min_pixels"], entry["max_pixels"])
        frames.append(image.resize((w, h)))
    return frames + frames[-1:] * (len(frames) % 2)


def process_vision_info(conversations, return_video_kwargs=False, sanity_check=False):
    entries = [c for m in conversations for c in m["content"] if c.get("type") == "video"]
    LAST_CALL.clear()
    LAST_CALL["videos"] = [{k: v for k, v in e.items() if k != "video"} |
                           {"items": list(e["video"])} for e in entries]
    videos = [_frames(e) for e in entries] or None
    if return_video_kwargs:
        return None, videos, {"fps": [2.0] * len(entries)}
    return None, videos
