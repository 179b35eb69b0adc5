"""InternVL remote-code chat stand-in: NOT the real InternVL, only its ``chat`` call contract.

Mirrors ``modeling_internvl_chat.py`` of ``OpenGVLab/InternVL3-*`` / ``InternVL3_5-*``:
``chat(tokenizer, pixel_values, question, generation_config, history=None,
return_history=False, num_patches_list=None, IMG_START_TOKEN='<img>',
IMG_END_TOKEN='</img>', IMG_CONTEXT_TOKEN='<IMG_CONTEXT>', verbose=False) -> str``.
Each ``<image>`` in the question is replaced, in order, by one image block per entry of
``num_patches_list``; the real model then fails when image tokens and tiles disagree, so the
stand-in raises there too. The "answer" is an option letter picked by a tiny seeded network
from the pixels and prompt tokens. Self-contained: imports only torch and transformers.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel

LETTERS = "ABCD"
TEMPLATE = ("<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{question}<|im_end|>\n"
            "<|im_start|>assistant\n")


class InternVLChatStandInConfig(PretrainedConfig):
    """Laid out like ``InternVLChatConfig``: ``vision_config``, ``llm_config``, template, tiles."""

    model_type = "internvl_chat"

    def __init__(self, vision_config: dict | None = None, llm_config: dict | None = None,
                 template: str = "internvl2_5", force_image_size: int = 448,
                 downsample_ratio: float = 0.5, hidden_size: int = 16, vocab_size: int = 320,
                 **kwargs: Any) -> None:
        self.vision_config = vision_config or {"architectures": ["InternVisionModel"],
                                               "image_size": 448, "patch_size": 112}
        self.llm_config = llm_config or {"architectures": ["Qwen2ForCausalLM"]}
        self.template = template
        self.force_image_size = force_image_size
        self.downsample_ratio = downsample_ratio
        self.hidden_size = hidden_size
        self.vocab_size = vocab_size
        self.dynbench_standin = True
        kwargs.pop("dynbench_standin", None)
        super().__init__(**kwargs)


class InternVLChatStandInModel(PreTrainedModel):
    """Stand-in for ``InternVLChatModel`` (NOT the real model)."""

    config_class = InternVLChatStandInConfig
    base_model_prefix = "standin"
    _supports_flash_attn_2 = True  # like the real class: no SDPA declared
    _no_split_modules: list[str] = []

    def __init__(self, config: InternVLChatStandInConfig, vision_model: Any = None,
                 language_model: Any = None, use_flash_attn: bool = True) -> None:
        super().__init__(config)
        self.use_flash_attn = use_flash_attn
        patches = config.force_image_size // config.vision_config["patch_size"]
        self.num_image_token = int(patches ** 2 * config.downsample_ratio ** 2)
        self.system_message = "You are a helpful assistant."
        self.embed = nn.Embedding(config.vocab_size, config.hidden_size)
        self.pixel_proj = nn.Linear(3, config.hidden_size)
        self.answer_head = nn.Linear(config.hidden_size, len(LETTERS))
        self.last_inputs: dict[str, Any] = {}
        self.post_init()

    def _letter(self, pixel_values: torch.Tensor, ids: list[int]) -> str:
        pix = self.pixel_proj(pixel_values.mean(dim=(2, 3)).to(self.dtype)).mean(0)
        tokens = torch.tensor(ids, device=self.device).clamp(max=self.config.vocab_size - 1)
        feats = torch.tanh(pix + self.embed(tokens).mean(0))
        return LETTERS[int(self.answer_head(feats).argmax())]

    def _check_pixels(self, pixel_values: torch.Tensor, num_patches_list: list[int]) -> None:
        size = self.config.force_image_size
        if tuple(pixel_values.shape[1:]) != (3, size, size):
            raise ValueError(f"pixel_values must be (N, 3, {size}, {size}) tiles, "
                             f"got {tuple(pixel_values.shape)}")
        if len(pixel_values) != sum(num_patches_list):
            raise ValueError("len(pixel_values) must equal sum(num_patches_list)")

    def _query(self, question: str, num_patches_list: list[int], tokens: tuple[str, str, str]
               ) -> str:
        if question.count("<image>") != len(num_patches_list):
            raise ValueError(f"{question.count('<image>')} '<image>' placeholders for "
                             f"{len(num_patches_list)} images: image features and image "
                             "tokens do not match")
        start, end, context = tokens
        query = TEMPLATE.format(system=self.system_message, question=question)
        for n in num_patches_list:
            query = query.replace("<image>", start + context * self.num_image_token * n + end, 1)
        return query

    def chat(self, tokenizer, pixel_values, question, generation_config, history=None,
             return_history=False, num_patches_list=None, IMG_START_TOKEN="<img>",
             IMG_END_TOKEN="</img>", IMG_CONTEXT_TOKEN="<IMG_CONTEXT>", verbose=False):
        if history is None and pixel_values is not None and "<image>" not in question:
            question = "<image>\n" + question
        if num_patches_list is None:
            num_patches_list = [pixel_values.shape[0]] if pixel_values is not None else []
        self._check_pixels(pixel_values, num_patches_list)
        query = self._query(question, num_patches_list,
                            (IMG_START_TOKEN, IMG_END_TOKEN, IMG_CONTEXT_TOKEN))
        ids = tokenizer(query)["input_ids"]
        generation_config["eos_token_id"] = tokenizer.convert_tokens_to_ids("<|im_end|>")
        response = self._letter(pixel_values, ids)[: generation_config.get("max_new_tokens", 1)]
        self.last_inputs = {
            "question": question, "num_patches_list": list(num_patches_list),
            "pixel_shape": tuple(pixel_values.shape), "pixel_dtype": str(pixel_values.dtype),
            "pixel_mean": pixel_values.float().mean(dim=(0, 2, 3)).tolist(),
            "generation_config": dict(generation_config), "history": history,
            "image_tokens": ids.count(tokenizer.convert_tokens_to_ids(IMG_CONTEXT_TOKEN)),
        }
        if return_history:
            return response, [*(history or []), (question, response)]
        return response
