"""Qwen2.5-VL and Qwen3-VL families, and the Qwen2.5-VL fine-tunes VST, Spatial-SSRL,
SpatialLadder and SpaceR.

Every class shows the video as one chat ``{"type": "video"}`` entry and prepares its frames
exactly as the paper's official evaluation code (``Dynamics-X/Thinking-in-Dynamics``,
``utils/run_qa_task.py``, transformers 4.57.1 + qwen-vl-utils 0.0.14) does, in both
protocols and under both transformers majors (``adapters/qwen_inputs.py``); frames come from
``Video.frames`` (every frame under ``--protocol reference``, at most ``--max-frames``
otherwise), nothing is re-read from disk. Generation: ``generation_defaults`` are the official
settings; ``--protocol fair`` decodes greedily with them, ``--protocol reference`` leaves every
other setting to the checkpoint's ``generation_config`` (``hf_common.generation_settings``).
``generation`` in the model config overrides both.
"""

from __future__ import annotations

from typing import Any, ClassVar

from PIL import Image

from dynbench.adapters import qwen_inputs as qi
from dynbench.adapters.base import Video
from dynbench.adapters.hf_common import (
    HFChatAdapter,
    accepts_kwarg,
    after_last_think,
    boxed_or_after_think,
    reference_after_last_think,
    reference_boxed_or_after_think,
)


def _first_float(value: Any) -> float | None:
    """First entry of a per-video list or tensor (Qwen2.5-VL's ``second_per_grid_ts``)."""
    return None if value is None else float(value[0])


class _QwenVideoAdapter(HFChatAdapter):
    """Shared Qwen-VL video path: what the model received is read back from ``video_grid_thw``."""

    def received(self, inputs: Any, frames: Any) -> dict[str, Any]:
        t, h, w = (int(x) for x in inputs["video_grid_thw"][0])
        vp = self.processor.video_processor
        video_id = self.model.config.video_token_id
        return {"num_frames": len(frames), "grid_thw": (t, h, w),
                "frames_encoded": t * vp.temporal_patch_size,
                "frame_sizes": [(w * vp.patch_size, h * vp.patch_size)] * len(frames),
                "video_tokens": int((inputs["input_ids"] == video_id).sum()),
                "second_per_grid_ts": _first_float(inputs.get("second_per_grid_ts"))}

    def _no_transformers_cap(self) -> dict[str, Any]:
        """Opt out of transformers >= 5.2x's own per-frame cap: 4.57.1 has none."""
        vp = self.processor.video_processor
        return {"cap_pixels_per_frame": False} if accepts_kwarg(vp, "cap_pixels_per_frame") else {}


class Qwen25VLAdapter(_QwenVideoAdapter):
    """Qwen2.5-VL (``Qwen/Qwen2.5-VL-{3,7,32,72}B-Instruct``).

    Frames: the PIL frames through ``qwen_vl_utils.process_vision_info`` (0.0.14: each frame
    rounded to multiples of 56, then the video to multiples of 28 within 128-768 x 28x28
    pixels, the last frame repeated to an even count; 640x480 -> 616x504), then the
    checkpoint's processor, called as the official code calls it. A frame list has no timing;
    transformers 4.57.1 times it at 2 fps (``second_per_grid_ts`` 1.0), which the suite also
    declares to transformers 5.x. Generation: 512 new tokens (official). System prompt: the
    chat template's default ("You are a helpful assistant.").
    """

    family: ClassVar[str] = "qwen2_5_vl"
    generation_defaults: ClassVar[dict[str, Any]] = {"max_new_tokens": 512}
    frame_list_fps: ClassVar[float] = 2.0

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "frames": "qwen_vl_utils.process_vision_info (frame list)",
                "frame_list_fps": self.frame_list_fps}

    def attach(self, model: Any, processor: Any) -> None:
        self.facts["qwen_vl_utils"] = qi.checked_version()
        super().attach(model, processor)

    def prepare_frames(self, video: Video) -> Any:
        """The ``(T, 3, H, W)`` video qwen-vl-utils makes of the frames (T even)."""
        return qi.qwen_vl_utils_video(video.frames)

    def visual_inputs(self, frames: Any, video: Video) -> dict[str, Any]:
        return {"videos": [frames], **qi.frame_list_kwargs(frames, self.frame_list_fps),
                **self._no_transformers_cap()}


