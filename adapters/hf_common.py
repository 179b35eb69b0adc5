"""Shared machinery for transformers-native chat VLMs (Qwen-VL families, InternVL ``-hf``).

One adapter class runs the whole path: chat messages -> the checkpoint's own chat template
-> its processor -> ``generate`` -> decode -> family post-processing. A family subclass only
declares small settings (system prompt, prompt suffix, generation defaults, answer
post-processing) and three hooks: how frames are prepared, how the user turn is laid out,
and which visual keyword arguments the processor gets. Ground truth never reaches it.

Throughput (questions about one video run back to back in the suite):

* **preprocessing cache**: the processor's video/image tensors of a video are computed once
  (keyed by ``Video.key``, the frame objects and indices and the pixel settings) and
  replayed for its other questions; ``warm(video)`` computes them for the *next* video on a
  background thread while the model is busy.
* **prefix cache**: the prompt up to and including the last visual token is identical for
  every question of a video. It is prefilled once (vision encoder included) and each
  question generates from a copy of that KV cache, prefilling only its own suffix tokens.
  Position ids (M-RoPE for Qwen-VL) are computed from the *full* input exactly as
  ``generate`` computes them for a fresh prompt and passed explicitly, so the cached path
  sees the same positions, tokens and settings as the plain path and gives the same greedy
  answers. ``generation: {prefix_cache: false}`` (and ``preprocess_cache: false``) in the
  model config select the plain per-question path; ``describe()`` says which ran.
* ``answer_logits``: a different protocol (``--qa-mode logits``): no generation; the option
  letter whose first token has the highest next-token logit after the prompt.
"""

from __future__ import annotations

import copy
import inspect
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from PIL import Image

from dynbench.adapters import loading
from dynbench.adapters.base import QA, Adapter, QARequest, Video

log = logging.getLogger("dynbench")

SAMPLING_KEYS = ("temperature", "top_p", "top_k")
# ``generation`` keys that configure the adapter rather than ``generate``
ADAPTER_KEYS = ("prefix_cache", "preprocess_cache")
# processor outputs aligned with ``input_ids`` (sliced with it for the prefix)
SEQUENCE_KEYS = ("input_ids", "attention_mask", "mm_token_type_ids", "token_type_ids")
FEATURE_ENTRIES = 2  # preprocessed videos kept: the current one and the warmed next one
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


def option_letters(options: tuple[str, ...] | list[str]) -> list[str]:
    """The letters of ``"A. text"`` option lines, in order."""
    return [option.split(".", 1)[0].strip().upper() for option in options]


# --- preprocessing cache ------------------------------------------------------------------
class _Recorded(Exception):
    """Raised inside the processor once the visual tensors are recorded (``warm`` only)."""


class _VisualRecorder:
    """Per-thread switch shared by the proxies of one processor's image/video processors.

    Modes: none (plain pass-through), ``record`` (run the real sub-processor and keep its
    output), ``replay`` (return the kept output instead of running it) and ``abort`` (record,
    then stop the processor call: ``warm`` needs the tensors, not the tokenized text).
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self.calls = 0  # real sub-processor calls, all threads

    def state(self) -> tuple[str, dict[str, Any], frozenset[str]] | None:
        return getattr(self._local, "state", None)

    @contextmanager
    def active(self, mode: str, store: dict[str, Any],
               expect: frozenset[str] = frozenset()) -> Iterator[dict[str, Any]]:
        """Switch this thread's proxies to ``mode`` with ``store`` for the block."""
        self._local.state = (mode, store, expect)
        try:
            yield store
        finally:
            self._local.state = None

    def count(self) -> None:
        with self._lock:
            self.calls += 1


