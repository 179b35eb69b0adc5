"""Stand-in ``build_model``: the real one's signature, loading steps and return value.

Like UniPixel's: the processor comes from ``AutoProcessor(model_path, use_fast=True,
do_resize=False)`` (frames arrive already resized by ``process_vision_info``), the config from
``AutoConfig`` with ``sam2_inference_mode = not is_trainable``, the model from ``AutoModel``
(the classes this package registered), frozen, then moved to ``device`` ("auto": CUDA when
available; "all": accelerate's ``device_map="auto"``). ``LAST_CALL`` records the arguments.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import AutoConfig, AutoModel, AutoProcessor

LAST_CALL: dict[str, Any] = {}


def _auto_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def build_model(model_path, config=None, image_size=None, is_trainable=False,
                merge_adapter=False, attn_implementation="flash_attention_2", device="auto",
                dtype="bfloat16"):
    LAST_CALL.clear()
    LAST_CALL.update(model_path=model_path, attn_implementation=attn_implementation,
                     device=device, dtype=dtype, image_size=image_size)
    processor = AutoProcessor.from_pretrained(model_path, use_fast=True, do_resize=False)
    config = config or AutoConfig.from_pretrained(model_path)
    config.sam2_inference_mode = not is_trainable
    if image_size is not None:
        config.sam2_image_size = image_size
    model = AutoModel.from_pretrained(model_path, config=config, low_cpu_mem_usage=True,
                                      attn_implementation=attn_implementation, torch_dtype=dtype,
                                      device_map="auto" if device == "all" else None)
    model.requires_grad_(False)
    if not is_trainable and device != "all":
        model = model.to(_auto_device() if device == "auto" else device).eval()
    return model, processor