class SpatialLadderAdapter(Qwen25VLAdapter):
    """SpatialLadder (``hongxingli/SpatialLadder-3B``), a Qwen2.5-VL-3B fine-tune.

    The official code runs it exactly as Qwen2.5-VL (qwen-vl-utils frames, the processor's
    defaults, 512 new tokens, no system prompt of its own).
    """

    family: ClassVar[str] = "spatial_ladder"


class SpaceRAdapter(Qwen25VLAdapter):
    """SpaceR / SpaceR-SFT (``RUBBISHLIKE/SpaceR*``), Qwen2.5-VL-7B fine-tunes: run exactly as
    Qwen2.5-VL by the official code."""

    family: ClassVar[str] = "spacer"


VST_THINK_SYSTEM_PROMPT = (
    "You are a helpful assistant. You should first think about the reasoning process in the "
    "mind and then provide the user with the answer. The reasoning process is enclosed within "
    "<think> </think> tags, i.e. <think> reasoning process here </think> answer here."
)
# what the official code passes to AutoProcessor.from_pretrained for VST
VST_PROCESSOR_ARGS = {"min_pixels": 256 * 28 * 28, "max_pixels": 1280 * 28 * 28}


class VSTAdapter(Qwen25VLAdapter):
    """VST-7B-RL (``rayruiyang/VST-7B-RL``), Qwen2.5-VL with a think-style system prompt.

    The official code uses ``THINK_SYSTEM_PROMPT`` (verbatim as the system turn), 512 new
    tokens, and the text after the last ``</think>``. It also loads the processor with
    ``min_pixels=256*28*28, max_pixels=1280*28*28``, but under its pin (transformers 4.57.1)
    those arguments only set attributes the video resize never reads: the video keeps the
    checkpoint's pixel range, so frames are exactly qwen-vl-utils' (measured with the pinned
    processor; tests/test_qwen_inputs.py). Transformers 5.x *would* apply them (160x120 frames
    become 532x392 instead of 392x280), so the suite does not pass them: the processor reads
    the checkpoint's own settings, as 4.57.1 effectively did, under both majors.
    """

    family: ClassVar[str] = "vst"
    system_prompt: ClassVar[str | None] = VST_THINK_SYSTEM_PROMPT
    postprocess = staticmethod(after_last_think)
    reference_postprocess = staticmethod(reference_after_last_think)

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "official_processor_args": dict(VST_PROCESSOR_ARGS),
                "official_processor_args_applied": False}


SSRL_FORMAT_PROMPT = (
    "\n You FIRST think about the reasoning process as an internal monologue and then provide "
    "the final answer. The reasoning process MUST BE enclosed within <think> </think> tags. "
    "The final answer MUST BE put in \\boxed{}."
)


class SpatialSSRLAdapter(Qwen25VLAdapter):
    """Spatial-SSRL-7B (``internlm/Spatial-SSRL-7B``), Qwen2.5-VL trained with a reasoning format.

    The official code appends ``format_prompt`` (verbatim, our prompt suffix) to the question
    and generates with ``max_new_tokens=4096, do_sample=False``. Frames as Qwen2.5-VL. Answer:
    under ``fair`` the first ``\\boxed{...}`` (nested braces allowed), else the text after the
    last ``</think>``; under ``reference`` the official regex (the first ``\\boxed{`` up to the
    first ``}``, non-empty), else the text after the last ``</think>``.
    """

    family: ClassVar[str] = "spatial_ssrl"
    prompt_suffix: ClassVar[str] = SSRL_FORMAT_PROMPT
    generation_defaults: ClassVar[dict[str, Any]] = {"max_new_tokens": 4096, "do_sample": False}
    postprocess = staticmethod(boxed_or_after_think)
    reference_postprocess = staticmethod(reference_boxed_or_after_think)


