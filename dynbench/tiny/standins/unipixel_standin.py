"""UniPixel stand-in: NOT the real UniPixel, only the model side of its inference contract.

Mirrors ``PixelQwen2_5_VLForConditionalGeneration`` of ``PolyU-ChenLab/UniPixel``
(``unipixel/model/qwen2_5_vl.py``) as ``tools/inference.py`` drives it:
``generate(**processor_outputs, frames=[sam2 tensor (T,3,S,S)], frame_size=[(H, W)],
do_sample=False, temperature=None, top_k=None, top_p=None, repetition_penalty=None,
max_new_tokens=512)`` returns prompt + new ids, and each ``<|seg|>`` it emits appends one
bool mask (1, T, H, W) at ``frame_size`` to ``model.seg``. A per-pixel linear layer on the
SAM2-normalised frames (``model.sam2``) stands in for SAM2; a tiny seeded network picks an
option letter. Knobs ``standin_seg_tokens`` and ``standin_drop_frames`` let tests exercise
the no-mask and misaligned paths. Self-contained: imports only torch and transformers.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel


class UniPixelStandInConfig(PretrainedConfig):
    """Carries the fields UniPixel's inference reads (``sam2_image_size``, ``seg_token_id``)."""

    model_type = "pixel_qwen2_5_vl"

    def __init__(self, sam2_image_size: int = 64, seg_token_id: int = 0, video_token_id: int = 0,
                 vocab_size: int = 320, hidden_size: int = 16,
                 answer_token_ids: list[int] | None = None, end_token_id: int = 0,
                 standin_seg_tokens: int = 1, standin_drop_frames: int = 0,
                 **kwargs: Any) -> None:
        self.sam2_image_size = sam2_image_size
        self.seg_token_id = seg_token_id
        self.video_token_id = video_token_id
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.answer_token_ids = list(answer_token_ids or [0])
        self.end_token_id = end_token_id
        self.standin_seg_tokens = standin_seg_tokens
        self.standin_drop_frames = standin_drop_frames
        self.dynbench_standin = True
        kwargs.pop("dynbench_standin", None)
        super().__init__(**kwargs)


class Sam2StandIn(nn.Module):
    """Per-pixel mask logits; has ``dtype`` because UniPixel casts frames to ``sam2.dtype``."""

    def __init__(self) -> None:
        super().__init__()
        self.mask_head = nn.Conv2d(3, 1, kernel_size=1)

    @property
    def dtype(self) -> torch.dtype:
        return self.mask_head.weight.dtype

    def masks(self, frames: torch.Tensor, frame_size: tuple[int, int]) -> torch.Tensor:
        logits = self.mask_head(frames.to(self.mask_head.weight.device, self.dtype))
        logits = F.interpolate(logits.float(), size=tuple(int(s) for s in frame_size),
                               mode="bilinear", align_corners=False)
        return (logits[:, 0] > 0)[None].cpu()  # (1, T, H, W)


class UniPixelStandInForConditionalGeneration(PreTrainedModel):
    """Stand-in for ``PixelQwen2_5_VLForConditionalGeneration`` (NOT the real model)."""

    config_class = UniPixelStandInConfig
    base_model_prefix = "standin"
    _supports_sdpa = True
    _supports_flash_attn_2 = True
    _no_split_modules: list[str] = []

    def __init__(self, config: UniPixelStandInConfig) -> None:
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size, config.hidden_size)
        self.answer_head = nn.Linear(config.hidden_size, len(config.answer_token_ids))
        self.sam2 = Sam2StandIn()
        self.seg: list[torch.Tensor] = []
        self.last_inputs: dict[str, Any] = {}
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, position_ids=None,
                past_key_values=None, inputs_embeds=None, labels=None, use_cache=None,
                pixel_values=None, pixel_values_videos=None, image_grid_thw=None,
                video_grid_thw=None, rope_deltas=None, cache_position=None,
                second_per_grid_ts=None, mm_token_type_ids=None, frames=None,
                frame_size=None, point_coords=None, point_labels=None, point_frames=None,
                refer_mask=None) -> torch.Tensor:
        """Scores over the answer tokens from the prompt tokens and the video patches."""
        feats = self.embed(input_ids[0].clamp(max=self.config.vocab_size - 1)).mean(0)
        if pixel_values_videos is not None:
            feats = feats + pixel_values_videos.to(self.dtype).mean()
        return self.answer_head(torch.tanh(feats))

    def _segment(self, frames: list[torch.Tensor], frame_size: list[Any]) -> None:
        if len(frames) != 1 or len(frame_size) != 1:
            raise ValueError("UniPixel inference takes one video: frames=[...], frame_size=[...]")
        drop = int(self.config.standin_drop_frames)
        for i in range(int(self.config.standin_seg_tokens)):
            mask = self.sam2.masks(frames[0], frame_size[0])
            mask = mask if i % 2 == 0 else ~mask
            self.seg.append(mask[:, :-drop] if drop else mask)

    def generate(self, input_ids: torch.Tensor, max_new_tokens: int = 20,
                 **model_kwargs: Any) -> torch.Tensor:
        sampling = {k: model_kwargs.pop(k, None) for k in
                    ("do_sample", "temperature", "top_k", "top_p", "repetition_penalty")}
        unused = sorted(set(model_kwargs) - set(inspect.signature(self.forward).parameters))
        if unused:
            raise ValueError(f"The following `model_kwargs` are not used by the model: {unused}")
        answer = self.config.answer_token_ids[int(self.forward(input_ids, **model_kwargs)
                                                  .argmax())]
        n_seg = int(self.config.standin_seg_tokens)
        new = [answer, *[self.config.seg_token_id] * n_seg, self.config.end_token_id]
        if model_kwargs.get("frames") is not None and n_seg:
            self._segment(model_kwargs["frames"], model_kwargs["frame_size"])
        frames = model_kwargs.get("frames")
        self.last_inputs = {
            "input_ids": input_ids[0].tolist(), "max_new_tokens": max_new_tokens,
            "kwargs": sorted(["input_ids", *model_kwargs]), "sampling": sampling,
            "frames_shape": tuple(frames[0].shape) if frames is not None else None,
            "frames_dtype": str(frames[0].dtype) if frames is not None else None,
            "frame_size": tuple(int(s) for s in model_kwargs.get("frame_size", [[0, 0]])[0]),
            "video_grid_thw": model_kwargs["video_grid_thw"].tolist()
            if model_kwargs.get("video_grid_thw") is not None else None,
        }
        tail = torch.tensor([new[:max_new_tokens]], dtype=input_ids.dtype,
                            device=input_ids.device)
        return torch.cat([input_ids, tail], dim=1)