class _SubProcessorProxy:
    """Stands in for ``processor.video_processor`` / ``image_processor``; see ``_VisualRecorder``.

    Every attribute is the real sub-processor's, so the processor's own logic (kwargs merging,
    placeholder expansion from the returned grids and metadata) runs unchanged.
    """

    def __init__(self, inner: Any, name: str, recorder: _VisualRecorder) -> None:
        self.__dict__.update(_inner=inner, _name=name, _recorder=recorder)

    def __getattr__(self, attr: str) -> Any:
        if "_inner" not in self.__dict__:  # copy/pickle probing a bare instance
            raise AttributeError(attr)
        return getattr(self.__dict__["_inner"], attr)

    def __setattr__(self, attr: str, value: Any) -> None:
        setattr(self.__dict__["_inner"], attr, value)

    def __repr__(self) -> str:
        return repr(self.__dict__["_inner"])

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        inner, name, recorder = (self.__dict__[k] for k in ("_inner", "_name", "_recorder"))
        state = recorder.state()
        if state is not None and state[0] == "replay" and name in state[1]:
            return copy.copy(state[1][name])
        recorder.count()
        out = inner(*args, **kwargs)
        if state is None:
            return out
        mode, store, expect = state
        store[name] = out
        if mode == "abort" and expect <= set(store):
            raise _Recorded
        return copy.copy(out)  # the processor may add keys to what it gets back


def install_recorder(processor: Any) -> _VisualRecorder | None:
    """Put caching proxies in front of the processor's image and video processors."""
    existing = [getattr(processor, n, None) for n in ("image_processor", "video_processor")]
    for sub in existing:
        if isinstance(sub, _SubProcessorProxy):
            return sub.__dict__["_recorder"]
    recorder = _VisualRecorder()
    installed = False
    for name in ("image", "video"):
        sub = getattr(processor, f"{name}_processor", None)
        if sub is not None and callable(sub):
            setattr(processor, f"{name}_processor", _SubProcessorProxy(sub, name, recorder))
            installed = True
    return recorder if installed else None


