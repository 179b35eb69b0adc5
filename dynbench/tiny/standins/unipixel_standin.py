"""UniPixel stand-in model: NOT the real UniPixel, only the traits its inference path has.

Mirrors ``PixelQwen2_5_VLForConditionalGeneration`` of ``PolyU-ChenLab/UniPixel``
(``unipixel/model/qwen2_5_vl.py``):

* it *is* transformers' ``Qwen2_5_VLForConditionalGeneration`` (a tiny one) with a SAM2
  head ``model.sam2`` whose ``dtype`` the frames are cast to; ``post_init()`` is called, no
  dtype or device is hard-coded;
* ``forward`` takes the real keyword list (``frames``, ``frame_size``, ``point_*``,
  ``refer_mask``...; no ``**kwargs``, no ``mm_token_type_ids``) and resets ``model.seg`` only
  when the cache it gets is empty (never under transformers 4.57, whose generation cache
  starts with one entry per layer: callers empty ``model.seg`` themselves); whenever the
  step's most likely next token is ``<|seg|>`` it appends one bool mask ``(1, T, H, W)`` at
  ``frame_size`` (on the CPU) to ``model.seg``;
* ``prepare_inputs_for_generation`` passes ``frames`` and ``frame_size`` to every step.

Here a per-pixel 1x1 convolution on the SAM2-normalised frames stands in for SAM2. The stand-in
package (``unipixel_pkg``) registers these classes with transformers' Auto API the way the
real package does, so a checkpoint needs no ``auto_map``. Knobs ``standin_masks_per_seg``
(masks appended per ``<|seg|>``; 0 = none, the second is inverted) and
``standin_drop_frames`` (masks for fewer frames) let tests reach the adapter's no-mask and
misaligned paths. Self-contained: torch and transformers only.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor


class PixelQwen2_5_VLStandInConfig(Qwen2_5_VLConfig):
    """Qwen2.5-VL's config plus the fields UniPixel's inference reads."""

    model_type = "pixel_qwen2_5_vl"

    def __init__(self, sam2_image_size: int = 64, seg_token_id: int = 0,
                 sam2_inference_mode: bool = True, standin_masks_per_seg: int = 1,
                 standin_drop_frames: int = 0, **kwargs: Any) -> None:
        self.sam2_image_size = sam2_image_size
        self.seg_token_id = seg_token_id
        self.sam2_inference_mode = sam2_inference_mode
        self.standin_masks_per_seg = standin_masks_per_seg
        self.standin_drop_frames = standin_drop_frames
        self.dynbench_standin = True
        kwargs.pop("dynbench_standin", None)
        super().__init__(**kwargs)


class PatchedQwen2_5_VLStandInProcessor(Qwen2_5_VLProcessor):
    """UniPixel's processor subclass: it remembers the text it checked for vision tokens."""

    def _check_special_mm_tokens(self, text, *args, **kwargs):
        self.cache_text = text
        return super()._check_special_mm_tokens(text, *args, **kwargs)


class Sam2StandIn(nn.Module):
    """Per-pixel mask logits; has ``dtype`` because UniPixel casts frames to ``sam2.dtype``."""

    def __init__(self) -> None:
        super().__init__()
        self.mask_head = nn.Conv2d(3, 1, kernel_size=1)

    @property
    def dtype(self) -> torch.dtype:
        return self.mask_head.weight.dtype

    def masks(self, frames: torch.Tensor, frame_size: Any) -> torch.Tensor:
        logits = self.mask_head(frames.to(self.mask_head.weight.device, self.dtype))
        size = tuple(int(s) for s in frame_size)
        logits = F.interpolate(logits.float(), size=size, mode="bilinear", align_corners=False)
        return (logits[:, 0] > 0)[None].cpu()  # (1, T, H, W)


