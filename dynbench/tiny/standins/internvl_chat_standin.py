"""Stand-in for InternVL3's remote-code ``InternVLChatModel`` (NOT the real InternVL).

Reproduces the traits of ``OpenGVLab/InternVL`` ``internvl_chat/internvl/model/internvl_chat/``
that the adapter meets: imports ``peft``, ``timm``, ``einops`` and (through the InternLM2 and
Phi-3 files it imports) ``transformers.modeling_attn_mask_utils``; calls ``post_init()``;
``chat(tokenizer, pixel_values, question, generation_config, history, return_history,
num_patches_list, ...)`` with one ``<img>`` + context tokens + ``</img>`` block per entry of
``num_patches_list``; input ids on the model's device when CUDA is available, else the CPU;
no dtype casts of its own (pixels must already match the model); the answer decoded without
special tokens, cut at ``<|im_end|>``.
"""

from __future__ import annotations

import torch
from einops import rearrange  # noqa: F401  (real modeling_intern_vit)
from peft import LoraConfig, get_peft_model  # noqa: F401  (real modeling_internvl_chat)
from timm.models.layers import DropPath  # noqa: F401  (real modeling_intern_vit)
from transformers.modeling_attn_mask_utils import (  # noqa: F401  (real modeling_phi3)
    _prepare_4d_causal_attention_mask,
)
from transformers.modeling_utils import PreTrainedModel

from .internvl_chat_standin_config import InternVLChatStandInConfig
from .internvl_chat_standin_parts import SEP, ChatMixin, build_parts


class InternVLChatStandInModel(ChatMixin, PreTrainedModel):
    """Stand-in for InternVL3's ``InternVLChatModel`` (NOT the real model)."""

    config_class = InternVLChatStandInConfig
    main_input_name = "pixel_values"
    base_model_prefix = "language_model"
    _supports_flash_attn_2 = True  # like the real class: no SDPA declared
    _no_split_modules: list[str] = []

    def __init__(self, config, vision_model=None, language_model=None, use_flash_attn=True):
        super().__init__(config)
        self.use_flash_attn = use_flash_attn
        for name, part in build_parts(config).items():
            setattr(self, name, part)
        self.init_chat(config)
        self.post_init()

    def input_device(self) -> torch.device:
        return torch.device(self.device if torch.cuda.is_available() else "cpu")

    def decode(self, tokenizer, raw: str) -> str:
        ids = tokenizer(raw, add_special_tokens=False)["input_ids"]
        return tokenizer.decode(ids, skip_special_tokens=True).split(SEP)[0].strip()
