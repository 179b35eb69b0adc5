"""Sa2VA stand-ins: NOT the real Sa2VA, only its ``predict_forward`` call contract.

Mirrors ``bytedance/Sa2VA`` ``modeling_sa2va_chat.py`` (InternVL wrapper, wants
``tokenizer=``) and ``modeling_sa2va_qwen.py`` (Qwen-VL wrapper, wants ``processor=``):
``predict_forward(image=None, video=None, text=None, past_text='', mask_prompts=None,
tokenizer=None, processor=None) -> {"prediction": str, "prediction_masks": [bool (T,H,W)]}``,
with masks at the first frame's size and the first 5 frames fed to the "language model".

The network is tiny: a per-pixel linear layer plus threshold stands in for SAM2 (one mask
per frame, per [SEG]); pooled pixel and token features pick an option letter. Config knobs
``standin_seg_tokens`` (how many [SEG] to emit) and ``standin_drop_frames`` (return masks
for fewer frames) let tests exercise the no-mask and misaligned paths. Self-contained:
imports only torch, transformers, numpy and PIL.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel

LETTERS = "ABCD"
LLM_FRAMES = 5  # the real predict_forward shows only the first 5 frames to the LLM
INTERNVL_TEMPLATE = "<|im_start|>user\n{input}<|im_end|>\n<|im_start|>assistant\n"


class _StandInConfigMixin:
    def _standin_init(self, hidden_size: int, vocab_size: int, seg_tokens: int,
                      drop_frames: int) -> None:
        self.hidden_size = hidden_size
        self.vocab_size = vocab_size
        self.standin_seg_tokens = seg_tokens
        self.standin_drop_frames = drop_frames
        self.dynbench_standin = True


class Sa2VAStandInConfig(_StandInConfigMixin, PretrainedConfig):
    """Laid out like the InternVL-based ``Sa2VAChatConfig``: ``llm_config`` + ``vision_config``."""

    model_type = "sa2va_chat"

    def __init__(self, llm_config: dict | None = None, vision_config: dict | None = None,
                 template: str = "qwen_chat", hidden_size: int = 16, vocab_size: int = 320,
                 standin_seg_tokens: int = 1, standin_drop_frames: int = 0, **kwargs: Any):
        self.llm_config = llm_config or {"architectures": ["Qwen2ForCausalLM"],
                                         "model_type": "qwen2"}
        self.vision_config = vision_config or {"architectures": ["InternVisionModel"],
                                               "model_type": "intern_vit_6b"}
        self.template = template
        self._standin_init(hidden_size, vocab_size, standin_seg_tokens, standin_drop_frames)
        kwargs.pop("dynbench_standin", None)
        super().__init__(**kwargs)


class Sa2VAQwenStandInConfig(_StandInConfigMixin, PretrainedConfig):
    """Laid out like ``Sa2VAChatConfigQwen`` (a Qwen-VL config): text_config, vision_config."""

    model_type = "sa2va_chat"

    def __init__(self, text_config: dict | None = None, vision_config: dict | None = None,
                 template: str | None = None, hidden_size: int = 16, vocab_size: int = 320,
                 standin_seg_tokens: int = 1, standin_drop_frames: int = 0, **kwargs: Any):
        self.text_config = text_config or {"model_type": "qwen2_5_vl_text"}
        self.vision_config = vision_config or {"model_type": "qwen2_5_vl"}
        self.template = template
        self._standin_init(hidden_size, vocab_size, standin_seg_tokens, standin_drop_frames)
        kwargs.pop("dynbench_standin", None)
        super().__init__(**kwargs)


def _frames(image: Any, video: Any) -> list[Image.Image]:
    frames = [image] if video is None else list(video)
    if not frames or not all(isinstance(f, Image.Image) for f in frames):
        raise TypeError("predict_forward expects PIL images (video=[PIL.Image, ...])")
    return frames


class _Sa2VAStandInBase(PreTrainedModel):
    base_model_prefix = "standin"
    _supports_flash_attn_2 = True  # like the real classes: no SDPA declared
    _no_split_modules: list[str] = []

    def __init__(self, config: PretrainedConfig) -> None:
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size, config.hidden_size)
        self.pixel_proj = nn.Linear(3, config.hidden_size)
        self.answer_head = nn.Linear(config.hidden_size, len(LETTERS))
        self.mask_head = nn.Linear(3, 1)  # stands in for SAM2: one logit per pixel
        self.last_inputs: dict[str, Any] = {}
        self.post_init()

    def _pixels(self, frames: list[Image.Image], size: tuple[int, int]) -> torch.Tensor:
        arr = np.stack([np.asarray(f.convert("RGB").resize(size)) for f in frames])
        return torch.from_numpy(arr).to(self.device, self.dtype) / 255.0

    def _letter(self, frames: list[Image.Image], ids: list[int]) -> str:
        pix = self._pixels(frames[:LLM_FRAMES], (16, 16))
        tokens = torch.tensor(ids, device=self.device).clamp(max=self.config.vocab_size - 1)
        feats = torch.tanh(self.pixel_proj(pix).mean(dim=(0, 1, 2)) + self.embed(tokens).mean(0))
        return LETTERS[int(self.answer_head(feats).argmax())]

    def _masks(self, frames: list[Image.Image], sign: float) -> np.ndarray:
        logits = self.mask_head(self._pixels(frames, frames[0].size))[..., 0]
        masks = (sign * logits > 0).cpu().numpy()
        drop = int(self.config.standin_drop_frames)
        return masks[:-drop] if drop else masks

    def _respond(self, frames: list[Image.Image], ids: list[int]) -> dict[str, Any]:
        n_seg = int(self.config.standin_seg_tokens)
        text = f"{self._letter(frames, ids)}." + " [SEG]" * n_seg + "<|im_end|>"
        masks = [self._masks(frames, 1.0 if i % 2 == 0 else -1.0) for i in range(n_seg)]
        return {"prediction": text, "prediction_masks": masks}

    def _record(self, text: str, frames: list[Image.Image], ids: list[int],
                passed: dict[str, Any]) -> None:
        self.last_inputs = {
            "text": text, "num_frames": len(frames), "frame_sizes": [f.size for f in frames],
            "llm_frames": min(LLM_FRAMES, len(frames)), "num_ids": len(ids),
            "past_text": passed.get("past_text"), "mask_prompts": passed.get("mask_prompts"),
            "kwargs": sorted(k for k, v in passed.items() if v is not None),
        }


def _check_text(text: str, past_text: str, mask_prompts: Any) -> None:
    if mask_prompts is not None:
        raise NotImplementedError("the stand-in does not emulate visual prompts")
    if "<image>" in text and past_text:
        raise ValueError("'<image>' in text requires an empty past_text (as in Sa2VA)")


class Sa2VAStandInModel(_Sa2VAStandInBase):
    """Stand-in for the InternVL-based ``Sa2VAChatModel`` (NOT the real model)."""

    config_class = Sa2VAStandInConfig

    def predict_forward(self, image=None, video=None, text=None, past_text="",
                        mask_prompts=None, tokenizer=None, processor=None) -> dict[str, Any]:
        if tokenizer is None:
            raise ValueError("this Sa2VA variant needs tokenizer= (InternVL wrapper)")
        _check_text(text, past_text, mask_prompts)
        frames = _frames(image, video)
        tile = "<img>" + "<IMG_CONTEXT>" + "</img>\n"
        prompt = text.replace("<image>", (tile * min(LLM_FRAMES, len(frames))).strip())
        ids = tokenizer.encode(past_text + INTERNVL_TEMPLATE.format(input=prompt))
        passed = dict(image=image, video=video, text=text, past_text=past_text,
                      mask_prompts=mask_prompts, tokenizer=tokenizer, processor=processor)
        self._record(text, frames, ids, passed)
        return self._respond(frames, ids)


class Sa2VAQwenStandInModel(_Sa2VAStandInBase):
    """Stand-in for the Qwen-VL-based ``Sa2VAChatModelQwen`` (NOT the real model)."""

    config_class = Sa2VAQwenStandInConfig

    def predict_forward(self, image=None, video=None, text=None, past_text="",
                        mask_prompts=None, tokenizer=None, processor=None) -> dict[str, Any]:
        if processor is None:
            raise ValueError("this Sa2VA variant needs processor= (Qwen-VL wrapper)")
        _check_text(text, past_text, mask_prompts)
        frames = _frames(image, video)
        content: list[dict[str, Any]] = [{"type": "image", "image": f}
                                         for f in frames[:LLM_FRAMES]]
        content.append({"type": "text", "text": text.replace("<image>", "")})
        messages = [{"role": "user", "content": content}]
        prompt = processor.apply_chat_template(messages, tokenize=False,
                                               add_generation_prompt=True)
        ids = processor.tokenizer.encode(prompt)
        passed = dict(image=image, video=video, text=text, past_text=past_text,
                      mask_prompts=mask_prompts, tokenizer=tokenizer, processor=processor)
        self._record(text, frames, ids, passed)
        return self._respond(frames, ids)
