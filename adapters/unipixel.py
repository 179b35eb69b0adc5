"""UniPixel (``PolyU-ChenLab/UniPixel-{3B,7B}``): QA and referring segmentation.

UniPixel loads through its own package, not through transformers' remote code. Its inference
entry point is ``tools/inference.py`` in GitHub ``PolyU-ChenLab/UniPixel`` (mirrored by the
paper's ``utils/unipixel_helper.py`` in ``Dynamics-X/Thinking-in-Dynamics``)::

    from unipixel.model.builder import build_model
    from unipixel.dataset.utils import process_vision_info
    from unipixel.utils.transforms import get_sam2_transform
    model, processor = build_model(path, attn_implementation=..., device=..., dtype=...)
    messages = [{"role": "user", "content": [
        {"type": "video", "video": frame_paths, "min_pixels": 128 * 28 * 28,
         "max_pixels": 256 * 28 * 28 * max(1, 16 // T)}, {"type": "text", "text": prompt}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    images, videos, kw = process_vision_info(messages, return_video_kwargs=True)
    data = processor(text=[text], images=images, videos=videos, return_tensors="pt", **kw)
    data["frames"] = [get_sam2_transform(model.config.sam2_image_size)(frames_uint8_THWC)]
    data["frame_size"] = [(H, W)]
    model.seg = []
    ids = model.generate(**data.to(device), do_sample=False, max_new_tokens=512, ...)
    model.seg  # one bool mask (1, T, H, W) per emitted <|seg|>, at the frames' full size

The package is imported through :func:`import_unipixel` only: the seam where tests provide a
stand-in package (``dynbench/tiny/standins/unipixel_pkg``), which is also what stand-in
checkpoints (``--model tiny:unipixel``) load with.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from dynbench.adapters import loading
from dynbench.adapters import remote_common as rc
from dynbench.adapters.base import MASK, QA, Adapter, MaskRequest, QARequest, Segmentation, Video

REPO = "https://github.com/PolyU-ChenLab/UniPixel"
INSTALL = (
    "UniPixel needs its own code, which is not on PyPI (the PyPI project named 'unipixel' is an "
    "unrelated NeoPixel test tool). Install it with:\n"
    f"  git clone {REPO}\n"
    "  pip install -r UniPixel/requirements.txt\n"
    "  export PYTHONPATH=$PWD/UniPixel:$PYTHONPATH\n"
    "(its requirements pin transformers 4.53.3; a separate environment is safest)."
)
MIN_PIXELS = 128 * 28 * 28
GREEDY = {"do_sample": False, "temperature": None, "top_k": None, "top_p": None,
          "repetition_penalty": None}


class UniPixelMissing(ImportError):
    """The UniPixel package (or one of its dependencies) cannot be imported."""


@dataclass(frozen=True)
class UniPixelAPI:
    """The three UniPixel entry points inference uses."""

    build_model: Any
    process_vision_info: Any
    get_sam2_transform: Any


def import_unipixel() -> UniPixelAPI:
    """Import UniPixel's real entry points, or raise one error that says how to install it."""
    try:
        from unipixel.dataset.utils import process_vision_info
        from unipixel.model.builder import build_model
        from unipixel.utils.transforms import get_sam2_transform
    except ImportError as exc:
        raise UniPixelMissing(f"{INSTALL}\nImport error: {exc}") from exc
    return UniPixelAPI(build_model, process_vision_info, get_sam2_transform)


def is_standin_checkpoint(spec: Any) -> bool:
    """A tiny stand-in folder (``dynbench.tiny``) says so in its config.json."""
    config = spec.path / "config.json" if spec.path is not None else None
    if config is None or not config.is_file():
        return False
    return bool(json.loads(config.read_text()).get("dynbench_standin"))


def import_standin_unipixel() -> UniPixelAPI:
    """The stand-in package for stand-in checkpoints (``--model tiny:unipixel``).

    A stand-in checkpoint cannot be loaded by the real package, so its package is put first
    on ``sys.path``; a real ``unipixel`` imported earlier in this process is an error.
    """
    from dynbench.tiny.remote import UNIPIXEL_STANDIN_PATH

    if str(UNIPIXEL_STANDIN_PATH) not in sys.path:
        sys.path.insert(0, str(UNIPIXEL_STANDIN_PATH))
    api = import_unipixel()
    if not getattr(sys.modules.get("unipixel"), "STANDIN", False):
        raise UniPixelMissing("this is a stand-in UniPixel checkpoint, but the real unipixel "
                              "package is already imported; run it in a fresh process")
    return api


