"""Stand-in for the Qwen-VL-based ``Sa2VAChatModelQwen`` (NOT the real Sa2VA).

Reproduces, from ``bytedance/Sa2VA`` ``projects/sa2va/hf/models_qwen2_5_vl/`` and
``models_qwen3vl/``, the traits the adapter meets:

* imports ``qwen_vl_utils`` (``process_vision_info``), as the real file does;
* no ``post_init()`` (transformers 5: ``no attribute 'all_tied_weights_keys'``);
* ``processor=`` is required (asserted); ``"<image>"`` is removed from the text; the first 5
  frames go into one user turn as images, through ``process_vision_info`` and the processor
  with ``min_pixels=512*28*28, max_pixels=2048*28*28``; inputs follow ``self.device``;
* SAM2 sees every frame at 1024x1024 in hard-coded bfloat16 with its state on ``cuda``, so
  the mask path needs a GPU and bf16 weights, while text-only answers run anywhere;
* the same output dict as the InternVL wrapper.
"""

from __future__ import annotations

from typing import Any

import torch
from qwen_vl_utils import process_vision_info
from transformers.modeling_utils import PreTrainedModel

from .sa2va_standin_config import Sa2VAQwenStandInConfig
from .sa2va_standin_parts import (
    LLM_FRAMES,
    answer_text,
    build_parts,
    check_text,
    frames_of,
    seg_masks,
)

MIN_PIXELS = 512 * 28 * 28
MAX_PIXELS = 2048 * 28 * 28


class Sa2VAQwenStandInModel(PreTrainedModel):
    """Stand-in for ``Sa2VAChatModelQwen`` (NOT the real model)."""

    config_class = Sa2VAQwenStandInConfig
    main_input_name = "pixel_values"
    base_model_prefix = "language_model"
    _no_split_modules: list[str] = []
    _supports_flash_attn_2 = True

    def __init__(self, config: Sa2VAQwenStandInConfig, model=None, use_flash_attn=True) -> None:
        super().__init__(config)
        self.torch_dtype = torch.bfloat16
        for name, part in build_parts(config).items():
            setattr(self, name, part)
        self.last_inputs: dict[str, Any] = {}
        # no self.post_init(): the real class has none

    def predict_forward(self, image=None, video=None, text=None, past_text="",
                        mask_prompts=None, tokenizer=None, processor=None) -> dict[str, Any]:
        assert processor is not None
        check_text(text, past_text, mask_prompts)
        self.seg_token_idx = processor.tokenizer.convert_tokens_to_ids("[SEG]")
        frames = frames_of(image, video)
        content: list[dict[str, Any]] = [{"type": "image", "image": f}
                                         for f in frames[:LLM_FRAMES]]
        content.append({"type": "text", "text": text.replace("<image>", "")})
        messages = [{"role": "user", "content": content}]
        prompt = processor.apply_chat_template(messages, tokenize=False,
                                               add_generation_prompt=True)
        images, videos = process_vision_info(messages)
        inputs = processor(text=[prompt], images=images, videos=videos, padding=True,
                           return_tensors="pt", min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)
        inputs = inputs.to(self.device)
        visual = self.model.visual(inputs["pixel_values"].to(self.dtype)).mean(0)
        letter = self.model.lm.letter(visual, inputs["input_ids"])
        n_seg = int(self.config.standin_seg_tokens)
        self.last_inputs = {
            "text": text, "prompt": prompt, "num_frames": len(frames),
            "frame_sizes": [f.size for f in frames], "llm_frames": len(content) - 1,
            "image_grid_thw": inputs["image_grid_thw"].tolist(), "past_text": past_text,
            "mask_prompts": mask_prompts,
            "kwargs": sorted(k for k, v in {"image": image, "video": video, "text": text,
                                            "tokenizer": tokenizer, "processor": processor,
                                            "mask_prompts": mask_prompts}.items()
                             if v is not None)}
        return {"prediction": answer_text(letter, n_seg),
                "prediction_masks": seg_masks(self, frames, n_seg)}
