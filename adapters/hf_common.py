"""Shared machinery for transformers-native chat VLMs (Qwen-VL families, InternVL ``-hf``).

One adapter class runs the whole path: chat messages -> the checkpoint's own chat template
-> its processor -> ``generate`` -> decode -> family post-processing. A family subclass only
declares small settings (system prompt, prompt suffix, generation defaults, answer
post-processing) and three hooks: how frames are prepared, how the user turn is laid out,
and which visual keyword arguments the processor gets. Ground truth never reaches it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from PIL import Image

from dynbench.adapters import loading
from dynbench.adapters.base import QA, Adapter, QARequest, Video

SAMPLING_KEYS = ("temperature", "top_p", "top_k")
THINK_END = "</think>"
_BOXED = re.compile(r"\\boxed\s*\{")


def strip_text(text: str) -> str:
    """Default post-processing: the decoded text without surrounding whitespace."""
    return text.strip()


def after_last_think(text: str) -> str:
    """Text after the last ``</think>``; the whole text when the model did not think."""
    return text.rsplit(THINK_END, 1)[-1].strip()


def first_boxed(text: str) -> str | None:
    """Content of the first ``\\boxed{...}``, nested braces allowed; None if absent or open."""
    match = _BOXED.search(text)
    if match is None:
        return None
    depth, start = 1, match.end()
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start:i].strip()
    return None


def boxed_or_after_think(text: str) -> str:
    """Reasoning-format answer: the first ``\\boxed{}`` content, else text after ``</think>``."""
    boxed = first_boxed(text)
    return boxed if boxed is not None else after_last_think(text)


def generation_settings(defaults: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Family defaults updated by the user's ``generation``; greedy unless asked otherwise.

    Greedy decoding clears the checkpoint's sampling knobs (Qwen ships e.g. ``top_k=1``,
    ``temperature=0.1``) so transformers neither warns nor mixes them in; other settings of
    the checkpoint's generation config (e.g. ``repetition_penalty``) still apply.
    """
    settings = {"do_sample": False, **defaults, **overrides}
    if not settings["do_sample"]:
        for key in SAMPLING_KEYS:
            settings.setdefault(key, None)
    return settings


def pad_to_multiple(frames: list[Image.Image], multiple: int) -> list[Image.Image]:
    """Repeat the last frame until the count is a multiple (qwen-vl-utils' even-count rule)."""
    if not frames:
        raise ValueError("a video needs at least one frame")
    missing = -len(frames) % multiple
    return list(frames) + [frames[-1]] * missing


def accepts_kwarg(processor: Any, name: str) -> bool:
    """Whether a (video/image) processor declares a call keyword in this transformers."""
    valid = getattr(processor, "valid_kwargs", None)
    return name in getattr(valid, "__annotations__", {})


