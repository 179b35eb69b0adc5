"""What a run ran, for report.json (``dynbench.run``) and the HTML header.

Code (dynbench version and git commit), environment (Python and package versions, host),
the model's exact identity (resolved hub commit, or a fingerprint of a local folder), the
devices each process used, xdist workers, and timing. Nothing here imports torch: versions
come from package metadata, devices from a torch that the model already imported.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

PACKAGES = ("torch", "torchvision", "transformers", "accelerate", "huggingface_hub",
            "qwen-vl-utils", "flash-attn", "numpy", "pytest", "pytest-xdist")


def package_versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def git_commit(package_dir: Path | None = None) -> dict[str, Any] | None:
    """The commit of the dynbench checkout this code runs from (None for an installed
    wheel): ``{"commit": sha, "dirty": bool}``."""
    here = package_dir or Path(__file__).resolve().parent
    try:
        top = _git(here, "rev-parse", "--show-toplevel")
        if top is None or Path(top, "dynbench", "__init__.py").resolve() != \
                here / "__init__.py":
            return None  # some other repository that merely contains an installed dynbench
        commit = _git(here, "rev-parse", "HEAD")
        status = _git(here, "status", "--porcelain", "--untracked-files=no")
    except OSError:
        return None
    return None if commit is None else {"commit": commit, "dirty": bool(status)}


def _git(cwd: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=10)
    except subprocess.TimeoutExpired:
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def environment() -> dict[str, Any]:
    from dynbench import __version__

    return {"dynbench": __version__, "git": git_commit(),
            "python": platform.python_version(), "platform": platform.platform(),
            "host": socket.gethostname(), "packages": package_versions(),
            "argv": [Path(sys.argv[0]).name, *sys.argv[1:]]}


def model_revision(spec) -> dict[str, Any]:
    """The revision asked for and what it resolved to: the hub commit of the cached
    snapshot, or a fingerprint (file names, sizes, times) of a local folder."""
    facts: dict[str, Any] = {"revision": spec.revision}
    folder = spec.path
    if folder is not None:
        from dynbench.resume import folder_fingerprint

        snapshot = folder.resolve()
        if snapshot.parent.name == "snapshots":
            facts["resolved_revision"] = snapshot.name
        facts["fingerprint"] = folder_fingerprint(folder)
    elif spec.hub_id:
        facts["resolved_revision"] = _cached_commit(spec)
    return facts


def _cached_commit(spec) -> str | None:
    try:
        from huggingface_hub import try_to_load_from_cache

        path = try_to_load_from_cache(spec.hub_id, "config.json", cache_dir=spec.cache_dir,
                                      revision=spec.revision)
    except Exception:  # noqa: BLE001 - a fact we could not learn is null, never a failure
        return None
    if not isinstance(path, str):
        return None
    parent = Path(path).parent
    return parent.name if parent.parent.name == "snapshots" else None


def process_devices() -> dict[str, Any]:
    """The GPUs this process sees (names), without importing torch."""
    facts: dict[str, Any] = {"pid": os.getpid(),
                             "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}
    torch = sys.modules.get("torch")
    try:
        if torch is not None and torch.cuda.is_available():
            facts["gpus"] = [torch.cuda.get_device_name(i)
                             for i in range(torch.cuda.device_count())]
    except Exception:  # noqa: BLE001
        pass
    return facts


def iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(timestamp))


def timing(started: float, finished: float, cases: int) -> dict[str, Any]:
    wall = max(finished - started, 1e-9)
    return {"started": iso(started), "finished": iso(finished), "wall_s": round(wall, 3),
            "cases_per_s": round(cases / wall, 3)}