class Qwen3VLAdapter(_QwenVideoAdapter):
    """Qwen3-VL dense and MoE (``Qwen/Qwen3-VL-*-Instruct``, ``Qwen3-VL-235B-A22B``).

    Frames: as the official code under transformers 4.57.1, which hands the processor every
    frame with ``video_metadata`` fps 24 and lets it keep 2 frames per second (the checkpoint's
    ``fps``, at least ``min_frames`` 4, at most ``max_frames``): 12 frames -> 4, 96 -> 8,
    evenly spaced (``qwen_inputs.sample_positions``). The suite picks those frames itself and
    passes ``do_sample_frames=False`` with their source indices, so both transformers majors
    see the same frames, sizes (the checkpoint processor's own pixel budget) and ``<t
    seconds>`` stamps. Under ``reference`` the frames are the listed ones by position, as the
    official code sees them; under ``fair`` by their source numbers (the same for frames
    numbered 0, 1, 2...), so with ``--max-frames K`` the count comes from the source length,
    capped at K and spaced evenly over the K frames given, stamped at their source times.
    Deviations, each where 4.57.1 itself fails: a one-frame video is shown twice (the
    processor needs a frame pair), and a frame whose short side is under 32 px is first
    enlarged to 32 px as transformers 5.x does. Generation: 512 new tokens. No system prompt
    (as the chat template).
    """

    family: ClassVar[str] = "qwen3_vl"
    generation_defaults: ClassVar[dict[str, Any]] = {"max_new_tokens": 512}

    def settings(self) -> dict[str, Any]:
        return {**super().settings(),
                "frames": "2 fps of a 24 fps frame list (transformers 4.57.1 rule), chosen by "
                          "the suite; do_sample_frames=False"}

    def timeline(self, video: Video) -> tuple[int, list[int]]:
        """(frames in the source clip, each given frame's index in it) for the 24-fps rule.

        ``reference``: the official code's view, the listed frames by position. ``fair``: the
        frames' source numbers counted from the first, so a ``--max-frames`` subsample keeps
        the source's length and times (the same as positions for frames numbered 0, 1, ...).
        """
        numbers = list(video.frame_indices)
        increasing = len(numbers) == len(video) and all(
            a < b for a, b in zip(numbers, numbers[1:], strict=False))
        if self.protocol == "reference" or not increasing:
            return len(video), list(range(len(video)))
        return numbers[-1] - numbers[0] + 1, [n - numbers[0] for n in numbers]

    def shown_positions(self, video: Video) -> list[int]:
        """Positions in ``video.frames`` the official 2-fps rule keeps."""
        source_total, _ = self.timeline(video)
        fps, min_frames, max_frames = qi.frames_per_second(self.processor.video_processor)
        count = qi.sample_count(source_total, video.fps, fps, min_frames, max_frames)
        return qi.sample_positions(len(video), min(count, len(video)))

    def prepare_frames(self, video: Video) -> list[Image.Image]:
        if not video.frames:
            raise ValueError("a video needs at least one frame")
        factor = qi.vision_factor(self.processor.video_processor)
        frames = [qi.upscale_small(video.frames[p], factor) for p in self.shown_positions(video)]
        return frames * 2 if len(frames) == 1 else frames

    def visual_inputs(self, frames: list[Image.Image], video: Video) -> dict[str, Any]:
        source_total, times = self.timeline(video)
        indices = [times[p] for p in self.shown_positions(video)]
        indices += [indices[-1]] * (len(frames) - len(indices))  # the repeated single frame
        meta = {"fps": float(video.fps), "frames_indices": indices,
                "total_num_frames": source_total}
        return {"videos": [frames], "video_metadata": [meta], "do_sample_frames": False,
                **self._no_transformers_cap()}