class HFChatAdapter(Adapter):
    """A chat VLM loaded with ``AutoModelForImageTextToText`` + ``AutoProcessor``.

    ``last_call`` keeps what the model was actually given on the latest ``answer`` (the
    rendered prompt, frame count and sizes, visual token count) for tests and reports.
    """

    family: ClassVar[str] = "hf_chat"
    capabilities: ClassVar[frozenset[str]] = frozenset({QA})
    kind: ClassVar[str] = "model"
    model_class: ClassVar[str] = "AutoModelForImageTextToText"
    system_prompt: ClassVar[str | None] = None  # None: the chat template's own default
    prompt_suffix: ClassVar[str] = ""  # appended to the benchmark prompt
    generation_defaults: ClassVar[dict[str, Any]] = {"max_new_tokens": 512, "do_sample": False}
    postprocess: ClassVar[Callable[[str], str]] = staticmethod(strip_text)

    def __init__(self, spec: Any) -> None:
        super().__init__(spec)
        self.model: Any = None
        self.processor: Any = None
        self.device = "cpu"
        self.generation = generation_settings(self.generation_defaults, spec.generation or {})
        self.facts: dict[str, Any] = {"generation": dict(self.generation), **self.settings()}
        self.last_call: dict[str, Any] = {}

    # --- family hooks -------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """Declarative family settings, reported with every run."""
        return {"system_prompt": self.system_prompt, "prompt_suffix": self.prompt_suffix,
                "postprocess": self.postprocess.__name__}

    def prepare_frames(self, video: Video) -> list[Image.Image]:
        """The frames handed to the processor (family rules such as even counts)."""
        return list(video.frames)

    def user_content(self, text: str, frames: list[Image.Image]) -> list[dict[str, Any]]:
        """The user turn's content items: the video entry, then the question."""
        return [{"type": "video"}, {"type": "text", "text": text}]

    def visual_inputs(self, frames: list[Image.Image], video: Video) -> dict[str, Any]:
        """Processor keyword arguments carrying the frames."""
        return {"videos": [frames]}

    def received(self, inputs: Any, frames: list[Image.Image]) -> dict[str, Any]:
        """What the model was given, read back from the processor output."""
        return {"num_frames": len(frames)}

    # --- loading ------------------------------------------------------------------------
    def load(self) -> None:
        import transformers

        spec = self.spec
        loading.set_allocator_defaults()
        self.device = loading.resolve_device(spec)
        source = loading.model_source(spec)
        model_cls = getattr(transformers, self.model_class)
        with loading.timed(self.facts, "load_s"):
            model = model_cls.from_pretrained(source, **loading.model_kwargs(spec, self.device))
            self.model = loading.place(model, spec, self.device)
            self.processor = transformers.AutoProcessor.from_pretrained(
                source, **loading.pretrained_kwargs(spec, self.device))
        self.facts.update(self._load_facts())

    def _load_facts(self) -> dict[str, Any]:
        model = self.model
        return {"dtype": str(model.dtype).removeprefix("torch."),
                "attention": getattr(model.config, "_attn_implementation", None),
                "device": str(model.device), "device_map": self.spec.device_map,
                "model_class": type(model).__name__,
                "processor_class": type(self.processor).__name__, **loading.gpu_facts()}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), **self.facts}

    def close(self) -> None:
        self.model = self.processor = None
        loading.free_cuda_cache()

    # --- inference ----------------------------------------------------------------------
    def answer(self, video: Video, request: QARequest) -> str:
        if self.model is None:
            raise RuntimeError(f"{type(self).__name__}.answer() called before load()")
        try:
            return self._answer(video, request)
        except Exception as exc:
            if loading.is_oom(exc):
                loading.free_cuda_cache()
            raise

    def _answer(self, video: Video, request: QARequest) -> str:
        frames = self.prepare_frames(video)
        prompt = self.render_prompt(request.prompt + self.prompt_suffix, frames)
        inputs = self.processor(text=[prompt], return_tensors="pt",
                                **self.visual_inputs(frames, video))
        self.last_call = {"case_id": request.case_id, "prompt": prompt,
                          "input_tokens": int(inputs["input_ids"].shape[1]),
                          **self.received(inputs, frames)}
        raw = self.generate(inputs)
        self.last_call["raw_output"] = raw
        return self.postprocess(raw)

    def render_prompt(self, text: str, frames: list[Image.Image]) -> str:
        """The full model prompt through the checkpoint's own chat template."""
        messages = []
        if self.system_prompt is not None:
            messages.append({"role": "system",
                             "content": [{"type": "text", "text": self.system_prompt}]})
        messages.append({"role": "user", "content": self.user_content(text, frames)})
        return self.processor.apply_chat_template(messages, tokenize=False,
                                                  add_generation_prompt=True)

    def generate(self, inputs: Any) -> str:
        """Generate with the merged settings; decode only the new tokens."""
        import torch

        inputs = self._to_model(inputs)
        if self.generation.get("do_sample"):
            torch.manual_seed(self.spec.seed)
        with torch.inference_mode():
            out = self.model.generate(**inputs, **self.generation)
        new_tokens = out[0, inputs["input_ids"].shape[1]:]
        return self.processor.decode(new_tokens, skip_special_tokens=True)

    def _to_model(self, inputs: Any) -> dict[str, Any]:
        """Move tensors to the model's device; only pixel tensors take the model dtype."""
        import torch

        moved = {}
        for key, value in inputs.items():
            if isinstance(value, torch.Tensor):
                dtype = self.model.dtype if key.startswith("pixel_values") else None
                value = value.to(self.model.device, dtype=dtype)
            moved[key] = value
        return moved
