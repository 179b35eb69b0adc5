"""Qwen2.5-VL and Qwen3-VL families, and the Qwen2.5-VL fine-tunes VST, Spatial-SSRL,
SpatialLadder and SpaceR.

Every class shows the video as one chat ``{"type": "video"}`` entry holding the frames of
``Video.frames`` (already limited by ``--max-frames`` upstream; nothing is re-read from
disk) and differs from its parent only by declarative settings. Defaults follow the paper's
official evaluation code (``Dynamics-X/Thinking-in-Dynamics``) and the model cards cited on
each class; ``generation`` in the model config overrides any generation setting.
"""

from __future__ import annotations

from typing import Any, ClassVar

from PIL import Image

from dynbench.adapters.base import Video
from dynbench.adapters.hf_common import (
    HFChatAdapter,
    accepts_kwarg,
    after_last_think,
    boxed_or_after_think,
    pad_to_multiple,
)

PX = 28 * 28  # one merged Qwen2.5-VL vision token covers 28x28 pixels
# qwen-vl-utils' whole-video pixel budget (MODEL_SEQ_LEN 128000 tokens, 90% for the video)
QWEN_VL_UTILS_TOTAL_PIXELS = int(128000 * PX * 0.9)


def _first_float(value: Any) -> float | None:
    """First entry of a per-video list or tensor (Qwen2.5-VL's ``second_per_grid_ts``)."""
    return None if value is None else float(value[0])


class _QwenVideoAdapter(HFChatAdapter):
    """Shared Qwen-VL video path: even frame count, frames read back from ``video_grid_thw``.

    Qwen-VL encodes frames in temporal pairs (``temporal_patch_size`` 2), so an odd count
    gets its last frame repeated once; that is qwen-vl-utils' rule for frame lists and
    exactly what the processor would pad internally, made visible in ``last_call``.
    """

    frame_multiple: ClassVar[int] = 2

    def prepare_frames(self, video: Video) -> list[Image.Image]:
        return pad_to_multiple(list(video.frames), self.frame_multiple)

    def received(self, inputs: Any, frames: list[Image.Image]) -> dict[str, Any]:
        t, h, w = (int(x) for x in inputs["video_grid_thw"][0])
        vp = self.processor.video_processor
        video_id = self.model.config.video_token_id
        return {"num_frames": len(frames), "grid_thw": (t, h, w),
                "frames_encoded": t * vp.temporal_patch_size,
                "frame_sizes": [(w * vp.patch_size, h * vp.patch_size)] * len(frames),
                "video_tokens": int((inputs["input_ids"] == video_id).sum()),
                "second_per_grid_ts": _first_float(inputs.get("second_per_grid_ts"))}

    def _no_transformers_cap(self) -> dict[str, Any]:
        """Opt out of transformers >= 5.2x's own per-frame cap (we apply qwen-vl-utils')."""
        vp = self.processor.video_processor
        return {"cap_pixels_per_frame": False} if accepts_kwarg(vp, "cap_pixels_per_frame") else {}


class Qwen25VLAdapter(_QwenVideoAdapter):
    """Qwen2.5-VL (``Qwen/Qwen2.5-VL-{3,7,32,72}B-Instruct``).

    Frames: a qwen-vl-utils-style frame list; even count; each frame resized (aspect kept,
    sides multiples of 28) into ``min_pixels``-``max_pixels`` = 128-768 x 28x28 px, the
    per-frame ceiling lowered for very long videos exactly as qwen-vl-utils 0.0.14's
    ``fetch_video`` does (``total_pixels / n * 2``). The resize itself is the processor's
    (``size`` shortest/longest edge), so qwen-vl-utils is not needed. A frame list has no
    real timing; like qwen-vl-utils we declare it sampled at 2 fps (``second_per_grid_ts``
    1.0). Generation: greedy, 512 new tokens. System prompt: the chat template's default
    ("You are a helpful assistant.").
    """

    family: ClassVar[str] = "qwen2_5_vl"
    min_pixels: ClassVar[int] = 128 * PX
    max_pixels: ClassVar[int] = 768 * PX
    total_pixels: ClassVar[int] = QWEN_VL_UTILS_TOTAL_PIXELS
    frame_list_fps: ClassVar[float] = 2.0

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "min_pixels": self.min_pixels,
                "max_pixels": self.max_pixels, "frame_list_fps": self.frame_list_fps}

    def frame_max_pixels(self, n_frames: int) -> int:
        """Per-frame pixel ceiling for a video of ``n_frames`` (qwen-vl-utils' formula)."""
        share = self.total_pixels / n_frames * self.frame_multiple
        return int(max(min(self.max_pixels, share), self.min_pixels * 1.05))

    def visual_inputs(self, frames: list[Image.Image], video: Video) -> dict[str, Any]:
        n = len(frames)
        size = {"shortest_edge": self.min_pixels, "longest_edge": self.frame_max_pixels(n)}
        # transformers 5 derives second_per_grid_ts from the metadata fps (``fps`` alone is
        # ignored there, and 24 fps assumed); transformers 4.57 reads ``fps``. Give both.
        meta = {"fps": self.frame_list_fps, "total_num_frames": n,
                "frames_indices": list(range(n))}
        return {"videos": [frames], "size": size, "do_sample_frames": False,
                "video_metadata": [meta], "fps": self.frame_list_fps,
                **self._no_transformers_cap()}


