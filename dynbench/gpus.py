"""One GPU (or ``--gpus-per-worker K``) per xdist worker.

The controller never touches CUDA; each worker narrows ``CUDA_VISIBLE_DEVICES`` to its own
slice in ``pytest_configure``, before torch is imported, so a model loaded on "cuda" lands on
that worker's GPUs and ``device_map="auto"`` spreads only over them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import warnings


def parse_gpu_list(text: str | None) -> list[str] | None:
    if not text:
        return None
    ids = [g.strip() for g in text.split(",") if g.strip()]
    if not ids:
        raise ValueError(f"--gpus {text!r} names no GPU")
    return ids


def visible_gpus(explicit: list[str] | None) -> list[str]:
    """--gpus, else CUDA_VISIBLE_DEVICES, else the GPUs nvidia-smi lists (none: CPU)."""
    if explicit:
        return explicit
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip()]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [str(i) for i, line in enumerate(out.stdout.splitlines()) if line.startswith("GPU")]


def worker_index(worker_id: str) -> int:
    m = re.search(r"(\d+)$", worker_id)
    return int(m.group(1)) if m else 0


def worker_slice(pool: list[str], index: int, per_worker: int) -> list[str]:
    """GPUs of worker ``index``; more workers than GPU slices share them round-robin."""
    if not pool:
        return []
    slices = max(1, len(pool) // per_worker)
    if index >= slices:
        warnings.warn(f"xdist worker {index} shares GPUs: {len(pool)} GPU(s) give only "
                      f"{slices} slice(s) of {per_worker}; use -n {slices}", stacklevel=1)
    start = (index % slices) * per_worker
    return pool[start:start + per_worker]


def pin_worker(worker_id: str, pool: list[str], per_worker: int) -> list[str]:
    chosen = worker_slice(pool, worker_index(worker_id), per_worker)
    if chosen:
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(chosen)
    return chosen
