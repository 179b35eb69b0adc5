"""Stand-in for InternVL3.5's remote-code ``InternVLChatModel`` (NOT the real InternVL).

Reproduces the traits of ``OpenGVLab/InternVL`` ``internvl_chat_gpt_oss/internvl/model/
internvl_chat/`` (the public code of the InternVL3.5 chat checkpoints; it builds the Qwen3 /
GPT-OSS LLMs of 3.5 through ``AutoModelForCausalLM``): imports ``timm`` and ``einops``; no
``post_init()`` (transformers 5: ``no attribute 'all_tied_weights_keys'``); the projector
``mlp1`` is cast to bfloat16 in ``__init__``, so a model loaded in another dtype fails on its
first input ("mixed dtype"); input ids follow ``self.device``; the answer is decoded with
special tokens and cut at the separator. Same ``chat`` contract as InternVL3.
"""

from __future__ import annotations

import torch
from einops import rearrange  # noqa: F401  (real modeling_intern_vit)
from timm.layers import DropPath  # noqa: F401  (real modeling_intern_vit)
from transformers.modeling_utils import PreTrainedModel

from .internvl_chat_standin_config import InternVLChatStandInConfig
from .internvl_chat_standin_parts import SEP, ChatMixin, build_parts


class InternVL35ChatStandInModel(ChatMixin, PreTrainedModel):
    """Stand-in for InternVL3.5's ``InternVLChatModel`` (NOT the real model)."""

    config_class = InternVLChatStandInConfig
    main_input_name = "pixel_values"
    base_model_prefix = "language_model"
    _supports_flash_attn_2 = True
    _no_split_modules: list[str] = []
    _tp_plan = ""

    def __init__(self, config, vision_model=None, language_model=None, use_flash_attn=True):
        super().__init__(config)
        self.use_flash_attn = use_flash_attn
        for name, part in build_parts(config).items():
            setattr(self, name, part)
        self.mlp1 = self.mlp1.to(torch.bfloat16)
        self.init_chat(config)
        # no self.post_init(): the real class has none

    def input_device(self) -> torch.device:
        return self.device

    def decode(self, tokenizer, raw: str) -> str:
        ids = tokenizer(raw, add_special_tokens=False)["input_ids"]
        return tokenizer.decode(ids, skip_special_tokens=False).split(SEP)[0].strip()