class _Same:
    """Objects compared by identity, kept alive while a cache key holds them (so an id is
    never reused by another frame while the key exists); cheap to hash and compare."""

    __slots__ = ("objects",)

    def __init__(self, objects: Any) -> None:
        self.objects = tuple(objects)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and len(other.objects) == len(self.objects) and \
            all(a is b for a, b in zip(self.objects, other.objects, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(map(id, self.objects)))


@dataclass
class _Prefix:
    """The KV cache of one video's shared prompt prefix (one entry: the current video)."""

    key: tuple
    ids: Any  # 1-D CPU tensor of the prefix tokens
    cache: Any
    length: int


class HFChatAdapter(Adapter):
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
    generation_defaults: ClassVar[dict[str, Any]] = {"max_new_tokens": 512, "do_sample": False}
    postprocess: ClassVar[Callable[[str], str]] = staticmethod(strip_text)

    def __init__(self, spec: Any) -> None:
        super().__init__(spec)
        self.model: Any = None
        self.processor: Any = None
        self.device = "cpu"
        overrides = dict(spec.generation or {})
        self.prefix_cache = bool(overrides.pop("prefix_cache", True))
        self.preprocess_cache = bool(overrides.pop("preprocess_cache", True))
        self.generation = generation_settings(self.generation_defaults, overrides)
        self._prefix_off: str | None = None  # why the prefix cache cannot run
        self.facts: dict[str, Any] = {"generation": dict(self.generation), **self.settings(),
                                      "preprocess_cache": self.preprocess_cache,
                                      "qa_path": self._path_setting()}
        self.last_call: dict[str, Any] = {}
        self.stats = {"preprocessed": 0, "prefix_built": 0, "prefix_reused": 0, "plain": 0}
        self._recorder: _VisualRecorder | None = None
        self._features: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
        self._features_lock = threading.Lock()
        self._prefix: _Prefix | None = None
        self._warm_pool: ThreadPoolExecutor | None = None
        self._warm_future: Future | None = None

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
                "attention": getattr(model.config, "_attn_implementation", None),
                "device": str(model.device), "device_map": self.spec.device_map,
                "model_class": type(model).__name__,
                "processor_class": type(self.processor).__name__, **loading.gpu_facts()}

    def _path_setting(self) -> str:
        """``prefix_cache`` when questions reuse their video's prefix, else ``plain``."""
        return "prefix_cache" if self.prefix_cache and not self._prefix_off else "plain"

    def _prefix_unsupported(self) -> str | None:
        """Why the prefix cache cannot run with this model / transformers / settings."""
        if not self.prefix_cache:
            return "prefix_cache: false"
        model = self.model
        if not hasattr(model, "_prepare_position_ids_for_generation"):
            return "this transformers version has no _prepare_position_ids_for_generation"
        params = inspect.signature(model.forward).parameters
        if "position_ids" not in params or self._cache_kwarg() is None:
            return f"{type(model).__name__}.forward takes no position_ids or cache"
        if int(self.generation.get("num_beams") or 1) > 1 or \
                int(self.generation.get("num_return_sequences") or 1) > 1:
            return "beam search / several return sequences"
        return None

    def _cache_kwarg(self) -> str | None:
        params = inspect.signature(self.model.forward).parameters
        for name in ("cache", "past_key_values"):  # transformers >= 5.2x renamed it ``cache``
            if name in params:
                return name
        return None

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), **self.facts, "cache_stats": dict(self.stats)}

    def close(self) -> None:
        if self._warm_pool is not None:
            self._warm_pool.shutdown(wait=True, cancel_futures=True)
            self._warm_pool = self._warm_future = None
        self._prefix = None
        self._features.clear()
        self.model = self.processor = None
        loading.free_cuda_cache()

    # --- prefetch -------------------------------------------------------------------------
    def warm(self, video: Video | Callable[[], Video]) -> None:
        """Preprocess a video's frames on a background thread (one worker), for later.

        For the runner: when a case starts a new video and the next case (pytest's
        ``nextitem``) is a QA case on another video, call
        ``adapter.warm(lambda: runner.video(next_case))`` (if the adapter has ``warm``) before
        running the case. The callable decodes the frames on the worker through the
        thread-safe ``FrameCache`` (the same PIL objects the next case then gets), and the
        processor tensors are ready when its first ``answer`` comes; that ``answer`` waits
        for the job if it is still running. A plain ``Video`` works too. Failures are only
        logged: the case itself meets and reports them. A no-op with the preprocessing
        cache off; at most the current and the warmed video stay cached.
        """
        if self._recorder is None or self.processor is None:
            return
        if self._warm_pool is None:
            self._warm_pool = ThreadPoolExecutor(max_workers=1,
                                                 thread_name_prefix="dynbench-warm")
        self._warm_future = self._warm_pool.submit(self._warm_job, video)

    def _warm_job(self, video: Video | Callable[[], Video]) -> tuple | None:
        try:
            if callable(video) and not isinstance(video, Video):
                video = video()
            frames = self.prepare_frames(video)
            visual = self.visual_inputs(frames, video)
            key = self.visual_key(video, visual)
            with self._features_lock:
                if key in self._features:
                    return key
            expect = frozenset(n for n, k in (("image", "images"), ("video", "videos"))
                               if k in visual)
            prompt = self.render_prompt("", frames)
            store: dict[str, Any] = {}
            with self._recorder.active("abort", store, expect):
                try:
                    self.processor(text=[prompt], return_tensors="pt", **visual)
                except _Recorded:
                    pass
            if store:
                self._remember(key, store)
            return key
        except Exception as exc:  # noqa: BLE001 - the case itself will raise it again
            log.warning("dynbench: preprocessing the next video in the background failed: %s",
                        exc)
            return None

    def visual_key(self, video: Video, visual: dict[str, Any]) -> tuple:
        """Identity of a video's processor tensors: scene, frame objects and indices, and
        every processor setting (pixel budget, metadata); never the question."""
        settings = {k: v for k, v in visual.items() if k not in ("videos", "images")}
        return (video.key, tuple(video.frame_indices), _Same(video.frames),
                repr(sorted(settings.items())))

    def _remember(self, key: tuple, store: dict[str, Any]) -> None:
        with self._features_lock:
            self._features[key] = dict(store)
            self._features.move_to_end(key)
            while len(self._features) > FEATURE_ENTRIES:
                self._features.popitem(last=False)
            self.stats["preprocessed"] += 1

    def _lookup(self, key: tuple) -> dict[str, Any] | None:
        with self._features_lock:
            store = self._features.get(key)
            if store is not None:
                self._features.move_to_end(key)
            return store

    def _features_for(self, key: tuple) -> dict[str, Any] | None:
        store = self._lookup(key)
        future = self._warm_future
        if store is None and future is not None and not future.done():
            future.result()  # the job never raises; it may be preparing this very video
            store = self._lookup(key)
        return store

    def _process(self, prompt: str, visual: dict[str, Any], key: tuple) -> Any:
        """The processor output for one prompt, replaying the video's cached tensors."""
        if self._recorder is None:
            return self.processor(text=[prompt], return_tensors="pt", **visual)
        store = self._features_for(key)
        if store is not None:
            with self._recorder.active("replay", store):
                return self.processor(text=[prompt], return_tensors="pt", **visual)
        store = {}
        with self._recorder.active("record", store):
            inputs = self.processor(text=[prompt], return_tensors="pt", **visual)
        if store:
            self._remember(key, store)
        return inputs

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
        return self.postprocess(raw)

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
        frames = self.prepare_frames(video)
        prompt = self.render_prompt(request.prompt + self.prompt_suffix, frames)
        visual = self.visual_inputs(frames, video)
        key = self.visual_key(video, visual)
        inputs = self._process(prompt, visual, key)
        self.last_call = {"case_id": request.case_id, "prompt": prompt,
                          "input_tokens": int(inputs["input_ids"].shape[1]),
                          **self.received(inputs, frames)}
        return inputs, key

    def _cached(self, inputs: Any, key: tuple, cached: Callable, plain: Callable) -> Any:
        """Run the prefix-cache path when it can, else the plain one.

        Should the cached path raise where the plain path works (a model or transformers
        version it does not fit), the plain path answers and the prefix cache is switched
        off for the rest of the run, said once and recorded in ``describe()``.
        """
        split = None
        if self.prefix_cache and self._prefix_off is None:
            split = self.prefix_length(inputs["input_ids"])
        if split is not None:
            try:
                return cached(inputs, key, split)
            except Exception as exc:
                if loading.is_oom(exc):
                    raise
                self._prefix = None
                result = self._plain(inputs, plain)  # raises if the input itself is at fault
                self._prefix_off = f"{type(exc).__name__}: {exc}"
                self.facts.update(qa_path="plain", prefix_cache_off=self._prefix_off)
                loading.say_once(f"prefix cache switched off after an error (the plain path "
                                 f"works): {self._prefix_off}")
                return result
        return self._plain(inputs, plain)

    def _plain(self, inputs: Any, plain: Callable) -> Any:
        self.stats["plain"] += 1
        self.last_call["path"] = "plain"
        return plain(inputs)

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
        if self.generation.get("do_sample"):
            torch.manual_seed(self.spec.seed)
        with torch.inference_mode():
            out = self.model.generate(**inputs, **self.generation)
        return self._decode(out, inputs["input_ids"].shape[1])

    def next_token_logits(self, inputs: Any) -> Any:
        """Logits of the token after the whole prompt, from one plain forward pass."""
        import torch

        with torch.inference_mode():
            out = self.model(**self._to_model(inputs), **self._keep_last())
        return out.logits[0, -1]

    def _decode(self, out: Any, prompt_length: int) -> str:
        new_tokens = out[0, prompt_length:]
        self.last_call["generated_ids"] = new_tokens.tolist()
        return self.processor.decode(new_tokens, skip_special_tokens=True)

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

    # --- prefix-cache path ----------------------------------------------------------------
    def prefix_length(self, input_ids: Any) -> int | None:
        """Tokens up to and including the last visual placeholder; None without any."""
        import torch

        config = self.model.config
        ids = {getattr(config, name, None) for name in ("video_token_id", "image_token_id")}
        ids.discard(None)
        if not ids or input_ids.shape[0] != 1:
            return None
        hits = torch.isin(input_ids[0].cpu(), torch.tensor(sorted(ids))).nonzero()
        if len(hits) == 0 or int(hits.max()) + 1 >= input_ids.shape[1]:
            return None
        return int(hits.max()) + 1

    def positions(self, inputs: Any) -> Any:
        """Position ids of the full prompt, exactly as ``generate`` computes them for a fresh
        prompt (M-RoPE from the image/video grids for Qwen-VL), on the CPU."""
        ids = inputs["input_ids"]
        kwargs = {k: v for k, v in inputs.items() if k != "input_ids"}
        return self.model._prepare_position_ids_for_generation(ids, kwargs)

    def _prefix_cache(self, inputs: Any, key: tuple, split: int, positions: Any) -> Any:
        """A private copy of the video's prefix cache, prefilling the prefix if needed."""
        import torch

        ids = inputs["input_ids"][0, :split].cpu()
        prefix = self._prefix
        if prefix is not None and prefix.key == key and prefix.length == split \
                and torch.equal(prefix.ids, ids):
            self.stats["prefix_reused"] += 1
            self.last_call["prefix"] = "reused"
        else:
            self._prefix = prefix = None  # free the previous video's cache first
            prefix = _Prefix(key, ids, self._prefill(inputs, split, positions), split)
            self._prefix = prefix
            self.stats["prefix_built"] += 1
            self.last_call["prefix"] = "built"
        self.last_call.update(path="prefix_cache", prefix_tokens=split,
                              suffix_tokens=int(inputs["input_ids"].shape[1]) - split)
        return copy.deepcopy(prefix.cache)

    def _prefill(self, inputs: Any, split: int, positions: Any) -> Any:
        """Encode the frames and run the prompt prefix once; returns its KV cache."""
        import torch

        length = inputs["input_ids"].shape[1]
        part = {}
        for name, value in inputs.items():
            aligned = isinstance(value, torch.Tensor) and not value.is_floating_point() \
                and value.dim() == 2 and tuple(value.shape) == (1, length)
            part[name] = value[:, :split] if name in SEQUENCE_KEYS or aligned else value
        part = self._to_model(part)
        part["position_ids"] = positions[..., :split].to(self.model.device)
        with torch.inference_mode():
            out = self.model(**part, use_cache=True, **self._keep_last())
        cache = getattr(out, "cache", None)
        return cache if cache is not None else out.past_key_values

    def _suffix_kwargs(self, inputs: Any, key: tuple, split: int) -> dict[str, Any]:
        """Full-length ids, mask and positions plus a copy of the prefix cache: the model
        only runs the suffix tokens, at the positions a full prefill would give them."""
        positions = self.positions(inputs)
        cache = self._prefix_cache(inputs, key, split, positions)
        device = self.model.device
        kwargs = {"input_ids": inputs["input_ids"].to(device),
                  "position_ids": positions.to(device), self._cache_kwarg(): cache}
        if inputs.get("attention_mask") is not None:
            kwargs["attention_mask"] = inputs["attention_mask"].to(device)
        return kwargs

    def _generate_cached(self, inputs: Any, key: tuple, split: int) -> str:
        import torch

        kwargs = self._suffix_kwargs(inputs, key, split)
        if self.generation.get("do_sample"):
            torch.manual_seed(self.spec.seed)
        with torch.inference_mode():
            out = self.model.generate(**kwargs, **self.generation)
        return self._decode(out, kwargs["input_ids"].shape[1])

    def _logits_cached(self, inputs: Any, key: tuple, split: int) -> Any:
        import torch

        kwargs = self._suffix_kwargs(inputs, key, split)
        kwargs["input_ids"] = kwargs["input_ids"][:, split:]
        kwargs["position_ids"] = kwargs["position_ids"][..., split:]
        with torch.inference_mode():
            out = self.model(**kwargs, use_cache=True, **self._keep_last())
        return out.logits[0, -1]
