"""Tiny random-weight models of each family's real architecture (``--model tiny:<family>``).

They let a user check in seconds that a family's loading and inference code runs end to end
in their environment, and let the suite's own tests run real model code offline. Results
from them are smoke results, never benchmark numbers.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import tempfile
from pathlib import Path

# family -> "module:function"; each function builds a checkpoint folder: fn(folder: Path) -> None
BUILDERS: dict[str, str] = {
    "qwen2_5_vl": "dynbench.tiny.native:build_qwen2_5_vl",
    "qwen3_vl": "dynbench.tiny.native:build_qwen3_vl",
    "qwen3_vl_moe": "dynbench.tiny.native:build_qwen3_vl_moe",
    "internvl_hf": "dynbench.tiny.native:build_internvl_hf",
    "vst": "dynbench.tiny.native:build_qwen2_5_vl",
    "spatial_ssrl": "dynbench.tiny.native:build_qwen2_5_vl",
    "spatial_ladder": "dynbench.tiny.native:build_qwen2_5_vl",
    "spacer": "dynbench.tiny.native:build_qwen2_5_vl",
    "sa2va": "dynbench.tiny.remote:build_sa2va",
    "sa2va_qwen": "dynbench.tiny.remote:build_sa2va_qwen",
    "internvl": "dynbench.tiny.remote:build_internvl_chat",
    "internvl3_5": "dynbench.tiny.remote:build_internvl3_5_chat",
    "llava_ov_1_5": "dynbench.tiny.remote:build_llava_ov_1_5",
    "unipixel": "dynbench.tiny.remote:build_unipixel",
}
# tiny:<name> whose adapter family differs from the builder name
ADAPTER_OF = {"qwen3_vl_moe": "qwen3_vl", "sa2va_qwen": "sa2va", "internvl3_5": "internvl"}


def tiny_names() -> list[str]:
    return sorted(BUILDERS)


def cache_root() -> Path:
    root = os.environ.get("DYNBENCH_TINY_CACHE")
    return Path(root) if root else Path(tempfile.gettempdir()) / "dynbench-tiny"


def build_tiny(name: str, folder: Path | None = None) -> Path:
    """Build (or reuse) the tiny checkpoint ``name`` and return its folder."""
    if name not in BUILDERS:
        raise ValueError(f"no tiny model {name!r}; choose from {', '.join(tiny_names())}")
    module, _, fn = BUILDERS[name].partition(":")
    builder = getattr(importlib.import_module(module), fn)
    if folder is None:
        version = _versions_key()
        folder = cache_root() / f"{name}-{version}"
    if (folder / "config.json").exists():
        return folder
    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    builder(tmp)
    try:
        tmp.rename(folder)
    except OSError:  # another process built it first
        pass
    return folder


def _versions_key() -> str:
    """Saved checkpoints are not always readable across transformers versions."""
    import torch
    import transformers

    text = f"{transformers.__version__}-{torch.__version__}"
    return hashlib.sha1(text.encode()).hexdigest()[:8]
