"""Torch-only parts and the shared ``chat`` of the InternVL chat stand-ins (NOT the real one).

The two stand-in model modules differ only in the traits of their real counterparts
(imports, ``post_init``, dtype casts, device choice, decoding); the tiny-checkpoint builder
writes weights from :func:`build_parts` without importing those modules.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

LETTERS = "ABCD"
SYSTEM = "You are a helpful assistant."
TEMPLATE = "<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{question}<|im_end|>\n" \
           "<|im_start|>assistant\n"  # internvl2_5 (MPT style, separator "<|im_end|>\n")
SEP = "<|im_end|>"


class StandInLM(nn.Module):
    def __init__(self, hidden: int, vocab: int) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, hidden)
        self.answer_head = nn.Linear(hidden, len(LETTERS))


def projector(hidden: int) -> nn.Sequential:
    """Shaped like the real ``mlp1``: LayerNorm, Linear, GELU, Linear."""
    return nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, hidden), nn.GELU(),
                         nn.Linear(hidden, hidden))


def build_parts(config: Any) -> dict[str, nn.Module]:
    hidden, vocab = int(config.hidden_size), int(config.vocab_size)
    return {"vision_model": nn.Conv2d(3, hidden, kernel_size=56, stride=56),
            "mlp1": projector(hidden), "language_model": StandInLM(hidden, vocab)}


class ChatMixin:
    """The real ``chat`` contract; subclasses give ``input_device`` and ``decode``."""

    def init_chat(self, config: Any) -> None:
        patches = config.force_image_size // config.vision_config["patch_size"]
        self.num_image_token = int(patches ** 2 * config.downsample_ratio ** 2)
        self.system_message = SYSTEM
        self.last_inputs: dict[str, Any] = {}

    def _letter(self, pixel_values: torch.Tensor, ids: torch.Tensor) -> str:
        visual = self.mlp1(self.vision_model(pixel_values).mean(dim=(0, 2, 3)))
        ids = ids.clamp(max=self.config.vocab_size - 1).reshape(-1)
        lm = self.language_model
        feats = torch.tanh(visual.to(lm.embed_tokens.weight.dtype) + lm.embed_tokens(ids).mean(0))
        return LETTERS[int(lm.answer_head(feats).argmax())]

    def chat(self, tokenizer, pixel_values, question, generation_config, history=None,
             return_history=False, num_patches_list=None, IMG_START_TOKEN="<img>",
             IMG_END_TOKEN="</img>", IMG_CONTEXT_TOKEN="<IMG_CONTEXT>", verbose=False):
        if history is None and pixel_values is not None and "<image>" not in question:
            question = "<image>\n" + question
        if num_patches_list is None:
            num_patches_list = [pixel_values.shape[0]] if pixel_values is not None else []
        assert pixel_values is None or len(pixel_values) == sum(num_patches_list)
        query = TEMPLATE.format(system=self.system_message, question=question)
        for n in num_patches_list:
            tokens = IMG_START_TOKEN + IMG_CONTEXT_TOKEN * self.num_image_token * n + IMG_END_TOKEN
            query = query.replace("<image>", tokens, 1)
        inputs = tokenizer(query, return_tensors="pt")
        ids = inputs["input_ids"].to(self.input_device())
        context = tokenizer.convert_tokens_to_ids(IMG_CONTEXT_TOKEN)
        if int((ids == context).sum()) != len(pixel_values) * self.num_image_token:
            raise RuntimeError("image features and image tokens do not match")
        generation_config["eos_token_id"] = tokenizer.convert_tokens_to_ids(SEP)
        letter = self._letter(pixel_values, ids)
        raw = (letter + SEP)[: max(1, int(generation_config.get("max_new_tokens", 1)))]
        response = self.decode(tokenizer, raw)
        self.last_inputs = {
            "question": question, "num_patches_list": list(num_patches_list),
            "pixel_shape": tuple(pixel_values.shape), "pixel_dtype": str(pixel_values.dtype),
            "pixel_mean": pixel_values.float().mean(dim=(0, 2, 3)).tolist(),
            "generation_config": dict(generation_config), "history": history,
            "image_tokens": int((ids == context).sum()), "ids_device": str(ids.device)}
        if return_history:
            return response, [*(history or []), (question, response)]
        return response
