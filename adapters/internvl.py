"""InternVL3 / InternVL3.5.

``InternVLHFAdapter`` serves the transformers-native ``-hf`` checkpoints
(``OpenGVLab/InternVL3-*-hf``, ``OpenGVLab/InternVL3_5-*-HF``). The remote-code ``chat``
checkpoints get their own adapter in the section at the end of this module.
"""

from __future__ import annotations

from typing import Any, ClassVar

from PIL import Image

from dynbench.adapters.base import Video
from dynbench.adapters.hf_common import HFChatAdapter


def frame_prefix(n_frames: int, image_token: str) -> str:
    """InternVL's video chat convention: ``Frame1: <image>\\nFrame2: <image>\\n...``."""
    return "".join(f"Frame{i + 1}: {image_token}\n" for i in range(n_frames))


class InternVLHFAdapter(HFChatAdapter):
    """InternVL3/3.5 in transformers' native format, following the paper's protocol.

    Each frame is one image of a single tile (``crop_to_patches=False``: resized to the
    processor's tile size, 448x448 for the real checkpoints, no dynamic tiling), and the
    question is prefixed ``Frame{i}: <image>\\n`` per frame, as InternVL's own video chat
    example does (the processor expands each placeholder to ``<img>`` + context tokens +
    ``</img>``). No system prompt is added: the ``-hf`` chat template has none. Generation:
    greedy, 128 new tokens. Answer: the decoded text.
    """

    family: ClassVar[str] = "internvl_hf"
    generation_defaults: ClassVar[dict[str, Any]] = {"max_new_tokens": 128, "do_sample": False}

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "tiles_per_frame": 1}

    def user_content(self, text: str, frames: list[Image.Image]) -> list[dict[str, Any]]:
        prefix = frame_prefix(len(frames), self.processor.image_token)
        return [{"type": "text", "text": prefix + text}]

    def visual_inputs(self, frames: list[Image.Image], video: Video) -> dict[str, Any]:
        return {"images": frames, "crop_to_patches": False}

    def received(self, inputs: Any, frames: list[Image.Image]) -> dict[str, Any]:
        pixels = inputs["pixel_values"]
        height, width = (int(x) for x in pixels.shape[-2:])
        image_id = self.model.config.image_token_id
        return {"num_frames": len(frames), "tiles": int(pixels.shape[0]),
                "frame_sizes": [(width, height)] * int(pixels.shape[0]),
                "image_tokens": int((inputs["input_ids"] == image_id).sum())}


# --- remote-code chat (InternVLChatAdapter) ---
