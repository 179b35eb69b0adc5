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

from dynbench.adapters import compat, loading
from dynbench.adapters.base import LoadError, Segmentation
from dynbench.modelspec import ModelSpec

NO_MASK = "no mask produced"
# Signatures of remote code written for transformers 4.x failing under 5.x: (text, cause)
TOO_NEW = (
    ("modeling_attn_mask_utils",
     "it imports transformers.modeling_attn_mask_utils, which transformers 5 removed"),
    ("all_tied_weights_keys",
     "its model class never calls post_init(), which transformers 5 requires"),
    ("MODEL_FOR_VISION_2_SEQ_MAPPING_NAMES",
     "it imports MODEL_FOR_VISION_2_SEQ_MAPPING_NAMES, which transformers 5 removed"),
)
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
    An attention the user asked for explicitly is never silently replaced. Any failure is a
    :class:`LoadError` that names its cause and fix (see :func:`load_failure`).
    """
    kwargs = {**loading.model_kwargs(spec, device), **extra}
    source = loading.model_source(spec)
    with remote_load_errors(spec):
        try:
            return auto_cls.from_pretrained(source, **kwargs)
        except ValueError as exc:
            if spec.attn_implementation != "auto" or not _refused_attention(exc, kwargs):
                raise
            loading.say_once(f"{source}: remote code refuses attention "
                             f"{kwargs['attn_implementation']!r}; using the model's own default")
            kwargs.pop("attn_implementation")
            return auto_cls.from_pretrained(source, **kwargs)


def load_failure(exc: BaseException, spec: ModelSpec) -> LoadError:
    """What a failure while loading remote code means, as one message with its fix.

    Read from the failure itself: a signature of code written for transformers 4.x (see
    ``TOO_NEW``) under transformers >= 5 gives the install command of the supported range;
    a missing package gives its ``pip install``; anything else keeps its own text.
    """
    version = compat.transformers_version()
    text = f"{type(exc).__name__}: {exc}"
    name = spec.hub_id or loading.model_source(spec)
    major = int(version.split(".")[0])
    for signature, cause in TOO_NEW:
        if signature in text and major >= 5:
            return LoadError(f"{name}: its remote code was written for transformers 4 and "
                             f"cannot run under transformers {version}: {cause} "
                             f"({text.splitlines()[0]}). "
                             f"Fix: {compat.INSTALL_TRANSFORMERS_4}")
    missing = compat.missing_package_names(exc, plain_imports=True)
    if missing:
        return compat.missing_packages_error(name, missing, exc)
    too_new = compat.removed_in_transformers_5(exc)
    if too_new:
        return LoadError(f"{name}: its remote code was written for transformers 4 and cannot "
                         f"run under transformers {version}: {too_new}. "
                         f"Fix: {compat.INSTALL_TRANSFORMERS_4}")
    hint = (f" This checkpoint's code was written for transformers 4.x; if that is the cause: "
            f"{compat.INSTALL_TRANSFORMERS_4}") if major >= 5 else ""
    return LoadError(f"{name}: loading failed under transformers {version}: {text}.{hint}")


@contextmanager
def remote_load_errors(spec: ModelSpec) -> Iterator[None]:
    """Turn any failure inside the block into the :class:`LoadError` that explains it."""
    try:
        yield
    except LoadError:
        raise
    except Exception as exc:
        raise load_failure(exc, spec) from exc


def fixed_dtype(spec: ModelSpec, device: str, why: str) -> Any:
    """bfloat16 for code that hard-codes it: ``auto`` and ``bf16`` give it, others are refused.

    ``why`` names the casts (shown in the message). A GPU that reports no bf16 support is
    refused as well, since the model's own code would cast to bf16 there anyway.
    """
    import torch

    name = spec.hub_id or loading.model_source(spec)
    if spec.torch_dtype not in ("auto", "bfloat16"):
        raise LoadError(f"{name}: --dtype {spec.torch_dtype} cannot work: its remote code "
                        f"hard-codes bfloat16 ({why}), so other dtypes fail with errors such as "
                        "'Input type (BFloat16) and bias type (float) should be the same'. "
                        "Fix: --dtype bf16 (or auto), as the paper's code runs it.")
    if device.startswith("cuda") and not torch.cuda.is_bf16_supported():
        raise LoadError(f"{name}: its remote code hard-codes bfloat16 ({why}), which this GPU "
                        "does not support. Fix: run on a GPU with bf16 (Ampere or newer).")
    return torch.bfloat16


def check_uniform_dtype(model: Any, spec: ModelSpec, requested: Any) -> None:
    """Refuse a model whose own code cast some weights away from the requested dtype.

    InternVL3.5's remote code casts its projector to bfloat16 in ``__init__``; loaded in
    fp32 the model then fails on its first input ("mixed dtype"). Found from the loaded
    weights, so checkpoints without such casts keep every dtype.
    """
    odd: dict[str, str] = {}
    for pname, param in model.named_parameters():
        if param.dtype != requested:
            odd.setdefault(pname.rsplit(".", 2)[0], str(param.dtype).replace("torch.", ""))
    if odd:
        name = spec.hub_id or loading.model_source(spec)
        parts = ", ".join(f"{k} ({v})" for k, v in list(odd.items())[:4])
        want = str(requested).replace("torch.", "")
        raise LoadError(f"{name}: loaded in {want}, but its remote code casts {parts} itself; "
                        "mixed dtypes fail on the first input ('mixed dtype'). "
                        f"Fix: --dtype {str(next(iter(odd.values())))} (or auto).")


def require_cuda(spec: ModelSpec, device: str, why: str) -> None:
    """Refuse, once at load, a checkpoint whose code cannot run a single case off CUDA."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return
    name = spec.hub_id or loading.model_source(spec)
    where = ("no CUDA GPU is visible here (torch.cuda.is_available() is False)"
             if not torch.cuda.is_available() else f"--device {device} was asked for")
    raise LoadError(f"{name}: its remote code needs a CUDA GPU ({why}), but {where}. "
                    "Fix: run on a machine with an NVIDIA GPU and a CUDA build of torch "
                    "(--device cuda or cuda:N), or score saved outputs with --predictions DIR.")


def load_preprocessor(auto_cls: Any, spec: ModelSpec, device: str, **extra: Any) -> Any:
    """Tokenizer or processor from the same source and with the same hub options."""
    kwargs = {**loading.pretrained_kwargs(spec, device, attention=False), **extra}
    with remote_load_errors(spec):
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
