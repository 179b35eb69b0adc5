"""Download models and the dataset with huggingface_hub (resumable, cache-aware)."""

from __future__ import annotations

import sys


def _fetch(repo_id: str, repo_type: str, **kw) -> str:
    from huggingface_hub import snapshot_download

    return snapshot_download(repo_id=repo_id, repo_type=repo_type, **kw)


def download(models: list[str], dataset: str | None, cache_dir: str | None,
             revision: str | None, local_dir: str | None = None) -> int:
    """Fetch each repo in turn; one failure is reported and the others still download."""
    if not models and not dataset:
        print("nothing to download: give --model ID (repeatable) and/or --dataset",
              file=sys.stderr)
        return 2
    jobs = [(m, "model", {"revision": revision}) for m in models]
    if dataset:
        jobs.append((dataset, "dataset", {"local_dir": local_dir} if local_dir else {}))
    failed = 0
    for repo_id, repo_type, extra in jobs:
        print(f"downloading {repo_type} {repo_id} ...", flush=True)
        try:
            path = _fetch(repo_id, repo_type, cache_dir=cache_dir,
                          **{k: v for k, v in extra.items() if v})
        except Exception as exc:  # noqa: BLE001 - hub errors come in many types
            failed += 1
            print(f"  failed: {explain(exc)}", file=sys.stderr)
            continue
        print(f"  done: {path}")
    return 1 if failed else 0


def explain(exc: Exception) -> str:
    """A hub failure in words a user can act on."""
    name = type(exc).__name__
    text = str(exc).splitlines()[0] if str(exc) else name
    if "Offline" in name or "offline" in text.lower():
        return (f"{text} (HF_HUB_OFFLINE is set; unset it to download, or point --model at a "
                "local folder)")
    if any(k in name for k in ("Connect", "Timeout", "LocalEntryNotFound")) or \
            "connect" in text.lower():
        return (f"cannot reach the Hugging Face hub ({name}: {text}); check the network or "
                "HF_ENDPOINT, or copy the files over and pass their folder to --model")
    if "RepositoryNotFound" in name or "404" in text:
        return f"no such repository ({text}); check the id with `dynbench families`"
    if "GatedRepo" in name or "401" in text or "403" in text:
        return f"access denied ({text}); accept the model's licence and `hf auth login`"
    return f"{name}: {text}"
