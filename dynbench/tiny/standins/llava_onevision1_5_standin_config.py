"""LLaVA-OneVision-1.5 stand-in configuration (NOT the real one), laid out like
``configuration_llavaonevision1_5.py`` of ``lmms-lab/LLaVA-OneVision-1.5-*-Instruct``.

Like the real file it imports only ``transformers.configuration_utils`` and so loads under
transformers 4 and 5 alike (the real failures come with the modeling file). Traits the
adapter and the modeling stand-in depend on:

* a top-level config with ``text_config`` (Qwen3-like) and ``vision_config`` (Rice ViT:
  14-px patches, ``temporal_patch_size`` 1, 2x2 merge) plus image/video token ids;
* the text config sets no ``pad_token_id``: transformers 4 defaults it to None,
  transformers 5 leaves the attribute undefined (the real modeling code reads it);
* no ``rope_scaling`` in the text config, i.e. RoPE type ``"default"``.
"""

from __future__ import annotations

from typing import Any

from transformers.configuration_utils import PretrainedConfig


class RiceStandInConfig(PretrainedConfig):
    """The vision tower's fields that the processor geometry and the modeling stand-in read."""

    model_type = "rice_vit"
    base_config_key = "vision_config"

    def __init__(self, hidden_size: int = 16, patch_size: int = 14, spatial_merge_size: int = 2,
                 temporal_patch_size: int = 1, in_channels: int = 3, text_hidden_size: int = 16,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.patch_size = patch_size
        self.spatial_merge_size = spatial_merge_size
        self.temporal_patch_size = temporal_patch_size
        self.in_channels = in_channels
        self.text_hidden_size = text_hidden_size


class LLaVAOneVision1_5StandInTextConfig(PretrainedConfig):
    """Qwen3-like text fields; deliberately no ``pad_token_id`` (see the module docstring)."""

    model_type = "LLaVAOneVision1_5_text"
    base_config_key = "text_config"

    def __init__(self, vocab_size: int = 320, hidden_size: int = 16, num_attention_heads: int = 2,
                 head_dim: int = 8, rope_theta: float = 5e6, rope_scaling: dict | None = None,
                 max_position_embeddings: int = 4096, num_hidden_layers: int = 1,
                 num_key_value_heads: int = 1, sliding_window: int | None = None,
                 **kwargs: Any) -> None:
        self.vocab_size = vocab_size
        self.num_hidden_layers = num_hidden_layers  # the stand-in has no decoder layers; the
        self.num_key_value_heads = num_key_value_heads  # cache generate() builds reads these
        self.sliding_window = sliding_window
        self.layer_types = ["full_attention"] * num_hidden_layers
        self.hidden_size = hidden_size
        self.num_attention_heads = num_attention_heads
        self.head_dim = head_dim
        self.rope_theta = rope_theta
        self.rope_scaling = rope_scaling
        self.max_position_embeddings = max_position_embeddings
        super().__init__(**kwargs)


class LLaVAOneVision1_5StandInConfig(PretrainedConfig):
    """Laid out like ``Llavaonevision1_5Config``: sub-configs and the vision token ids."""

    model_type = "llavaonevision1_5"
    sub_configs = {"vision_config": RiceStandInConfig,
                   "text_config": LLaVAOneVision1_5StandInTextConfig}

    def __init__(self, text_config: dict | None = None, vision_config: dict | None = None,
                 image_token_id: int = 0, video_token_id: int = 0, vocab_size: int = 320,
                 answer_token_ids: list[int] | None = None, **kwargs: Any) -> None:
        self.text_config = self._sub(text_config, LLaVAOneVision1_5StandInTextConfig)
        self.vision_config = self._sub(vision_config, RiceStandInConfig)
        self.image_token_id = image_token_id
        self.video_token_id = video_token_id
        self.vocab_size = vocab_size
        self.answer_token_ids = list(answer_token_ids or [0])  # stand-in only: "ABCD"
        self.dynbench_standin = True
        kwargs.pop("dynbench_standin", None)
        super().__init__(**kwargs)

    @staticmethod
    def _sub(value: Any, cls: type) -> PretrainedConfig:
        if isinstance(value, cls):
            return value
        return cls(**(value or {}))
