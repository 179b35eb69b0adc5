"""Stand-in for the InternVL-based ``Sa2VAChatModel`` (NOT the real Sa2VA).

Reproduces, from ``bytedance/Sa2VA`` ``projects/sa2va/hf/models/``, every trait the adapter
meets (the network itself is tiny and meaningless):

* imports: ``peft``, ``timm``, ``einops`` and ``transformers.modeling_attn_mask_utils`` (the
  real wrapper imports its Phi-3 LLM file, which imports it), so a missing package or
  transformers 5 fails at load as with the real checkpoint;
* no ``post_init()`` (transformers 5: ``no attribute 'all_tied_weights_keys'``);
* ``predict_forward(image, video, text, past_text, mask_prompts, tokenizer, processor)``;
  ``tokenizer`` is required on the first call only; ``"<image>"`` needs an empty past_text;
* frames: the first 5 become 448x448 tiles (256 ``<IMG_CONTEXT>`` each, hard-coded) cast to
  bfloat16 whatever the model dtype; every frame goes to SAM2 at 1024x1024 in bfloat16;
* ``torch.tensor(ids).cuda()``, SAM2 state on ``cuda``: no GPU, no answer;
* output ``{"prediction": text ending "<|im_end|>", "prediction_masks": [bool (T, H, W) per
  [SEG]]}`` at the first frame's size.
"""

from __future__ import annotations

from typing import Any

import torch
import torchvision.transforms as T
from einops import rearrange  # noqa: F401  (imported by the real InternViT/InternLM2 files)
from peft import LoraConfig, get_peft_model  # noqa: F401  (imported by the real wrapper)
from timm.models.layers import DropPath  # noqa: F401  (imported by the real InternViT)
from torchvision.transforms.functional import InterpolationMode
from transformers.modeling_attn_mask_utils import (  # noqa: F401  (real modeling_phi3)
    _prepare_4d_causal_attention_mask,
)
from transformers.modeling_utils import PreTrainedModel

from .sa2va_standin_config import Sa2VAStandInConfig
from .sa2va_standin_parts import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    LLM_FRAMES,
    answer_text,
    build_parts,
    check_text,
    frames_of,
    seg_masks,
)

TILE = 448
IMAGE_TOKENS = 256  # (448 // 14) ** 2 * 0.5 ** 2, hard-coded in the real preparing_for_generation
INSTRUCTION = "<|im_start|>user\n{input}<|im_end|>\n<|im_start|>assistant\n"  # qwen_chat


class Sa2VAStandInModel(PreTrainedModel):
    """Stand-in for ``Sa2VAChatModel`` (NOT the real model)."""

    config_class = Sa2VAStandInConfig
    main_input_name = "pixel_values"
    base_model_prefix = "language_model"
    _no_split_modules: list[str] = []
    _supports_flash_attn_2 = True  # like the real class: no SDPA declared

    def __init__(self, config: Sa2VAStandInConfig, vision_model=None, language_model=None,
                 use_flash_attn=True) -> None:
        super().__init__(config)
        for name, part in build_parts(config).items():
            setattr(self, name, part)
        self.init_prediction_config = False
        self.last_inputs: dict[str, Any] = {}
        # no self.post_init(): the real class has none

    def preparing_for_generation(self, tokenizer, max_new_tokens=2048,
                                 torch_dtype=torch.bfloat16) -> None:
        self.tokenizer = tokenizer
        self.torch_dtype = torch_dtype
        self.transformer = T.Compose([
            T.Lambda(lambda img: img.convert("RGB")),
            T.Resize((TILE, TILE), interpolation=InterpolationMode.BICUBIC),
            T.ToTensor(), T.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD)])
        self.seg_token_idx = tokenizer.convert_tokens_to_ids("[SEG]")
        self.img_context_token_id = tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>")
        self.init_prediction_config = True

    def predict_forward(self, image=None, video=None, text=None, past_text="",
                        mask_prompts=None, tokenizer=None, processor=None) -> dict[str, Any]:
        if not self.init_prediction_config:
            assert tokenizer
            self.preparing_for_generation(tokenizer=tokenizer)
        check_text(text, past_text, mask_prompts)
        frames = frames_of(image, video)
        shown = frames[:LLM_FRAMES]
        pixel_values = torch.stack([self.transformer(f) for f in shown]).to(self.torch_dtype)
        tile = "<img>" + "<IMG_CONTEXT>" * IMAGE_TOKENS + "</img>\n"
        prompt = text.replace("<image>", (tile * len(shown)).strip())
        ids = self.tokenizer.encode(past_text + INSTRUCTION.format(input=prompt))
        ids = torch.tensor(ids).cuda().unsqueeze(0)
        visual = self.vision_model(pixel_values.to(self.device))
        letter = self.language_model.letter(visual, ids)
        n_seg = int(self.config.standin_seg_tokens)
        self.last_inputs = {
            "text": text, "num_frames": len(frames), "frame_sizes": [f.size for f in frames],
            "llm_frames": len(shown), "image_tokens": int((ids == self.img_context_token_id).sum()),
            "pixel_dtype": str(pixel_values.dtype), "past_text": past_text,
            "mask_prompts": mask_prompts,
            "kwargs": sorted(k for k, v in {"image": image, "video": video, "text": text,
                                            "tokenizer": tokenizer, "processor": processor,
                                            "mask_prompts": mask_prompts}.items()
                             if v is not None)}
        return {"prediction": answer_text(letter, n_seg),
                "prediction_masks": seg_masks(self, frames, n_seg)}
