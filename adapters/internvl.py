"""InternVL3 / InternVL3.5.

``InternVLHFAdapter`` serves the transformers-native ``-hf`` checkpoints
(``OpenGVLab/InternVL3-*-hf``, ``OpenGVLab/InternVL3_5-*-HF``). The remote-code ``chat``
checkpoints get their own adapter in the section at the end of this module.
"""

from __future__ import annotations

from typing import Any, ClassVar

from PIL import Image

from dynbench.adapters.base import Video
from dynbench.adapters.hf_common import HFChatAdapter


def frame_prefix(n_frames: int, image_token: str) -> str:
    """InternVL's video chat convention: ``Frame1: <image>\\nFrame2: <image>\\n...``."""
    return "".join(f"Frame{i + 1}: {image_token}\n" for i in range(n_frames))


class InternVLHFAdapter(HFChatAdapter):
    """InternVL3/3.5 in transformers' native format, following the paper's protocol.

    Each frame is one image of a single tile (``crop_to_patches=False``: resized to the
    processor's tile size, 448x448 for the real checkpoints, no dynamic tiling), and the
    question is prefixed ``Frame{i}: <image>\\n`` per frame, as InternVL's own video chat
    example does (the processor expands each placeholder to ``<img>`` + context tokens +
    ``</img>``). No system prompt is added: the ``-hf`` chat template has none. Generation:
    greedy, 128 new tokens. Answer: the decoded text.
    """

    family: ClassVar[str] = "internvl_hf"
    generation_defaults: ClassVar[dict[str, Any]] = {"max_new_tokens": 128, "do_sample": False}

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "tiles_per_frame": 1}

    def user_content(self, text: str, frames: list[Image.Image]) -> list[dict[str, Any]]:
        prefix = frame_prefix(len(frames), self.processor.image_token)
        return [{"type": "text", "text": prefix + text}]

    def visual_inputs(self, frames: list[Image.Image], video: Video) -> dict[str, Any]:
        return {"images": frames, "crop_to_patches": False}

    def received(self, inputs: Any, frames: list[Image.Image]) -> dict[str, Any]:
        pixels = inputs["pixel_values"]
        height, width = (int(x) for x in pixels.shape[-2:])
        image_id = self.model.config.image_token_id
        return {"num_frames": len(frames), "tiles": int(pixels.shape[0]),
                "frame_sizes": [(width, height)] * int(pixels.shape[0]),
                "image_tokens": int((inputs["input_ids"] == image_id).sum())}


# --- remote-code chat (InternVLChatAdapter) ---
# Imports of this section stay here so the section can be read (and moved) on its own.
from dynbench.adapters import loading  # noqa: E402
from dynbench.adapters import remote_common as rc  # noqa: E402
from dynbench.adapters.base import QA, Adapter, QARequest  # noqa: E402

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _image_size(config: Any) -> int:
    """Tile side: ``force_image_size``, else the vision tower's ``image_size`` (448)."""
    vision = getattr(config, "vision_config", None)
    fallback = vision.get("image_size") if isinstance(vision, dict) else \
        getattr(vision, "image_size", None)
    return int(getattr(config, "force_image_size", None) or fallback or 448)


