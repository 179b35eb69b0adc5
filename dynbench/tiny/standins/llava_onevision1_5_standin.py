"""LLaVA-OneVision-1.5 stand-in model: NOT the real model, only the traits the adapter meets.

Mirrors ``modeling_llavaonevision1_5.py`` of ``lmms-lab/LLaVA-OneVision-1.5-*-Instruct``
(``LLaVAOneVision1_5_ForConditionalGeneration``, loaded with ``AutoModelForCausalLM`` and
trust_remote_code), trait by trait:

* top-level imports of transformers 4 internals, among them
  ``transformers.modeling_attn_mask_utils`` (removed in transformers 5: the import fails);
* the text model reads ``text_config.pad_token_id`` (undefined under transformers 5) and
  looks its RoPE up as ``ROPE_INIT_FUNCTIONS["default"]`` (no such entry in transformers 5);
* every model class calls ``post_init()``; no dtype is hard-coded (pixels are cast to the
  vision weights' dtype) and no device is (inputs follow ``model.device``);
* the vision tower embeds 3x14x14 patches (``temporal_patch_size`` 1): a processor with
  temporal patches of 2 doubles the patch rows, and the video features then disagree with the
  ``<|video_pad|>`` tokens, raising the real error "Video features and video tokens do not
  match";
* ``forward`` has the real keyword list (no ``second_per_grid_ts``, no
  ``mm_token_type_ids``) and no ``**kwargs``, so transformers' ``generate`` rejects any other
  processor output, as for the real model.

Generation is transformers' own ``GenerationMixin.generate``. A tiny seeded network picks
one option letter from the pooled video and prompt features; a letter is followed by
``<|im_end|>``. Self-contained: imports only torch and transformers.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers.generation import GenerationMixin
from transformers.modeling_attn_mask_utils import AttentionMaskConverter  # noqa: F401 (a trait)
from transformers.modeling_outputs import CausalLMOutputWithPast
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
from transformers.modeling_utils import PreTrainedModel

from .llava_onevision1_5_standin_config import (
    LLaVAOneVision1_5StandInConfig,
    LLaVAOneVision1_5StandInTextConfig,
    RiceStandInConfig,
)


class _StandInPreTrainedModel(PreTrainedModel):
    base_model_prefix = "model"
    _supports_sdpa = True
    _supports_flash_attn_2 = True
    _no_split_modules: list[str] = []


class RiceStandInVision(_StandInPreTrainedModel):
    """Patch embedding over 3x14x14 patches, then a 2x2 merge into the text width."""

    config_class = RiceStandInConfig

    def __init__(self, config: RiceStandInConfig) -> None:
        super().__init__(config)
        p = config.patch_size
        self.patch_embed = nn.Conv2d(config.in_channels, config.hidden_size, p, p, bias=False)
        self.merger = nn.Linear(config.hidden_size * config.spatial_merge_size ** 2,
                                config.text_hidden_size)
        self.post_init()

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        rows = pixels.reshape(-1, cfg.in_channels, cfg.patch_size, cfg.patch_size)
        patches = self.patch_embed(rows.to(self.patch_embed.weight.dtype)).flatten(1)
        return self.merger(patches.reshape(-1, patches.shape[-1] * cfg.spatial_merge_size ** 2))


class LLaVAOneVision1_5StandInText(_StandInPreTrainedModel):
    """Embeddings + RoPE frequencies, built the way the real text model builds them."""

    config_class = LLaVAOneVision1_5StandInTextConfig

    def __init__(self, config: LLaVAOneVision1_5StandInTextConfig) -> None:
        super().__init__(config)
        self.padding_idx = config.pad_token_id  # AttributeError under transformers 5
        rope = (config.rope_scaling or {}).get("rope_type", "default")
        inv_freq, _ = ROPE_INIT_FUNCTIONS[rope](config, None)  # KeyError under transformers 5
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, self.padding_idx)
        self.post_init()


class LLaVAOneVision1_5StandInForConditionalGeneration(_StandInPreTrainedModel, GenerationMixin):
    """Stand-in for ``LLaVAOneVision1_5_ForConditionalGeneration`` (NOT the real model)."""

    config_class = LLaVAOneVision1_5StandInConfig

    def __init__(self, config: LLaVAOneVision1_5StandInConfig) -> None:
        super().__init__(config)
        self.visual = RiceStandInVision(config.vision_config)
        self.language_model = LLaVAOneVision1_5StandInText(config.text_config)
        self.answer_head = nn.Linear(config.text_config.hidden_size, len(config.answer_token_ids))
        self.last_inputs: dict[str, Any] = {}
        self.post_init()

    def _video_features(self, input_ids: torch.Tensor, pixels: torch.Tensor,
                        grid: torch.Tensor) -> torch.Tensor:
        features = self.visual(pixels.type(self.visual.patch_embed.weight.dtype))
        n_tokens = int((input_ids == self.config.video_token_id).sum())
        if n_tokens != features.shape[0]:
            raise ValueError(f"Video features and video tokens do not match: tokens: "
                             f"{n_tokens}, features {features.shape[0]}")
        return features

    def _answer_logits(self, feats: torch.Tensor) -> torch.Tensor:
        """Next-token scores: an option letter, and after a letter the end of the turn."""
        ids = self.config.answer_token_ids
        scores = feats.new_full((self.config.vocab_size,), -1e4)
        scores[ids] = self.answer_head(torch.tanh(feats)).to(scores.dtype)
        return scores

    def forward(self, input_ids=None, attention_mask=None, position_ids=None,
                past_key_values=None, inputs_embeds=None, labels=None, use_cache=None,
                output_attentions=None, output_hidden_states=None, return_dict=None,
                pixel_values=None, pixel_values_videos=None, image_grid_thw=None,
                video_grid_thw=None, rope_deltas=None,
                cache_position=None) -> CausalLMOutputWithPast:
        embeds = self.language_model.embed_tokens(input_ids[0])
        feats = embeds.mean(0)
        if pixel_values_videos is not None:
            video = self._video_features(input_ids, pixel_values_videos, video_grid_thw)
            feats = feats + video.mean(0).to(feats.dtype)
        if pixel_values_videos is not None and "input_ids" not in self.last_inputs:
            self.last_inputs = {"input_ids": input_ids[0].tolist(),
                                "video_tokens": video.shape[0],
                                "video_grid_thw": video_grid_thw.tolist(),
                                "pixel_dtype": str(pixel_values_videos.dtype)}
        scores = self._answer_logits(feats)
        if int(input_ids[0, -1]) in self.config.answer_token_ids:
            scores = torch.full_like(scores, -1e4)
            scores[self.config.text_config.eos_token_id] = 0
        logits = scores.reshape(1, 1, -1).expand(1, input_ids.shape[1], -1)
        return CausalLMOutputWithPast(logits=logits)

    def prepare_inputs_for_generation(self, input_ids, attention_mask=None,
                                      pixel_values_videos=None, video_grid_thw=None,
                                      **kwargs: Any) -> dict[str, Any]:
        """Always the whole sequence (this stand-in keeps no cache)."""
        return {"input_ids": input_ids, "attention_mask": attention_mask,
                "pixel_values_videos": pixel_values_videos, "video_grid_thw": video_grid_thw}

    def generate(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        self.last_inputs = {}
        called = sorted(k for k in kwargs if k not in ("max_new_tokens", "generation_config"))
        out = super().generate(*args, **kwargs)
        self.last_inputs.update(kwargs=called, max_new_tokens=kwargs.get("max_new_tokens"))
        return out