class PixelQwen2_5_VLStandInForConditionalGeneration(Qwen2_5_VLForConditionalGeneration):
    """Stand-in for ``PixelQwen2_5_VLForConditionalGeneration`` (NOT the real model)."""

    config_class = PixelQwen2_5_VLStandInConfig

    def __init__(self, config: PixelQwen2_5_VLStandInConfig) -> None:
        super().__init__(config)
        self.sam2 = Sam2StandIn()
        self.seg: list[torch.Tensor] = []
        self.last_inputs: dict[str, Any] = {}
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, position_ids=None,
                past_key_values=None, inputs_embeds=None, labels=None, use_cache=None,
                output_attentions=None, output_hidden_states=None, return_dict=None,
                pixel_values=None, pixel_values_videos=None, image_grid_thw=None,
                video_grid_thw=None, rope_deltas=None, cache_position=None,
                second_per_grid_ts=None, frames=None, frame_size=None, point_coords=None,
                point_labels=None, point_frames=None, refer_mask=None,
                label_obj_to_frame_idx=None, label_mask=None):
        # the real test for "first step of a generation"; under transformers 4.57 the cache
        # generate() passes already has one entry per layer, so it never holds and model.seg
        # keeps growing across calls unless the caller empties it (the official code does)
        if not self.training and (past_key_values is None or len(past_key_values) == 0):
            self.seg = []
        if "input_ids" not in self.last_inputs:
            self._record(input_ids, pixel_values_videos, video_grid_thw, frames, frame_size)
        outputs = super().forward(
            input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
            past_key_values=past_key_values, inputs_embeds=inputs_embeds, labels=labels,
            use_cache=not self.training, output_attentions=output_attentions,
            output_hidden_states=output_hidden_states, return_dict=True,
            pixel_values=pixel_values, pixel_values_videos=pixel_values_videos,
            image_grid_thw=image_grid_thw, video_grid_thw=video_grid_thw,
            rope_deltas=rope_deltas, cache_position=cache_position,
            second_per_grid_ts=second_per_grid_ts)
        if frames is not None and int(outputs.logits[0, -1].argmax()) == self.config.seg_token_id:
            self._segment(frames, frame_size)
        return outputs

    def _segment(self, frames: list[torch.Tensor], frame_size: list[Any]) -> None:
        if len(frames) != 1 or len(frame_size) != 1:
            raise ValueError("UniPixel inference takes one video: frames=[...], frame_size=[...]")
        drop = int(self.config.standin_drop_frames)
        for i in range(int(self.config.standin_masks_per_seg)):
            mask = self.sam2.masks(frames[0], frame_size[0])
            mask = mask if i % 2 == 0 else ~mask
            self.seg.append(mask[:, :-drop] if drop else mask)

    def _record(self, input_ids, pixels, grid, frames, frame_size) -> None:
        self.last_inputs = {
            "input_ids": input_ids[0].tolist(),
            "video_grid_thw": grid.tolist() if grid is not None else None,
            "pixel_dtype": str(pixels.dtype) if pixels is not None else None,
            "frames_shape": tuple(frames[0].shape) if frames is not None else None,
            "frames_dtype": str(frames[0].dtype) if frames is not None else None,
            "frame_size": tuple(int(s) for s in frame_size[0]) if frame_size else None,
        }

    def prepare_inputs_for_generation(self, *args, cache_position=None, frames=None,
                                      frame_size=None, point_coords=None, point_labels=None,
                                      point_frames=None, refer_mask=None, **kwargs):
        inputs = super().prepare_inputs_for_generation(*args, cache_position=cache_position,
                                                       **kwargs)
        inputs.update(frames=frames, frame_size=frame_size)
        return inputs

    def generate(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        self.last_inputs = {}
        out = super().generate(*args, **kwargs)
        sampling = ("do_sample", "temperature", "top_k", "top_p", "repetition_penalty")
        self.last_inputs.update(kwargs=sorted(kwargs), max_new_tokens=kwargs.get("max_new_tokens"),
                                sampling={k: kwargs.get(k) for k in sampling if k in kwargs})
        return out
