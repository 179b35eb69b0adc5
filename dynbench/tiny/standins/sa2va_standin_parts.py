"""Torch-only parts of the Sa2VA stand-ins (NOT the real Sa2VA), like the real ``sam2.py``.

Each stand-in model is assembled from :func:`build_parts`, and the tiny-checkpoint builder
writes its weights from the same function without importing the model modules (those
import what the real ones import, which transformers 5 lacks). The SAM2 stand-in keeps the
real traits the adapter meets: frames resized to 1024x1024, normalised in bfloat16, state
held on ``torch.device("cuda")``, memory moved with ``.cuda()`` / ``.to(state device)``,
inference under CUDA autocast, one logit map per frame of the whole video.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

LETTERS = "ABCD"
LLM_FRAMES = 5  # the real predict_forward shows only the first 5 frames to the LLM
SAM_SIZE = 1024  # SAM2 input side, hard-coded in the real code
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MASK_GAIN = 40.0  # mask logit = MASK_GAIN * (R - G) / 255 on raw pixels


class StandInLM(nn.Module):
    """Token and visual features -> an option letter (stands in for the LLM)."""

    def __init__(self, hidden: int, vocab: int) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, hidden)
        self.answer_head = nn.Linear(hidden, len(LETTERS))

    def letter(self, visual: torch.Tensor, ids: torch.Tensor) -> str:
        ids = ids.clamp(max=self.embed_tokens.num_embeddings - 1)
        feats = torch.tanh(visual + self.embed_tokens(ids.reshape(-1)).mean(0))
        return LETTERS[int(self.answer_head(feats).argmax())]


class StandInVision(nn.Module):
    """A patch-embedding convolution on 448x448 tiles (as InternViT's first layer)."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.patch_embedding = nn.Conv2d(3, hidden, kernel_size=56, stride=56)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.patch_embedding(pixel_values).mean(dim=(0, 2, 3))


class StandInQwenVL(nn.Module):
    """Flattened Qwen-VL patches -> features, plus the LLM stand-in (the real ``self.model``)."""

    def __init__(self, hidden: int, vocab: int, patch_dim: int) -> None:
        super().__init__()
        self.visual = nn.Linear(patch_dim, hidden)
        self.lm = StandInLM(hidden, vocab)


class StandInSam2(nn.Module):
    """Stands in for SAM2: a 1x1 convolution per frame, state kept "on cuda" like the real."""

    def __init__(self) -> None:
        super().__init__()
        self.mask_head = nn.Conv2d(3, 1, kernel_size=1)
        self.hidden_dim = 1

    def preprocess_image(self, image: torch.Tensor, dtype=torch.bfloat16) -> torch.Tensor:
        image = image / 255.0
        mean = torch.tensor(IMAGENET_MEAN, dtype=dtype, device=image.device)[:, None, None]
        std = torch.tensor(IMAGENET_STD, dtype=dtype, device=image.device)[:, None, None]
        return (image - mean) / std

    def get_sam2_embeddings(self, images: torch.Tensor) -> dict[str, Any]:
        return {"images": images, "num_frames": len(images), "memory": [],
                "device": torch.device("cuda"), "storage_device": torch.device("cuda")}

    def language_embd_inference(self, state: dict[str, Any], language_embd: list) -> torch.Tensor:
        """(T, 1, 1024, 1024) logits for every frame; prompts cover the first frames only."""
        out = []
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            for i in range(state["num_frames"]):
                image = state["images"][i].cuda().unsqueeze(0)
                sign = language_embd[min(i, len(language_embd) - 1)]
                logits = self.mask_head(image) * sign.to(image.dtype)
                state["memory"].append(logits.to(torch.bfloat16).to(state["storage_device"]))
                out.append(logits)
        return torch.cat(out)


def resize_for_sam(frame: Any) -> torch.Tensor:
    """The real ``DirectResize(1024)``: PIL resize (bicubic) to 1024x1024, uint8 (3, H, W)."""
    arr = np.array(frame.convert("RGB").resize((SAM_SIZE, SAM_SIZE)))
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous()


def build_parts(config: Any) -> dict[str, nn.Module]:
    """The stand-in's submodules by attribute name, for the model and the builder alike."""
    hidden, vocab = int(config.hidden_size), int(config.vocab_size)
    parts: dict[str, nn.Module] = {"grounding_encoder": StandInSam2()}
    if hasattr(config, "llm_config"):
        parts.update(vision_model=StandInVision(hidden), language_model=StandInLM(hidden, vocab))
    else:
        vision = config.vision_config
        patch_dim = 3 * int(vision.get("temporal_patch_size", 2)) * int(vision["patch_size"]) ** 2
        parts["model"] = StandInQwenVL(hidden, vocab, patch_dim)
    return parts


def set_red_over_green(sam: StandInSam2) -> None:
    """Mask logit = MASK_GAIN * (R - G) / 255, undoing the ImageNet normalisation."""
    with torch.no_grad():
        weight = [MASK_GAIN * IMAGENET_STD[0], -MASK_GAIN * IMAGENET_STD[1], 0.0]
        sam.mask_head.weight.copy_(torch.tensor(weight).reshape(1, 3, 1, 1))
        sam.mask_head.bias.fill_(MASK_GAIN * (IMAGENET_MEAN[0] - IMAGENET_MEAN[1]))


def frames_of(image: Any, video: Any) -> list[Image.Image]:
    frames = [image] if video is None else list(video)
    if not frames or not all(isinstance(f, Image.Image) for f in frames):
        raise TypeError("predict_forward expects PIL images (video=[PIL.Image, ...])")
    return frames


def check_text(text: str, past_text: str, mask_prompts: Any) -> None:
    if mask_prompts is not None:
        raise NotImplementedError("the stand-in does not emulate visual prompts")
    if "<image>" in text:
        assert past_text is None or len(past_text) == 0


def seg_masks(model: Any, frames: list[Image.Image], n_seg: int) -> list[np.ndarray]:
    """The real mask path: SAM2 on every frame at 1024, logits resized to frame 0's size."""
    sam = model.grounding_encoder
    g_pixels = torch.stack([sam.preprocess_image(resize_for_sam(f)) for f in frames])
    g_pixels = g_pixels.to(torch.bfloat16)
    width, height = frames[0].size
    masks = []
    for k in range(n_seg):
        sign = torch.tensor(1.0 if k % 2 == 0 else -1.0)
        state = sam.get_sam2_embeddings(g_pixels)
        logits = sam.language_embd_inference(state, [sign] * min(LLM_FRAMES, len(frames)))
        logits = F.interpolate(logits, size=(height, width), mode="bilinear",
                               align_corners=False)[:, 0]
        out = (logits.sigmoid() > 0.5).cpu().numpy()
        drop = int(model.config.standin_drop_frames)
        masks.append(out[:-drop] if drop else out)
    return masks


def answer_text(letter: str, n_seg: int) -> str:
    return f"{letter}." + " [SEG]" * n_seg + "<|im_end|>"
