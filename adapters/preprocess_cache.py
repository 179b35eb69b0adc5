"""Preprocessing cache of ``HFChatAdapter``: a video's processor tensors computed once.

Every question about a video hands the processor the same frames, so the image/video
sub-processors' output is recorded on the first question and replayed for the others
(keyed by ``Video.key``, the frame objects and indices and the pixel settings). ``warm``
computes it for the *next* video on a background thread while the model is busy. The
processor's own logic (kwargs merging, placeholder expansion) still runs on every call, so
the tokenized prompt is exactly what a plain call gives. ``generation: {preprocess_cache:
false}`` turns it off.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from dynbench.adapters.base import Video

log = logging.getLogger("dynbench")

FEATURE_ENTRIES = 2  # preprocessed videos kept: the current one and the warmed next one


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


class PreprocessCacheMixin:
    """The preprocessing cache and ``warm`` prefetch of ``HFChatAdapter``.

    Uses the host's ``processor``, ``stats`` and family hooks (``prepare_frames``,
    ``visual_inputs``, ``render_prompt``); its state is set up in the host's ``__init__``.
    """

    processor: Any
    stats: dict[str, int]
    _recorder: _VisualRecorder | None
    _features: OrderedDict[tuple, dict[str, Any]]
    _frames: OrderedDict[tuple, Any]
    _features_lock: threading.Lock
    _warm_pool: ThreadPoolExecutor | None
    _warm_future: Future | None

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
            frames = self.frames_for(video)
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

    def frames_for(self, video: Video) -> Any:
        """``prepare_frames(video)``, computed once per video (frame sizing such as
        qwen-vl-utils' resize is as costly as the processor itself); ``warm`` fills it too.
        Recomputed every time with the preprocessing cache off."""
        if self._recorder is None:
            return self.prepare_frames(video)
        key = (video.key, tuple(video.frame_indices), _Same(video.frames))
        with self._features_lock:
            frames = self._frames.get(key)
            if frames is not None:
                self._frames.move_to_end(key)
                return frames
        frames = self.prepare_frames(video)
        with self._features_lock:
            self._frames[key] = frames
            while len(self._frames) > FEATURE_ENTRIES:
                self._frames.popitem(last=False)
        return frames

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
