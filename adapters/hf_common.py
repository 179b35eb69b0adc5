"""Shared machinery for transformers-native chat VLMs (Qwen-VL families, InternVL ``-hf``).

One adapter class runs the whole path: chat messages -> the checkpoint's own chat template
-> its processor -> ``generate`` -> decode -> family post-processing. A family subclass only
declares small settings (system prompt, prompt suffix, generation defaults, answer
post-processing) and three hooks: how frames are prepared, how the user turn is laid out,
and which visual keyword arguments the processor gets. Ground truth never reaches it.

Throughput for questions about one video run back to back lives in two mixins:
``preprocess_cache`` (a video's processor tensors computed once, the next video's warmed in
the background) and ``prefix_cache`` (the shared prompt prefix prefilled once, each question
prefilling only its suffix). ``answer_logits`` is a different protocol (``--qa-mode
logits``): no generation; the option letter whose first token has the highest next-token
logit after the prompt.
"""

from __future__ import annotations

import inspect
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ClassVar

from PIL import Image

from dynbench.adapters import loading
from dynbench.adapters.base import QA, Adapter, QARequest, Video
from dynbench.adapters.prefix_cache import SEQUENCE_KEYS as SEQUENCE_KEYS
from dynbench.adapters.prefix_cache import PrefixCacheMixin, _Prefix
from dynbench.adapters.preprocess_cache import FEATURE_ENTRIES as FEATURE_ENTRIES
from dynbench.adapters.preprocess_cache import (
    PreprocessCacheMixin,
    _VisualRecorder,
    install_recorder,
)

SAMPLING_KEYS = ("temperature", "top_p", "top_k")
# ``generation`` keys that configure the adapter rather than ``generate``
ADAPTER_KEYS = ("prefix_cache", "preprocess_cache")
THINK_END = "</think>"
_BOXED = re.compile(r"\\boxed\s*\{")
_REFERENCE_BOXED = re.compile(r"\\boxed\{([^}]+)\}")  # the official Spatial-SSRL regex
# decoding settings reported as ``generation_effective``
EFFECTIVE_KEYS = ("max_new_tokens", "do_sample", "temperature", "top_p", "top_k",
                  "repetition_penalty", "num_beams")


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


def reference_after_last_think(text: str) -> str:
    """The official VST post-processing: text after the last ``</think>`` (stripped), else
    the text unchanged."""
    return text.split(THINK_END)[-1].strip() if THINK_END in text else text


def reference_boxed_or_after_think(text: str) -> str:
    """The official Spatial-SSRL post-processing: the first ``\\boxed{`` followed by one or
    more non-``}`` characters up to the first ``}`` (so ``\\boxed{\\text{B}}`` gives
    ``\\text{B``), else the official VST rule."""
    match = _REFERENCE_BOXED.search(text)
    return match.group(1) if match else reference_after_last_think(text)


def unchanged(text: str) -> str:
    """The decoded text as it is (the official code returns it so for most families)."""
    return text


def generation_settings(defaults: dict[str, Any], overrides: dict[str, Any],
                        protocol: str = "fair") -> dict[str, Any]:
    """What ``generate`` gets: the family's official settings, then the user's ``generation``.

    ``reference``: exactly the official keyword arguments (``max_new_tokens``, sometimes
    ``do_sample``); everything else comes from the checkpoint's ``generation_config``, as in
    the official code. ``fair``: greedy unless asked otherwise; greedy decoding clears the
    checkpoint's sampling knobs (Qwen ships e.g. ``top_k=1``, ``temperature=0.1``) so
    transformers neither warns nor mixes them in; other settings of the checkpoint's
    generation config (e.g. ``repetition_penalty``) still apply.
    """
    if protocol == "reference":
        return {**defaults, **overrides}
    settings = {"do_sample": False, **defaults, **overrides}
    if not settings["do_sample"]:
        for key in SAMPLING_KEYS:
            settings.setdefault(key, None)
    return settings


def effective_generation(model: Any, settings: dict[str, Any]) -> dict[str, Any]:
    """The decoding settings ``generate`` ends up with: the checkpoint's ``generation_config``
    under the explicit ``settings`` (for the report)."""
    config = getattr(model, "generation_config", None)
    merged = {key: getattr(config, key, None) for key in EFFECTIVE_KEYS}
    merged.update({k: v for k, v in settings.items() if k in EFFECTIVE_KEYS})
    return merged


def accepts_kwarg(processor: Any, name: str) -> bool:
    """Whether a (video/image) processor declares a call keyword in this transformers."""
    valid = getattr(processor, "valid_kwargs", None)
    return name in getattr(valid, "__annotations__", {})


