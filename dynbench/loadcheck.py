"""Fail fast: a model that cannot be used here stops the run once, before any case runs.

Without this, a model that cannot load fails every case with the same long traceback. Here
:func:`preflight` checks what needs no weights (the device exists, the family supports the
chosen options), and :func:`explain` turns whatever loading raised into one
:class:`LoadFailure`: the model or folder, the cause and the fix. The run then ends with exit
code :data:`dynbench.exitcodes.LOAD_FAILED` and its report says ``"status": "load_failed"``.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import asdict, dataclass
from typing import Any

from dynbench.adapters.base import LoadError
from dynbench.adapters.compat import exception_chain

CAUSE_CHARS = 600  # a cause longer than this is clipped; the full traceback is in the report
HUB_TIMEOUT_S = 5.0  # how long a hub that does not answer may take to say so
OFFLINE_CAUSE = ("its files are not in the local Hugging Face cache and the hub cannot be "
                 "reached")


@dataclass(frozen=True)
class LoadFailure:
    model: str  # what could not be loaded: "model X (family f)" or "predictions folder X"
    cause: str
    fix: str | None
    error_type: str
    traceback: str | None = None

    def headline(self) -> str:
        return f"dynbench: cannot load {self.model}: {self.cause.splitlines()[0]}"

    def lines(self) -> list[str]:
        out = [f"cannot load {self.model}", *(f"  cause: {line}" if i == 0 else f"         {line}"
                                              for i, line in enumerate(self.cause.splitlines()))]
        if self.fix:
            out.append(f"  fix:   {self.fix}")
        return out

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class LoadFailed(Exception):
    """Raised by the session when its model cannot be loaded; carries the explanation."""

    def __init__(self, failure: LoadFailure) -> None:
        super().__init__(failure.headline())
        self.failure = failure


# --- checks before loading ---------------------------------------------------------------


class Refused(LoadError):
    """A preflight refusal, with its cause and fix kept apart for the message."""

    def __init__(self, cause: str, fix: str) -> None:
        super().__init__(f"{cause}; {fix}")
        self.cause, self.fix = cause, fix


def preflight_spec(spec) -> None:
    """What can be refused before the adapter exists (a tiny model is not even built):
    the device, and a hub model the cache lacks while the hub is out of reach."""
    check_device(spec.device)
    check_hub_files(spec)


def preflight(adapter, *, qa_mode: str, needs_qa: bool) -> None:
    """What the adapter itself rules out, before its weights load; raises LoadError."""
    if qa_mode == "logits" and needs_qa and not hasattr(adapter, "answer_logits"):
        raise Refused(f"family {adapter.family} does not support --qa-mode logits (it cannot "
                      "rank the option letters by next-token logits)",
                      "use --qa-mode generate, or a family whose capabilities list 'logits' "
                      "(dynbench families)")


def check_device(device: str) -> None:
    """``--device`` must name a device that exists in this process."""
    if device in ("auto", "cpu"):
        return
    import torch

    try:
        wanted = torch.device(device)
    except (RuntimeError, ValueError):
        raise Refused(f"--device {device!r} is not a device name",
                      "use cuda, cuda:N or cpu") from None
    if wanted.type != "cuda":
        return
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    where = f" (CUDA_VISIBLE_DEVICES={visible!r})" if visible is not None else ""
    if not torch.cuda.is_available():
        raise Refused(f"--device {device}: no CUDA GPU is visible in this process{where}",
                      "use --device cpu, or run where a GPU is")
    count = torch.cuda.device_count()
    if wanted.index is not None and wanted.index >= count:
        raise Refused(f"--device {device}: only {count} GPU(s) visible{where}",
                      f"pick one of cuda:0{f'..cuda:{count - 1}' if count > 1 else ''}")


def check_hub_files(spec) -> None:
    """A hub model that is not in the local cache needs the hub: offline
    (``HF_HUB_OFFLINE``) or unreachable, say so in seconds, before torch and transformers
    are even imported and before their download retries run out."""
    if spec.path is not None or not spec.hub_id or spec.name.startswith("tiny:"):
        return
    try:
        from huggingface_hub import constants, try_to_load_from_cache

        cached = try_to_load_from_cache(spec.hub_id, "config.json", cache_dir=spec.cache_dir,
                                        revision=spec.revision)
        offline = constants.HF_HUB_OFFLINE
        endpoint = constants.ENDPOINT
    except Exception:  # noqa: BLE001 - the real load will tell
        return
    if isinstance(cached, str):
        return
    if offline:
        raise Refused(f"{OFFLINE_CAUSE} (HF_HUB_OFFLINE is set)", _hub_fix(spec.hub_id))
    problem = _unreachable(endpoint)
    if problem:
        raise Refused(f"{OFFLINE_CAUSE} ({endpoint}: {problem})", _hub_fix(spec.hub_id))


def _unreachable(endpoint: str) -> str | None:
    """Why the hub does not answer (through the proxies huggingface_hub uses), or None."""
    try:
        from huggingface_hub.utils import get_session

        get_session().head(endpoint, timeout=HUB_TIMEOUT_S)
    except ImportError:
        return None
    except Exception as exc:  # noqa: BLE001 - a HEAD raises only when nothing answered
        return f"not reachable ({type(exc).__name__})"
    return None


# --- explaining a failure ----------------------------------------------------------------


def _text(chain: list[BaseException]) -> str:
    return " ".join(f"{type(e).__name__}: {e}" for e in chain)


def _clip(text: str) -> str:
    text = text.strip() or "(no message)"
    return text if len(text) <= CAUSE_CHARS else text[:CAUSE_CHARS] + " [...]"


def _hub_fix(model_id: str | None) -> str:
    target = model_id or "ORG/NAME"
    return (f"download it where the hub is reachable: `dynbench download --model {target}` "
            "(add --cache-dir DIR and pass the same --cache-dir here), or pass a local "
            "checkpoint folder with --model /path/to/folder")


def explain(exc: BaseException, model: str, hub_id: str | None = None) -> LoadFailure:
    """One message for a failed load: what, why, and what to do."""
    chain = exception_chain(exc)
    text = _text(chain)
    lowered = text.lower()
    names = {type(e).__name__ for e in chain}
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-12))

    def failure(cause: str, fix: str | None) -> LoadFailure:
        return LoadFailure(model, _clip(cause), fix, type(exc).__name__, tb)

    if isinstance(exc, Refused):
        return failure(exc.cause, exc.fix)
    if isinstance(exc, LoadError):
        return failure(str(exc), None)  # the adapter's own message names cause and fix
    if type(exc).__name__ == "PredictionError":
        return failure(str(exc), "pass a report folder of an earlier run, or a folder in the "
                       "layout of README 'Saved predictions' (answers.jsonl, masks/)")
    if "LocalEntryNotFoundError" in names or any(s in lowered for s in (
            "couldn't connect", "offline mode", "cannot find the requested files in the local "
            "cache", "max retries exceeded", "name resolution", "connectionerror")):
        offline = os.environ.get("HF_HUB_OFFLINE") not in (None, "", "0")
        return failure(OFFLINE_CAUSE + (" (HF_HUB_OFFLINE is set)" if offline else ""),
                       _hub_fix(hub_id))
    if "GatedRepoError" in names or "401" in text or "gated" in lowered:
        return failure("the hub refuses access (a gated or private repository)",
                       "accept its licence on the hub and log in (`hf auth login`), or set "
                       "HF_TOKEN")
    if "RepositoryNotFoundError" in names or "not a valid model identifier" in lowered:
        return failure(f"no such model on the hub or on disk ({model})",
                       "check the id (org/name) or the folder path")
    if "RevisionNotFoundError" in names:
        return failure("the requested --revision does not exist", "check --revision")
    missing = next((e for e in chain if isinstance(e, ImportError)), None)
    if missing is not None:
        package = getattr(missing, "name", None)
        fix = f"pip install {package.split('.')[0]}" if package else "install the missing package"
        return failure(f"{type(missing).__name__}: {missing}", fix)
    if "out of memory" in lowered:
        return failure(f"out of memory while loading: {chain[0]}",
                       "use a smaller --dtype, or device_map: auto (+ max_memory) in a "
                       "--model-config to spread the model over GPUs")
    if "cuda" in lowered and any(s in lowered for s in ("not available", "no cuda gpus",
                                                         "not compiled", "invalid device")):
        return failure(f"{type(chain[0]).__name__}: {chain[0]}",
                       "use --device cpu, or run where a GPU is")
    return failure(f"{type(chain[0]).__name__}: {chain[0]}",
                   "see the traceback in the report (report.json: dynbench.load_error)")
