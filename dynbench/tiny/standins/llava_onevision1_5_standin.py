"""LLaVA-OneVision-1.5 stand-in: NOT the real model, only its causal-LM call contract.

Mirrors ``modeling_llavaonevision1_5.py`` of ``lmms-lab/LLaVA-OneVision-1.5-*-Instruct``
(``LLaVAOneVision1_5_ForConditionalGeneration``, loaded with ``AutoModelForCausalLM`` and
trust_remote_code): ``generate(input_ids, attention_mask, pixel_values_videos,
video_grid_thw, ..., max_new_tokens)`` returns prompt + new token ids. Like transformers'
``GenerationMixin`` it rejects keyword arguments its ``forward`` does not take (the real
``forward`` has no ``second_per_grid_ts`` or ``mm_token_type_ids``), and like the real model
it fails when video placeholder tokens and video patches disagree. A tiny seeded network
picks one option-letter token, then end-of-turn. Self-contained: torch and transformers only.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel


class _TextStandInConfig(PretrainedConfig):
    model_type = "LLaVAOneVision1_5_text"


class _VisionStandInConfig(PretrainedConfig):
    model_type = "rice_vit"

    def __init__(self, spatial_merge_size: int = 2, **kwargs: Any) -> None:
        self.spatial_merge_size = spatial_merge_size
        super().__init__(**kwargs)


class LLaVAOneVision1_5StandInConfig(PretrainedConfig):
    """Laid out like ``Llavaonevision1_5Config``: ``text_config``, ``vision_config``, token ids."""

    model_type = "llavaonevision1_5"
    sub_configs = {"vision_config": _VisionStandInConfig, "text_config": _TextStandInConfig}

    def __init__(self, text_config: dict | None = None, vision_config: dict | None = None,
                 image_token_id: int = 0, video_token_id: int = 0, vocab_size: int = 320,
                 hidden_size: int = 16, answer_token_ids: list[int] | None = None,
                 end_token_id: int = 0, **kwargs: Any) -> None:
        self.text_config = _TextStandInConfig(**(text_config or {}))
        self.vision_config = _VisionStandInConfig(**(vision_config or {}))
        self.image_token_id = image_token_id
        self.video_token_id = video_token_id
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.answer_token_ids = list(answer_token_ids or [0])
        self.end_token_id = end_token_id  # "<|im_end|>", emitted after the answer
        self.dynbench_standin = True
        kwargs.pop("dynbench_standin", None)
        super().__init__(**kwargs)


class LLaVAOneVision1_5StandInForConditionalGeneration(PreTrainedModel):
    """Stand-in for ``LLaVAOneVision1_5_ForConditionalGeneration`` (NOT the real model)."""

    config_class = LLaVAOneVision1_5StandInConfig
    base_model_prefix = "standin"
    _supports_sdpa = True
    _supports_flash_attn_2 = True
    _no_split_modules: list[str] = []

    def __init__(self, config: LLaVAOneVision1_5StandInConfig) -> None:
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size, config.hidden_size)
        self.pixel_proj = nn.Linear(1, config.hidden_size)
        self.answer_head = nn.Linear(config.hidden_size, len(config.answer_token_ids))
        self.last_inputs: dict[str, Any] = {}
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, position_ids=None,
                past_key_values=None, inputs_embeds=None, labels=None, use_cache=None,
                output_attentions=None, output_hidden_states=None, return_dict=None,
                pixel_values=None, pixel_values_videos=None, image_grid_thw=None,
                video_grid_thw=None, rope_deltas=None, cache_position=None) -> torch.Tensor:
        """Scores over the answer tokens for the last position (pooled pixels + tokens)."""
        tokens = input_ids[0].clamp(max=self.config.vocab_size - 1)
        feats = self.embed(tokens).mean(0)
        if pixel_values_videos is not None:
            pooled = pixel_values_videos.to(self.dtype).mean().reshape(1)
            feats = feats + self.pixel_proj(pooled)
        return self.answer_head(torch.tanh(feats))

    def _check_video(self, input_ids: torch.Tensor, video_grid_thw: Any) -> int:
        n_tokens = int((input_ids == self.config.video_token_id).sum())
        merge = int(self.config.vision_config.spatial_merge_size)
        n_patches = int(video_grid_thw.prod(-1).sum()) // merge ** 2 if video_grid_thw is not \
            None else 0
        if n_tokens != n_patches:
            raise ValueError(f"Video features and video tokens do not match: tokens: "
                             f"{n_tokens}, features {n_patches}")
        return n_tokens

    def generate(self, input_ids: torch.Tensor, max_new_tokens: int = 20,
                 do_sample: bool | None = None, **model_kwargs: Any) -> torch.Tensor:
        known = set(inspect.signature(self.forward).parameters)
        unused = sorted(set(model_kwargs) - known)
        if unused:
            raise ValueError(f"The following `model_kwargs` are not used by the model: {unused}")
        n_video = self._check_video(input_ids, model_kwargs.get("video_grid_thw"))
        answer = self.config.answer_token_ids[int(self.forward(input_ids, **model_kwargs)
                                                  .argmax())]
        new = [answer, self.config.end_token_id][:max_new_tokens]
        grid = model_kwargs.get("video_grid_thw")
        self.last_inputs = {
            "input_ids": input_ids[0].tolist(), "kwargs": sorted(["input_ids", *model_kwargs]),
            "max_new_tokens": max_new_tokens, "do_sample": do_sample, "video_tokens": n_video,
            "video_grid_thw": grid.tolist() if grid is not None else None,
        }
        tail = torch.tensor([new], dtype=input_ids.dtype, device=input_ids.device)
        return torch.cat([input_ids, tail], dim=1)