def option_letters(options: tuple[str, ...] | list[str]) -> list[str]:
    """The letters of ``"A. text"`` option lines, in order."""
    return [option.split(".", 1)[0].strip().upper() for option in options]


class HFChatAdapter(PreprocessCacheMixin, PrefixCacheMixin, Adapter):
    """A chat VLM loaded with ``AutoModelForImageTextToText`` + ``AutoProcessor``.

    ``last_call`` keeps what the model was actually given on the latest ``answer`` (the
    rendered prompt, frame count and sizes, visual token count, which path ran, the generated
    token ids) for tests and reports.
    """

    family: ClassVar[str] = "hf_chat"
    capabilities: ClassVar[frozenset[str]] = frozenset({QA})
    kind: ClassVar[str] = "model"
    model_class: ClassVar[str] = "AutoModelForImageTextToText"
    system_prompt: ClassVar[str | None] = None  # None: the chat template's own default
    prompt_suffix: ClassVar[str] = ""  # appended to the benchmark prompt
    # the official generation keyword arguments (``generation_settings`` adds fair's greedy)
    generation_defaults: ClassVar[dict[str, Any]] = {"max_new_tokens": 512}
    postprocess: ClassVar[Callable[[str], str]] = staticmethod(strip_text)
    # the official code's post-processing, used under ``--protocol reference``
    reference_postprocess: ClassVar[Callable[[str], str]] = staticmethod(unchanged)

    def __init__(self, spec: Any) -> None:
        super().__init__(spec)
        self.model: Any = None
        self.processor: Any = None
        self.device = "cpu"
        overrides = dict(spec.generation or {})
        self.prefix_cache = bool(overrides.pop("prefix_cache", True))
        self.preprocess_cache = bool(overrides.pop("preprocess_cache", True))
        self.protocol = getattr(spec, "protocol", "fair")
        self.generation = generation_settings(self.generation_defaults, overrides, self.protocol)
        self.finish = self.reference_postprocess if self.protocol == "reference" \
            else self.postprocess
        self._prefix_off: str | None = None  # why the prefix cache cannot run
        self.facts: dict[str, Any] = {"protocol": self.protocol,
                                      "generation": dict(self.generation), **self.settings(),
                                      "preprocess_cache": self.preprocess_cache,
                                      "qa_path": self._path_setting()}
        self.last_call: dict[str, Any] = {}
        self.stats = {"preprocessed": 0, "prefix_built": 0, "prefix_reused": 0, "plain": 0}
        self._recorder: _VisualRecorder | None = None
        self._features: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
        self._frames: OrderedDict[tuple, Any] = OrderedDict()
        self._features_lock = threading.Lock()
        self._prefix: _Prefix | None = None
        self._warm_pool: ThreadPoolExecutor | None = None
        self._warm_future: Future | None = None

    # --- family hooks -------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """Declarative family settings, reported with every run."""
        finish = self.reference_postprocess if getattr(self, "protocol", "fair") == \
            "reference" else self.postprocess
        return {"system_prompt": self.system_prompt, "prompt_suffix": self.prompt_suffix,
                "postprocess": finish.__name__}

    def prepare_frames(self, video: Video) -> Any:
        """The frames handed to the processor (family rules: sizing, sampling, even counts);
        computed once per video (``PreprocessCacheMixin.frames_for``)."""
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
            model = loading.place(model, spec, self.device)
            processor = transformers.AutoProcessor.from_pretrained(
                source, **loading.pretrained_kwargs(spec, self.device))
        self.attach(model, processor)

    def attach(self, model: Any, processor: Any) -> None:
        """Use an already built model and processor (``load`` ends here; benchmarks build
        full-size random-weight models from a config and hand them over this way)."""
        self.model, self.processor = model, processor
        self._recorder = install_recorder(processor) if self.preprocess_cache else None
        self._prefix_off = self._prefix_unsupported()
        self.facts["qa_path"] = self._path_setting()
        if self._prefix_off and self.prefix_cache:
            self.facts["prefix_cache_off"] = self._prefix_off
        self.facts.update(self._load_facts())

    def _load_facts(self) -> dict[str, Any]:
        model = self.model
        return {"dtype": str(model.dtype).removeprefix("torch."),
                "generation_effective": effective_generation(model, self.generation),
                "attention": getattr(model.config, "_attn_implementation", None),
                "device": str(model.device), "device_map": self.spec.device_map,
                "model_class": type(model).__name__,
                "processor_class": type(self.processor).__name__, **loading.gpu_facts()}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), **self.facts, "cache_stats": dict(self.stats)}

    def close(self) -> None:
        if self._warm_pool is not None:
            self._warm_pool.shutdown(wait=True, cancel_futures=True)
            self._warm_pool = self._warm_future = None
        self._prefix = None
        self._features.clear()
        self._frames.clear()
        self.model = self.processor = None
        loading.free_cuda_cache()

    # --- inference ----------------------------------------------------------------------
    def answer(self, video: Video, request: QARequest) -> str:
        return self._guarded(self._answer, video, request)

    def answer_logits(self, video: Video, request: QARequest) -> str:
        """``--qa-mode logits``: the option letter with the highest next-token logit.

        A different protocol from ``answer``: nothing is generated; after the same prompt
        (chat template, generation header) the logit of each option letter's first token
        (``"A"``, ``"B"``...) is read and the best letter returned. ``last_call`` keeps the
        scores.
        """
        return self._guarded(self._answer_logits, video, request)

    def _guarded(self, method: Callable[[Video, QARequest], str], video: Video,
                 request: QARequest) -> str:
        if self.model is None:
            raise RuntimeError(f"{type(self).__name__}.answer() called before load()")
        try:
            return method(video, request)
        except Exception as exc:
            if loading.is_oom(exc):
                self._prefix = None
                loading.free_cuda_cache()
            raise

    def _answer(self, video: Video, request: QARequest) -> str:
        inputs, key = self._inputs(video, request)
        raw = self._cached(inputs, key, self._generate_cached, self.generate)
        self.last_call["raw_output"] = raw
        return self.finish(raw)

    def _answer_logits(self, video: Video, request: QARequest) -> str:
        letters = option_letters(request.options)
        if not letters:
            raise ValueError(f"{request.case_id}: logits mode needs options")
        tokenizer = getattr(self.processor, "tokenizer", self.processor)
        token_ids = [tokenizer.encode(letter, add_special_tokens=False)[0] for letter in letters]
        inputs, key = self._inputs(video, request)
        logits = self._cached(inputs, key, self._logits_cached, self.next_token_logits)
        scores = logits[token_ids].float().tolist()
        best = letters[max(range(len(letters)), key=scores.__getitem__)]
        self.last_call.update(letter_scores=dict(zip(letters, scores, strict=True)),
                              letter_token_ids=token_ids, raw_output=best)
        return best

    def _inputs(self, video: Video, request: QARequest) -> tuple[Any, tuple]:
        frames = self.frames_for(video)
        prompt = self.render_prompt(request.prompt + self.prompt_suffix, frames)
        visual = self.visual_inputs(frames, video)
        key = self.visual_key(video, visual)
        inputs = self._process(prompt, visual, key)
        self.last_call = {"case_id": request.case_id, "prompt": prompt,
                          "input_tokens": int(inputs["input_ids"].shape[1]),
                          **self.received(inputs, frames)}
        if "video_metadata" in visual:
            self.last_call["video_metadata"] = visual["video_metadata"][0]
        return inputs, key

    def render_prompt(self, text: str, frames: list[Image.Image]) -> str:
        """The full model prompt through the checkpoint's own chat template."""
        messages = []
        if self.system_prompt is not None:
            messages.append({"role": "system",
                             "content": [{"type": "text", "text": self.system_prompt}]})
        messages.append({"role": "user", "content": self.user_content(text, frames)})
        return self.processor.apply_chat_template(messages, tokenize=False,
                                                  add_generation_prompt=True)

    # --- plain path -----------------------------------------------------------------------
    def generate(self, inputs: Any) -> str:
        """Generate with the merged settings; decode only the new tokens."""
        import torch

        inputs = self._to_model(inputs)
        self._seed_if_sampling()
        with torch.inference_mode():
            out = self.model.generate(**inputs, **self.generation)
        return self._decode(out, inputs["input_ids"].shape[1])

    def _seed_if_sampling(self) -> None:
        """Seed before a sampled generation (the user's or the checkpoint's ``do_sample``), so
        a run is reproducible and both QA paths draw the same tokens."""
        import torch

        config = getattr(self.model, "generation_config", None)
        if self.generation.get("do_sample", getattr(config, "do_sample", False)):
            torch.manual_seed(self.spec.seed)

    def next_token_logits(self, inputs: Any) -> Any:
        """Logits of the token after the whole prompt, from one plain forward pass."""
        import torch

        with torch.inference_mode():
            out = self.model(**self._to_model(inputs), **self._keep_last())
        return out.logits[0, -1]

    def _decode(self, out: Any, prompt_length: int) -> str:
        new_tokens = out[0, prompt_length:]
        self.last_call["generated_ids"] = new_tokens.tolist()
        return self.processor.decode(new_tokens, skip_special_tokens=True,
                                     clean_up_tokenization_spaces=False)  # as the official code

    def _keep_last(self) -> dict[str, Any]:
        params = inspect.signature(self.model.forward).parameters
        return {"logits_to_keep": 1} if "logits_to_keep" in params else {}

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