def tile_pixels(frames: list[Image.Image], size: int) -> Any:
    """One ``size`` x ``size`` tile per frame: bicubic resize, ImageNet mean/std.

    The paper's code runs InternVL's dynamic tiling with ``max_num=1``: the only grid is 1x1,
    so each frame becomes one tile, resized whole (PIL bicubic) to ``size`` x ``size``, and
    no thumbnail is added (that happens only for more than one tile); then the same bicubic
    resize (now a no-op), ``ToTensor`` and ImageNet normalisation. Returns (T, 3, size, size).
    """
    import torch
    import torchvision.transforms as T

    transform = T.Compose([
        T.Resize((size, size), interpolation=T.InterpolationMode.BICUBIC),
        T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    tiles = [frame.convert("RGB").resize((size, size), Image.Resampling.BICUBIC)
             for frame in frames]
    return torch.stack([transform(tile) for tile in tiles])


def chat_dtype(spec: Any, device: str) -> Any:
    """The dtype to load InternVL chat in: ``auto`` = bf16 as the paper's code (fp16 on a GPU
    without bf16); an explicit dtype is kept unless the model's own code casts weights away
    from it (checked after load, see ``remote_common.check_uniform_dtype``)."""
    import torch

    if spec.torch_dtype != "auto":
        return getattr(torch, spec.torch_dtype)
    if device.startswith("cuda") and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


class InternVLChatAdapter(Adapter):
    """InternVL3/3.5 remote-code checkpoints through their own ``model.chat``.

    Contract (``OpenGVLab/InternVL3-8B`` model card, video example; the paper's
    ``utils/run_qa_task.py``): ``AutoModel`` + ``AutoTokenizer`` with trust_remote_code;
    ``model.chat(tokenizer, pixel_values, "Frame1: <image>\\n...Frame{T}: <image>\\n" +
    prompt, generation_config, num_patches_list=[1] * T)``, one 448x448 tile per frame,
    greedy decoding, 128 new tokens. QA only. ``use_flash_attn`` (an ``__init__`` argument
    of the remote class) follows the shared attention policy. Dtype: :func:`chat_dtype`;
    InternVL3.5's code casts its projector to bf16, so it is refused in other dtypes.
    """

    family: ClassVar[str] = "internvl"
    capabilities: ClassVar[frozenset[str]] = frozenset({QA})
    generation_defaults: ClassVar[dict[str, Any]] = {"max_new_tokens": 128, "do_sample": False}

    def __init__(self, spec: Any) -> None:
        super().__init__(spec)
        self.model: Any = None
        self.tokenizer: Any = None
        self.image_size = 448
        self.facts: dict[str, Any] = {}

    def load(self) -> None:
        from transformers import AutoModel, AutoTokenizer

        loading.set_allocator_defaults()
        device = loading.resolve_device(self.spec)
        flash = loading.resolve_attention(self.spec, device) == "flash_attention_2"
        dtype = chat_dtype(self.spec, device)
        with loading.timed(self.facts, "load_s"):
            model = rc.load_pretrained(AutoModel, self.spec, device, use_flash_attn=flash,
                                       dtype=dtype)
            rc.check_uniform_dtype(model, self.spec, dtype)
            self.model = loading.place(model, self.spec, device)
            self.tokenizer = rc.load_preprocessor(AutoTokenizer, self.spec, device,
                                                  use_fast=False)
        self.image_size = _image_size(self.model.config)
        self.facts.update(rc.base_facts(self.model, self.spec, device), use_flash_attn=flash)

    def answer(self, video: Video, request: QARequest) -> str:
        import torch

        pixels = tile_pixels(video.frames, self.image_size)
        pixels = pixels.to(self.model.device, self.model.dtype)
        question = frame_prefix(len(video), "<image>") + request.prompt
        generation = rc.generation_settings(self.generation_defaults, self.spec)
        with rc.oom_guard(), torch.inference_mode():
            response = self.model.chat(self.tokenizer, pixels, question, dict(generation),
                                       num_patches_list=[1] * len(video), history=None,
                                       return_history=False)
        return str(response)

    def describe(self) -> dict[str, Any]:
        kind = "smoke" if rc.is_standin(self.model) else self.kind
        settings = {"tiles_per_frame": 1, "tile_size": self.image_size,
                    "prompt": "Frame{i}: <image>\\n per frame + prompt",
                    "generation": rc.generation_settings(self.generation_defaults, self.spec)}
        return {**super().describe(), "kind": kind, **self.facts, "settings": settings}

    def close(self) -> None:
        self.model = self.tokenizer = None
        loading.free_cuda_cache()