def max_pixels(num_frames: int) -> int:
    """The paper's per-frame budget: 256x28x28, scaled up for clips shorter than 16 frames."""
    return 256 * 28 * 28 * max(1, 16 // max(1, num_frames))


def frame_items(video: Video) -> list[Any]:
    """Frame paths as the paper passes them; the decoded frames when paths do not match."""
    if len(video.paths) == len(video.frames) and all(p.is_file() for p in video.paths):
        return [str(p) for p in video.paths]
    return list(video.frames)


def sam2_frames(frames: list[Image.Image]) -> np.ndarray:
    """Full-resolution uint8 (T, H, W, 3) for the SAM2 head; odd-sized frames -> frame 0's size."""
    size = frames[0].size
    return np.stack([np.asarray(f.convert("RGB").resize(size) if f.size != size
                                else f.convert("RGB")) for f in frames])


def video_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``{"fps": [x]}`` -> ``{"fps": x}`` for our single video.

    UniPixel's ``process_vision_info`` returns one fps per video; transformers 4.53 (its pin)
    accepts the list, transformers 5 only a number. Both mean the same for one video.
    """
    fps = kwargs.get("fps")
    if isinstance(fps, (list, tuple)) and len(fps) == 1:
        return {**kwargs, "fps": fps[0]}
    return kwargs


def messages_for(video: Video, prompt: str) -> list[dict[str, Any]]:
    entry = {"type": "video", "video": frame_items(video), "min_pixels": MIN_PIXELS,
             "max_pixels": max_pixels(len(video))}
    return [{"role": "user", "content": [entry, {"type": "text", "text": prompt}]}]


class UniPixelAdapter(Adapter):
    """UniPixel through its own package; masks from the first ``<|seg|>`` output."""

    family: ClassVar[str] = "unipixel"
    capabilities: ClassVar[frozenset[str]] = frozenset({QA, MASK})
    generation_defaults: ClassVar[dict[str, Any]] = {**GREEDY, "max_new_tokens": 512}

    def __init__(self, spec: Any) -> None:
        super().__init__(spec)
        self.api: UniPixelAPI | None = None
        self.model: Any = None
        self.processor: Any = None
        self.facts: dict[str, Any] = {}

    def load(self) -> None:
        standin = is_standin_checkpoint(self.spec)
        self.api = import_standin_unipixel() if standin else import_unipixel()
        loading.set_allocator_defaults()
        device = loading.resolve_device(self.spec)
        dtype = loading.resolve_dtype(self.spec, device)
        attention = loading.resolve_attention(self.spec, device)
        where = "all" if self.spec.device_map is not None else device
        with loading.timed(self.facts, "load_s"):
            self.model, self.processor = self.api.build_model(
                loading.model_source(self.spec), attn_implementation=attention, device=where,
                dtype=dtype)
        self.facts.update(rc.base_facts(self.model, self.spec, device), attention=attention,
                          unipixel_package="stand-in" if standin else "real",
                          sam2_image_size=getattr(self.model.config, "sam2_image_size", None))

    def _inputs(self, video: Video, prompt: str) -> Any:
        import torch

        messages = messages_for(video, prompt)
        text = self.processor.apply_chat_template(messages, add_generation_prompt=True)
        images, videos, kwargs = self.api.process_vision_info(messages, return_video_kwargs=True)
        data = self.processor(text=[text], images=images, videos=videos, return_tensors="pt",
                              **video_kwargs(kwargs))
        frames = torch.from_numpy(sam2_frames(video.frames))
        transform = self.api.get_sam2_transform(self.model.config.sam2_image_size)
        data["frames"] = [transform(frames).to(self.model.sam2.dtype)]
        data["frame_size"] = [frames.shape[1:3]]
        return data

    def _run(self, video: Video, prompt: str) -> tuple[str, list[Any]]:
        import torch

        data = self._inputs(video, prompt)
        device = next(self.model.parameters()).device
        generation = rc.generation_settings(self.generation_defaults, self.spec)
        self.model.seg = []
        with rc.oom_guard(), torch.no_grad():
            ids = self.model.generate(**data.to(device), **generation)
        new = ids[0, data["input_ids"].size(1):]
        if len(new) and new[-1] == self.processor.tokenizer.eos_token_id:
            new = new[:-1]
        text = self.processor.decode(new, clean_up_tokenization_spaces=False)
        return text, list(self.model.seg or [])

    def answer(self, video: Video, request: QARequest) -> str:
        return self._run(video, request.prompt)[0]

    def segment(self, video: Video, request: MaskRequest) -> Segmentation:
        text, seg = self._run(video, request.prompt)
        if not seg:
            return rc.no_mask(text)
        stack = rc.mask_stack(seg[0], len(video), "UniPixel model.seg[0]")
        notes = [f"{len(seg)} <|seg|> masks; scored the first"] if len(seg) > 1 else []
        return Segmentation(masks=stack, text=text, notes=notes)

    def describe(self) -> dict[str, Any]:
        kind = "smoke" if rc.is_standin(self.model) else self.kind
        settings = {"frames": "frame paths", "min_pixels": MIN_PIXELS,
                    "max_pixels": "256*28*28*max(1, 16//T)", "masks": "model.seg[0]",
                    "generation": rc.generation_settings(self.generation_defaults, self.spec)}
        return {**super().describe(), "kind": kind, **self.facts, "settings": settings}

    def close(self) -> None:
        self.model = self.processor = None
        loading.free_cuda_cache()
