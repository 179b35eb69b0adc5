"""UniPixel (``PolyU-ChenLab/UniPixel-{3B,7B}``): QA and referring segmentation.

UniPixel loads through its own package (GitHub ``PolyU-ChenLab/UniPixel``, not on PyPI), not
through transformers' remote code. Inputs follow the paper's evaluation code
(``Dynamics-X/Thinking-in-Dynamics``, ``utils/unipixel_helper.py``), the same for QA and masks::

    model, processor = build_model(path)               # bf16, UniPixel's default
    messages = [{"role": "user", "content": [
        {"type": "video", "video": frame_paths, "min_pixels": 128 * 28 * 28,
         "max_pixels": 256 * 28 * 28 * max(1, int(16 / T))},
        {"type": "text", "text": question}]}]          # QA prompt, or the bare mask question
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    images, videos, kw = process_vision_info(messages, return_video_kwargs=True)
    data = processor(text=[text], images=images, videos=videos, return_tensors="pt", **kw)
    data["frames"] = [get_sam2_transform(model.config.sam2_image_size)(frames_uint8_THWC)
                      .to(model.sam2.dtype)]          # full-resolution frames
    data["frame_size"] = [(H, W)]
    model.seg = []
    ids = model.generate(**data.to(device), do_sample=False, temperature=None, top_k=None,
                         top_p=None, repetition_penalty=None, max_new_tokens=512)
    ids = ids[0, len(prompt):]; drop a final eos; processor.decode(ids, clean_up_...=False)
    model.seg  # one bool mask (1, T, H, W) per emitted <|seg|>, at the frames' full size

The official code scores the frames of ``model.seg[0]`` (its later masks come after the first
T frames); so does this adapter. The package is imported only through
:func:`import_unipixel`, the seam where stand-in checkpoints (``--model tiny:unipixel``) get
the stand-in package ``dynbench/tiny/standins/unipixel_pkg``.

Dtype: UniPixel's ``build_model`` defaults to bfloat16 and the official evaluation keeps it, so
``--dtype auto`` is bf16 (fp16 on a GPU without bf16). No UniPixel code hard-codes a dtype
(frames are cast to ``model.sam2.dtype``): fp16 and fp32 are working overrides.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from dynbench.adapters import compat, loading
from dynbench.adapters import remote_common as rc
from dynbench.adapters.base import (
    MASK,
    QA,
    Adapter,
    LoadError,
    MaskRequest,
    QARequest,
    Segmentation,
    Video,
)

REPO = "https://github.com/PolyU-ChenLab/UniPixel"
INSTALL_CODE = (
    "UniPixel's code is not on PyPI (the PyPI project named 'unipixel' is an unrelated "
    "NeoPixel tool). Put a checkout of it on the Python path:\n"
    f"  git clone {REPO}\n"
    "  export PYTHONPATH=$PWD/UniPixel:$PYTHONPATH\n"
    "and install the packages it imports: pip install 'dynbench[unipixel]'")
INSTALL_DEPS = "pip install 'dynbench[unipixel]'"
# module UniPixel imports -> the pip package that provides it (dynbench[unipixel] has them)
UNIPIXEL_PACKAGES = {"nncore": "nncore", "hydra": "hydra-core", "omegaconf": "hydra-core",
                     "decord": "decord", "pycocotools": "pycocotools", "pandas": "pandas",
                     "pysrt": "pysrt", "tensordict": "tensordict", "termplotlib": "termplotlib",
                     "cv2": "opencv-python", "tabulate": "tabulate"}
CODE = "its code (the unipixel package)"
MIN_PIXELS = 128 * 28 * 28
GREEDY = {"do_sample": False, "temperature": None, "top_k": None, "top_p": None,
          "repetition_penalty": None}


class UniPixelMissing(LoadError, ImportError):
    """UniPixel's code cannot be imported: not on the path, or one of its imports failed."""


@dataclass(frozen=True)
class UniPixelAPI:
    """The three UniPixel entry points inference uses."""

    build_model: Any
    process_vision_info: Any
    get_sam2_transform: Any


def _not_found(exc: BaseException) -> str | None:
    """The top-level module a ModuleNotFoundError names, if that is what ``exc`` is."""
    name = getattr(exc, "name", None) if isinstance(exc, ModuleNotFoundError) else None
    return name.split(".")[0] if name else None


def import_failure(exc: BaseException) -> LoadError:
    """Say why ``import unipixel...`` failed: no checkout on the path, one of its packages
    missing, transformers 5, or its own code (named with file and line)."""
    too_new = compat.needs_transformers_4("UniPixel", CODE, exc)
    if too_new is not None:
        return too_new
    missing = _not_found(exc)
    if missing == "unipixel":
        if exc.name == "unipixel":  # type: ignore[attr-defined]
            return UniPixelMissing(f"UniPixel: cannot import 'unipixel'.\n{INSTALL_CODE}")
        found = getattr(sys.modules.get("unipixel"), "__path__", None)
        return UniPixelMissing(
            f"UniPixel: {exc} — the 'unipixel' found at {list(found or [])} is not UniPixel's "
            f"code (or an incomplete checkout).\n{INSTALL_CODE}")
    if missing == "sam2":
        return UniPixelMissing(
            f"UniPixel: {exc}. UniPixel ships its own modified SAM2 as the folder sam2/ next to "
            "unipixel/ in its checkout; put the checkout's root (not unipixel/) on PYTHONPATH, "
            "before any other 'sam2' package.")
    if missing is not None:
        package = UNIPIXEL_PACKAGES.get(missing, missing)
        return UniPixelMissing(
            f"UniPixel's code is on the path but its own import failed: {exc} (imported at "
            f"{compat.where(exc)}); UniPixel needs the package {package!r}.\n"
            f"Fix: {INSTALL_DEPS} (every package UniPixel imports)")
    return UniPixelMissing(f"UniPixel's own import failed: {type(exc).__name__}: {exc} (at "
                           f"{compat.where(exc)})")