class SpatialLadderAdapter(Qwen25VLAdapter):
    """SpatialLadder (``hongxingli/SpatialLadder-3B``), a Qwen2.5-VL-3B fine-tune.

    Its model card (huggingface.co/hongxingli/SpatialLadder-3B, "Usage") runs the stock
    Qwen2.5-VL recipe (qwen-vl-utils + chat template, no extra system prompt), so the
    Qwen2.5-VL settings apply unchanged: 128-768 x 28x28 px, even frames, 512 tokens.
    """

    family: ClassVar[str] = "spatial_ladder"


class SpaceRAdapter(Qwen25VLAdapter):
    """SpaceR / SpaceR-SFT (``RUBBISHLIKE/SpaceR*``), Qwen2.5-VL-7B fine-tunes.

    The model card (huggingface.co/RUBBISHLIKE/SpaceR) gives no prompt format beyond its
    SpaceR-Eval pointer, so the paper's Qwen2.5-VL settings apply unchanged.
    """

    family: ClassVar[str] = "spacer"


VST_THINK_SYSTEM_PROMPT = (
    "You are a helpful assistant. You should first think about the reasoning process in the "
    "mind and then provide the user with the answer. The reasoning process is enclosed within "
    "<think> </think> tags, i.e. <think> reasoning process here </think> answer here."
)


class VSTAdapter(Qwen25VLAdapter):
    """VST-7B-RL (``rayruiyang/VST-7B-RL``), Qwen2.5-VL with a think-style system prompt.

    Source: the VST README (github.com/Yangr116/VST, "Using Transformers to Chat"), which
    defines ``THINK_SYSTEM_PROMPT`` (used verbatim as the system turn) and loads the
    processor with ``min_pixels=256*28*28, max_pixels=1280*28*28``. Generation: greedy,
    512 new tokens (the paper's setting; the README example uses 1280). Answer: the text
    after the last ``</think>`` (whole text when the model did not think).
    """

    family: ClassVar[str] = "vst"
    system_prompt: ClassVar[str | None] = VST_THINK_SYSTEM_PROMPT
    min_pixels: ClassVar[int] = 256 * PX
    max_pixels: ClassVar[int] = 1280 * PX
    postprocess = staticmethod(after_last_think)


SSRL_FORMAT_PROMPT = (
    "\n You FIRST think about the reasoning process as an internal monologue and then provide "
    "the final answer. The reasoning process MUST BE enclosed within <think> </think> tags. "
    "The final answer MUST BE put in \\boxed{}."
)


class SpatialSSRLAdapter(Qwen25VLAdapter):
    """Spatial-SSRL-7B (``internlm/Spatial-SSRL-7B``), Qwen2.5-VL trained with a reasoning format.

    Source: ``demo.py`` of github.com/InternLM/Spatial-SSRL (linked from the model card),
    which appends ``format_prompt`` (used verbatim as our prompt suffix) to the question and
    generates with ``max_new_tokens=4096, do_sample=False``. Frames as Qwen2.5-VL. Answer:
    the first ``\\boxed{...}``, else the text after the last ``</think>``.
    """

    family: ClassVar[str] = "spatial_ssrl"
    prompt_suffix: ClassVar[str] = SSRL_FORMAT_PROMPT
    generation_defaults: ClassVar[dict[str, Any]] = {"max_new_tokens": 4096, "do_sample": False}
    postprocess = staticmethod(boxed_or_after_think)


class Qwen3VLAdapter(_QwenVideoAdapter):
    """Qwen3-VL dense and MoE (``Qwen/Qwen3-VL-*-Instruct``, ``Qwen3-VL-235B-A22B``).

    Frames: the PIL frames with ``video_metadata`` (fps = ``Video.fps``, 24 by default as in
    the paper; ``frames_indices`` = the source frame indices) so the ``<t seconds>`` stamps
    Qwen3-VL puts before each frame pair are the true source times. ``do_sample_frames`` is
    False: the frames we show are exactly the frames the model sees. This deviates from the
    paper's code, where transformers resampled the 24 fps list to 2 fps (>= 4 frames);
    subsample upstream with ``--max-frames`` instead. Pixels: the checkpoint processor's own
    budget. Generation: greedy, 512 new tokens. No system prompt (as the chat template).
    """

    family: ClassVar[str] = "qwen3_vl"

    def visual_inputs(self, frames: list[Image.Image], video: Video) -> dict[str, Any]:
        indices = list(video.frame_indices) or list(range(len(video.frames)))
        indices += [indices[-1]] * (len(frames) - len(indices))  # the repeated last frame
        meta = {"fps": float(video.fps), "frames_indices": indices,
                "total_num_frames": max(indices) + 1}
        return {"videos": [frames], "video_metadata": [meta], "do_sample_frames": False,
                **self._no_transformers_cap()}
