"""Stand-in ``build_model``: same signature and return value as UniPixel's.

The real one loads ``AutoProcessor(model_path, use_fast=True, do_resize=False)`` and the
model classes UniPixel registers with transformers; this one loads the stand-in checkpoint
(and its processor, without resizing) through ``trust_remote_code``. ``LAST_CALL`` records
the arguments for tests.
"""

from __future__ import annotations

from typing import Any

LAST_CALL: dict[str, Any] = {}


def _device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def build_model(model_path, config=None, image_size=None, is_trainable=False,
                merge_adapter=False, attn_implementation="flash_attention_2", device="auto",
                dtype="bfloat16"):
    from transformers import AutoModel, AutoProcessor

    LAST_CALL.clear()
    LAST_CALL.update(model_path=model_path, attn_implementation=attn_implementation,
                     device=device, dtype=dtype, image_size=image_size)
    processor = AutoProcessor.from_pretrained(model_path, do_resize=False, trust_remote_code=True)
    model = AutoModel.from_pretrained(model_path, trust_remote_code=True, dtype=dtype,
                                      attn_implementation=attn_implementation,
                                      device_map="auto" if device == "all" else None)
    model.requires_grad_(False)
    if device != "all":
        model = model.to(_device(device)).eval()
    return model, processor
