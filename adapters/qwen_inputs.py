"""The official video inputs of the Qwen-VL families, the same under transformers 4.57 and 5.x.

The paper's evaluation code (``Dynamics-X/Thinking-in-Dynamics``, pinned to transformers
4.57.1 and qwen-vl-utils 0.0.14) prepares videos in two ways, reproduced here:

* Qwen2.5-VL, its fine-tunes (VST, Spatial-SSRL, SpatialLadder, SpaceR) and LLaVA-OV-1.5:
  the PIL frames go as one ``{"type": "video"}`` entry through
  ``qwen_vl_utils.process_vision_info``, which sizes every frame (0.0.14 rounds each frame to
  multiples of 56 first, then the stacked video to multiples of 28 inside a 128-768 x 28x28
  pixel budget: 640x480 becomes 616x504) and repeats the last frame to an even count. We call
  qwen-vl-utils itself, so its exact arithmetic and resampling are used.
* Qwen3-VL: the frames go to the processor with ``video_metadata`` fps 24, and the 4.57
  video processor keeps 2 frames per second (at least ``min_frames``, at most ``max_frames``
  and the frame count), evenly spaced. ``sample_positions`` is that rule, so the suite picks
  the frames itself and passes ``do_sample_frames=False``: transformers 5.x shows the same
  frames.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from PIL import Image

from dynbench.adapters import loading
from dynbench.adapters.base import LoadError

PINNED_QWEN_VL_UTILS = "0.0.14"
INSTALL_QWEN_VL_UTILS = f"pip install 'qwen-vl-utils=={PINNED_QWEN_VL_UTILS}'"
REFERENCE_FPS = 24.0  # the fps the paper's code declares for every frame list


class QwenVLUtilsMissing(LoadError, ImportError):
    """qwen-vl-utils is not installed; the message carries the install command (raised at
    load, before any case)."""


def qwen_vl_utils_version() -> str:
    """The installed qwen-vl-utils version; raises ``QwenVLUtilsMissing`` without it."""
    try:
        import qwen_vl_utils  # noqa: F401
    except ImportError as exc:
        raise QwenVLUtilsMissing(
            f"this family prepares frames with qwen-vl-utils, as the paper's code does, and it "
            f"is not installed: {INSTALL_QWEN_VL_UTILS}") from exc
    try:
        return metadata.version("qwen-vl-utils")
    except metadata.PackageNotFoundError:
        return "unknown"


def version_note() -> str | None:
    """A warning when the installed qwen-vl-utils is not the version the paper pins."""
    version = qwen_vl_utils_version()
    if version == PINNED_QWEN_VL_UTILS:
        return None
    return (f"qwen-vl-utils {version} is installed; the paper's frame sizes are those of "
            f"{PINNED_QWEN_VL_UTILS} ({INSTALL_QWEN_VL_UTILS})")


def checked_version() -> str:
    """The installed qwen-vl-utils version (the install command when missing), said once
    when it is not the pinned one. Called at load, before any weights."""
    note = version_note()
    if note:
        loading.say_once(note)
    return qwen_vl_utils_version()


def video_message(frames: list[Any], text: str | None = None) -> list[dict[str, Any]]:
    """One user turn holding the frames as a video entry, as the paper's code builds it."""
    content: list[dict[str, Any]] = [{"type": "video", "video": list(frames)}]
    if text is not None:
        content.append({"type": "text", "text": text})
    return [{"role": "user", "content": content}]


def qwen_vl_utils_video(frames: list[Image.Image]) -> Any:
    """The ``(T, 3, H, W)`` float tensor qwen-vl-utils makes of a PIL frame list (T even)."""
    if not frames:
        raise ValueError("a video needs at least one frame")
    qwen_vl_utils_version()
    from qwen_vl_utils import process_vision_info

    _, videos = process_vision_info(video_message(frames))
    return videos[0]


def frame_list_kwargs(video: Any, fps: float = 2.0) -> dict[str, Any]:
    """Processor keywords for a qwen-vl-utils video so both transformers majors time it alike.

    The paper's call passes none; transformers 4.57 then assumes 2 fps
    (``second_per_grid_ts`` 1.0). Transformers 5.x reads the timing from ``video_metadata``
    instead (24 fps when absent), so both are given.
    """
    n = len(video)
    meta = {"fps": fps, "total_num_frames": n, "frames_indices": list(range(n))}
    return {"fps": fps, "video_metadata": [meta], "do_sample_frames": False}


def sample_count(total: int, fps: float, target_fps: float, min_frames: int,
                 max_frames: int) -> int:
    """How many of ``total`` frames (at ``fps``) the Qwen3-VL processor of 4.57.1 keeps."""
    wanted = int(total / fps * target_fps)
    return min(max(wanted, min_frames), max_frames, total)


def sample_positions(total: int, count: int) -> list[int]:
    """``count`` evenly spaced positions in ``range(total)``, rounded half to even (numpy's
    ``linspace(0, total - 1, count).round()``, as transformers 4.57.1 computes them)."""
    import numpy as np

    if total < 1 or not 1 <= count <= total:
        raise ValueError(f"cannot pick {count} of {total} frames")
    return [int(i) for i in np.linspace(0, total - 1, count).round().astype(int)]


def upscale_small(frame: Image.Image, factor: int) -> Image.Image:
    """A frame whose short side is below one vision-token side, enlarged (aspect kept) until it
    is not, as transformers 5.x's Qwen3-VL resize rule does (4.57.1 refuses such frames)."""
    width, height = frame.size
    if width >= factor and height >= factor:
        return frame
    scale = max(factor / height, factor / width)
    size = (int(width * scale), int(height * scale))
    return frame.resize(size, Image.Resampling.BICUBIC)


def vision_factor(video_processor: Any) -> int:
    """Pixels per merged vision token side (patch size x merge size)."""
    return int(video_processor.patch_size) * int(video_processor.merge_size)


def frames_per_second(video_processor: Any) -> tuple[float, int, int]:
    """The processor's sampling settings: target fps, min and max frames (checkpoint config)."""
    fps = getattr(video_processor, "fps", None) or 2.0
    min_frames = getattr(video_processor, "min_frames", None) or 4
    max_frames = getattr(video_processor, "max_frames", None) or 768
    return float(fps), int(min_frames), int(max_frames)
