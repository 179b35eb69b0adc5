"""Shared Hugging Face loading policy: dtype, attention, device placement, memory facts.

Every family loads through these helpers so that one place decides flash-attention vs SDPA,
``device_map="auto"`` for big models, and what the report says about the hardware.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import time
from contextlib import contextmanager
from typing import Any

from dynbench.modelspec import ModelSpec

log = logging.getLogger("dynbench")
_SAID: set[str] = set()


def say_once(message: str) -> None:
    """Log a loading decision once per process, not once per case."""
    if message not in _SAID:
        _SAID.add(message)
        log.warning(message)


def set_allocator_defaults() -> None:
    """Reduce fragmentation on long video runs unless the user chose otherwise."""
    os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")


def resolve_device(spec: ModelSpec) -> str:
    import torch

    if spec.device != "auto":
        return spec.device
    return "cuda" if torch.cuda.is_available() else "cpu"


def cuda_index(device: str) -> int | None:
    """The GPU index of ``cuda:N`` (None for ``cuda`` alone and for non-CUDA devices)."""
    kind, _, index = device.partition(":")
    return int(index) if kind == "cuda" and index else None


def set_current_cuda(device: str) -> None:
    """Make ``cuda:N`` the current device, for remote code that calls ``.cuda()``."""
    import torch

    index = cuda_index(device)
    if index is not None:
        torch.cuda.set_device(index)


@contextmanager
def current_cuda(device: str):
    """Run a block with ``cuda:N`` current, on whatever thread runs it (the setting is
    per thread), so bare ``.cuda()`` calls inside remote code land on that GPU."""
    import torch

    index = cuda_index(device)
    if index is None:
        yield
        return
    with torch.cuda.device(index):
        yield


def resolve_dtype(spec: ModelSpec, device: str):
    """auto = bf16 on a GPU that supports it, else fp16 on GPU, fp32 on CPU."""
    import torch

    if spec.torch_dtype != "auto":
        return getattr(torch, spec.torch_dtype)
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def resolve_attention(spec: ModelSpec, device: str) -> str:
    """flash_attention_2 when installed and on a GPU, else SDPA; said once."""
    wanted = spec.attn_implementation
    has_flash = importlib.util.find_spec("flash_attn") is not None
    if wanted == "flash_attention_2" and not has_flash:
        say_once("flash-attn is not installed (pip install flash-attn --no-build-isolation); "
                 "using SDPA attention instead")
        return "sdpa"
    if wanted != "auto":
        return wanted
    if has_flash and device.startswith("cuda"):
        return "flash_attention_2"
    say_once("attention: using SDPA (flash-attn not installed or not on a GPU)")
    return "sdpa"


def model_source(spec: ModelSpec) -> str:
    """The folder to load from, else the hub id."""
    return str(spec.path) if spec.path is not None else spec.name


def pretrained_kwargs(spec: ModelSpec, device: str, *, attention: bool = True) -> dict[str, Any]:
    """Keyword arguments for ``from_pretrained`` of model and processor alike."""
    kw: dict[str, Any] = {
        "trust_remote_code": spec.trust_remote_code,
        "local_files_only": spec.local_files_only or spec.path is not None,
    }
    if spec.cache_dir:
        kw["cache_dir"] = spec.cache_dir
    if spec.revision:
        kw["revision"] = spec.revision
    return kw


def model_kwargs(spec: ModelSpec, device: str) -> dict[str, Any]:
    """``from_pretrained`` arguments for the model weights."""
    kw = pretrained_kwargs(spec, device)
    kw["dtype"] = resolve_dtype(spec, device)
    kw["low_cpu_mem_usage"] = True
    kw["attn_implementation"] = resolve_attention(spec, device)
    if spec.device_map is not None:
        kw["device_map"] = spec.device_map
        if spec.max_memory:
            kw["max_memory"] = spec.max_memory
    return kw


def place(model, spec: ModelSpec, device: str):
    """Move to the device unless accelerate already dispatched it."""
    if spec.device_map is None:
        model = model.to(device)
    return model.eval()


@contextmanager
def timed(facts: dict[str, Any], key: str):
    start = time.perf_counter()
    yield
    facts[key] = round(time.perf_counter() - start, 3)


def gpu_facts() -> dict[str, Any]:
    """GPU name and memory for the report (empty on CPU)."""
    import torch

    if not torch.cuda.is_available():
        return {}
    i = torch.cuda.current_device()
    return {"gpu": torch.cuda.get_device_name(i),
            "gpu_memory_gb": round(torch.cuda.get_device_properties(i).total_memory / 2**30, 1)}


def reset_peak_memory() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def peak_memory_gb() -> float | None:
    import torch

    if not torch.cuda.is_available():
        return None
    return round(torch.cuda.max_memory_allocated() / 2**30, 3)


def is_oom(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def free_cuda_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