def import_unipixel() -> UniPixelAPI:
    """Import UniPixel's real entry points, or raise one LoadError that says what to do."""
    try:
        from unipixel.dataset.utils import process_vision_info
        from unipixel.model.builder import build_model
        from unipixel.utils.transforms import get_sam2_transform
    except Exception as exc:
        raise import_failure(exc) from exc
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


def resolve_dtype(spec: Any, device: str) -> Any:
    """``auto``: bf16 as UniPixel's ``build_model`` (fp16 on a GPU without bf16); else asked."""
    import torch

    if spec.torch_dtype != "auto":
        return loading.resolve_dtype(spec, device)
    if device.startswith("cuda") and not torch.cuda.is_bf16_supported():
        loading.say_once("UniPixel: this GPU has no bfloat16 (UniPixel's dtype); using float16")
        return torch.float16
    return torch.bfloat16


def select_cuda_device(device: str) -> None:
    """Make ``"cuda"`` mean the chosen GPU: UniPixel's SAM2 puts some tensors on ``"cuda"``
    (the current device) when it is built, so ``--device cuda:1`` would also use GPU 0."""
    import torch

    if device.startswith("cuda:"):
        torch.cuda.set_device(device)


def max_pixels(num_frames: int) -> int:
    """The official per-frame budget: ``256*28*28 * max(1, int(16 / T))``."""
    return 256 * 28 * 28 * max(1, int(16 / num_frames))


def frame_items(video: Video) -> list[Any]:
    """Frame paths as the official code passes them; the decoded frames when paths do not match."""
    if len(video.paths) == len(video.frames) and all(Path(p).is_file() for p in video.paths):
        return [str(p) for p in video.paths]
    return list(video.frames)


def sam2_frames(frames: list[Image.Image]) -> np.ndarray:
    """Full-resolution uint8 (T, H, W, 3) for the SAM2 head; odd-sized frames -> frame 0's size.

    (The official code stacks the frames as they are, which fails on mixed sizes.)
    """
    size = frames[0].size
    return np.stack([np.asarray(f.convert("RGB").resize(size) if f.size != size
                                else f.convert("RGB")) for f in frames])


def messages_for(video: Video, prompt: str) -> list[dict[str, Any]]:
    entry = {"type": "video", "video": frame_items(video), "min_pixels": MIN_PIXELS,
             "max_pixels": max_pixels(len(video))}
    return [{"role": "user", "content": [entry, {"type": "text", "text": prompt}]}]


def decode_new_tokens(processor: Any, ids: Any, prompt_len: int) -> str:
    """The official decode: the new ids, without a final eos, special tokens kept."""
    new = ids[0, prompt_len:]
    if len(new) and new[-1] == processor.tokenizer.eos_token_id:
        new = new[:-1]
    return processor.decode(new, clean_up_tokenization_spaces=False)


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
        dtype = resolve_dtype(self.spec, device)
        attention = loading.resolve_attention(self.spec, device)
        where = "all" if self.spec.device_map is not None else device
        select_cuda_device(device)
        with loading.timed(self.facts, "load_s"):
            try:
                self.model, self.processor = self.api.build_model(
                    loading.model_source(self.spec), attn_implementation=attention,
                    device=where, dtype=dtype)
            except Exception as exc:
                compat.raise_load_error(self.spec.name, CODE, exc)
        self.facts.update(rc.base_facts(self.model, self.spec, device), attention=attention,
                          unipixel_package="stand-in" if standin else "real",
                          sam2_image_size=getattr(self.model.config, "sam2_image_size", None))

    def _inputs(self, video: Video, prompt: str) -> Any:
        import torch

        messages = messages_for(video, prompt)
        text = self.processor.apply_chat_template(messages, add_generation_prompt=True)
        images, videos, kwargs = self.api.process_vision_info(messages, return_video_kwargs=True)
        data = self.processor(text=[text], images=images, videos=videos, return_tensors="pt",
                              **kwargs)
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
        text = decode_new_tokens(self.processor, ids, data["input_ids"].size(1))
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
                    "max_pixels": "256*28*28*max(1, int(16/T))", "masks": "model.seg[0]",
                    "generation": rc.generation_settings(self.generation_defaults, self.spec)}
        return {**super().describe(), "kind": kind, **self.facts, "settings": settings}

    def close(self) -> None:
        self.model = self.processor = None
        loading.free_cuda_cache()
