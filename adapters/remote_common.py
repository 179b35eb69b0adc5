"""Helpers shared by the remote-code adapters (Sa2VA, InternVL chat, LLaVA-OV-1.5, UniPixel).

Remote-code checkpoints differ from transformers-native ones in two ways that matter here:
their classes often declare no SDPA support (transformers then refuses
``attn_implementation="sdpa"`` outright), and their outputs (mask stacks, decoded text) come
in each project's own shapes. The helpers below keep those decisions in one place.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from dynbench.adapters import loading
from dynbench.adapters.base import Segmentation
from dynbench.modelspec import ModelSpec

NO_MASK = "no mask produced"
_ATTN_REFUSALS = ("does not support", "scaled_dot_product_attention", "flash attention")


class MisalignedOutput(RuntimeError):
    """A model returned masks that cannot be matched one-to-one with the frames it was shown."""


def _refused_attention(exc: ValueError, kwargs: Mapping[str, Any]) -> bool:
    text = str(exc).lower()
    return "attn_implementation" in kwargs and any(s in text for s in _ATTN_REFUSALS)


def load_pretrained(auto_cls: Any, spec: ModelSpec, device: str, **extra: Any) -> Any:
    """``auto_cls.from_pretrained`` with the shared policy, tolerant of remote attention code.

    When the attention was chosen automatically (``auto``) and the remote class refuses it
    (e.g. Sa2VA and InternVL declare flash-attention support only), load again without
    ``attn_implementation`` so the model's own code picks its attention, and say so once.
    An attention the user asked for explicitly is never silently replaced.
    """
    kwargs = {**loading.model_kwargs(spec, device), **extra}
    source = loading.model_source(spec)
    try:
        return auto_cls.from_pretrained(source, **kwargs)
    except ValueError as exc:
        if spec.attn_implementation != "auto" or not _refused_attention(exc, kwargs):
            raise
        loading.say_once(f"{source}: remote code refuses attention "
                         f"{kwargs['attn_implementation']!r}; using the model's own default")
        kwargs.pop("attn_implementation")
        return auto_cls.from_pretrained(source, **kwargs)


def load_preprocessor(auto_cls: Any, spec: ModelSpec, device: str, **extra: Any) -> Any:
    """Tokenizer or processor from the same source and with the same hub options."""
    kwargs = {**loading.pretrained_kwargs(spec, device, attention=False), **extra}
    return auto_cls.from_pretrained(loading.model_source(spec), **kwargs)


def base_facts(model: Any, spec: ModelSpec, device: str) -> dict[str, Any]:
    """Report facts every remote adapter shares."""
    config = getattr(model, "config", None)
    return {"device": device, "dtype": str(getattr(model, "dtype", "")).replace("torch.", ""),
            "device_map": spec.device_map, "source": loading.model_source(spec),
            "architectures": list(getattr(config, "architectures", None) or []),
            "attention": getattr(config, "_attn_implementation", None),
            **loading.gpu_facts()}


def is_standin(model: Any) -> bool:
    """Stand-in checkpoints (dynbench.tiny) mark their config so reports never call them real."""
    return bool(getattr(getattr(model, "config", None), "dynbench_standin", False))


@contextmanager
def oom_guard() -> Iterator[None]:
    """Free cached CUDA memory after an out-of-memory error, then let it propagate."""
    try:
        yield
    except Exception as exc:
        if loading.is_oom(exc):
            loading.free_cuda_cache()
        raise


def to_numpy(value: Any) -> np.ndarray:
    """Tensors (any device, any dtype) and array-likes to a numpy array."""
    if hasattr(value, "detach"):
        value = value.detach().float().cpu() if value.dtype.is_floating_point else \
            value.detach().cpu()
        return value.numpy()
    return np.asarray(value)


def mask_stack(raw: Any, num_frames: int, source: str) -> np.ndarray:
    """One object's masks as bool (T, H, W), checked against the number of frames shown.

    Leading singleton axes (UniPixel's (1, T, H, W)) are dropped. A mask stack whose T differs
    from the frames shown cannot be aligned with ground truth frame by frame, so it is an
    error rather than a silent truncation. Spatial size is kept as the model returned it.
    """
    arr = to_numpy(raw)
    while arr.ndim > 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 2 and num_frames == 1:
        arr = arr[None]
    if arr.ndim != 3:
        raise MisalignedOutput(f"{source} returned a mask of shape {arr.shape}; expected "
                               f"(T, H, W) with T = {num_frames} frames")
    if arr.shape[0] != num_frames:
        raise MisalignedOutput(f"{source} returned masks for {arr.shape[0]} frames but was "
                               f"shown {num_frames}; refusing to guess the alignment")
    return arr > 0 if arr.dtype != np.bool_ else arr


def no_mask(text: str) -> Segmentation:
    return Segmentation(masks=None, text=text, notes=[NO_MASK])


def accepted_kwargs(fn: Any, inputs: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Split processor outputs into those ``fn`` accepts and the names it would reject.

    Processors of newer transformers emit keys (``second_per_grid_ts``, ``mm_token_type_ids``)
    that older remote-code ``forward`` signatures do not know; ``generate`` then raises.
    """
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(inputs), []
    keep = {k: v for k, v in inputs.items() if k in params}
    return keep, sorted(set(inputs) - set(keep))


def generation_settings(defaults: Mapping[str, Any], spec: ModelSpec) -> dict[str, Any]:
    """Family defaults (the paper's settings), then the user's ``generation`` overrides."""
    return {**defaults, **(spec.generation or {})}
