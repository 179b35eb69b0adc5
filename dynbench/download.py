"""Download models and the dataset with huggingface_hub (resumable, cache-aware).

The dataset is fetched into a folder (``--local-dir``), its zip archives are unpacked there
into the reader's ``frames/ masks/ multi_json/`` layout (:mod:`dynbench.archives`), the data
check runs, and the ``--data-dir`` to use is printed. Every step is resumable and a second
run does no work: huggingface_hub skips files it already has, and archives matching their
unpack stamp are not reopened. ``--dataset`` also takes a folder holding an already
downloaded snapshot (copied from another machine, say): it is unpacked in place, or into
``--local-dir``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

DEFAULT_DATASET = "yu2hi13/Dyn-Bench"  # the paper's data (apache-2.0)
TABLES = ("qa_tasks.parquet", "mask_tasks.parquet", "README.md")


def _fetch(repo_id: str, repo_type: str, **kw) -> str:
    from huggingface_hub import snapshot_download

    return snapshot_download(repo_id=repo_id, repo_type=repo_type, **kw)


def default_local_dir(dataset: str) -> Path:
    """Where a hub dataset is unpacked when no ``--local-dir`` is given."""
    base = Path(os.environ.get("DYNBENCH_HOME", Path.home() / ".cache" / "dynbench"))
    return base / "datasets" / dataset.replace("/", "--")


def download(models: list[str], dataset: str | None, cache_dir: str | None,
             revision: str | None, local_dir: str | None = None) -> int:
    """Fetch each repo in turn; one failure is reported and the others still download."""
    if not models and not dataset:
        print("nothing to download: give --model ID (repeatable) and/or --dataset",
              file=sys.stderr)
        return 2
    failed = 0
    for repo_id in models:
        print(f"downloading model {repo_id} ...", flush=True)
        try:
            path = _fetch(repo_id, "model", cache_dir=cache_dir,
                          **({"revision": revision} if revision else {}))
        except Exception as exc:  # noqa: BLE001 - hub errors come in many types
            failed += 1
            print(f"  failed: {explain(exc)}", file=sys.stderr)
            continue
        print(f"  done: {path}")
    if dataset:
        failed += download_dataset(dataset, Path(local_dir).expanduser() if local_dir else None,
                                   cache_dir)
    return 1 if failed else 0


def download_dataset(dataset: str, local_dir: Path | None, cache_dir: str | None) -> int:
    """Fetch (unless ``dataset`` is a local folder), unpack, check; 0 when runnable."""
    if Path(dataset).expanduser().is_dir():
        snapshot = Path(dataset).expanduser()
        target = local_dir or snapshot
        print(f"using the snapshot in {snapshot}")
    else:
        target = local_dir or default_local_dir(dataset)
        print(f"downloading dataset {dataset} into {target} ...", flush=True)
        try:
            snapshot = Path(_fetch(dataset, "dataset", local_dir=str(target),
                                   ignore_patterns=[".gitattributes"]))
        except Exception as exc:  # noqa: BLE001
            print(f"  failed: {explain(exc)}", file=sys.stderr)
            return 1
    try:
        return prepare(snapshot, target)
    except OSError as exc:
        print(f"error: cannot write {target}: {exc}", file=sys.stderr)
        return 1


def prepare(snapshot: Path, target: Path) -> int:
    """Unpack ``snapshot``'s archives into ``target`` and check the result."""
    from dynbench.archives import ArchiveError, find_archives, unpack

    archives, unusable = find_archives(snapshot)
    for line in unusable:
        print(f"  skipped {line}", file=sys.stderr)
    if not archives and not (snapshot / "multi_json").is_dir():
        print(f"error: {snapshot} holds no zip archives and no multi_json/ folder; is it a "
              "Dyn-Bench snapshot?", file=sys.stderr)
        return 1
    target.mkdir(parents=True, exist_ok=True)
    refused = 0
    for archive in archives:
        try:
            result = unpack(archive, target)
        except ArchiveError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        refused += len(result.refused)
        _report_archive(result)
    if snapshot.resolve() != target.resolve():
        _copy_tables(snapshot, target)
    code = _check(target)
    return 1 if refused or code else 0


def _report_archive(result) -> None:
    if result.stamped:
        print(f"  {result.archive}: already unpacked (nothing to do)")
        return
    skipped = ", ".join(f"{n} {why}" for why, n in sorted(result.skipped.items()))
    print(f"  {result.archive}: {result.written} file(s) written, {result.kept} already there"
          + (f"; skipped: {skipped}" if skipped else ""))
    for line in result.refused[:10]:
        print(f"  REFUSED {line}", file=sys.stderr)
    if len(result.refused) > 10:
        print(f"  ... and {len(result.refused) - 10} more refused members", file=sys.stderr)


def _copy_tables(snapshot: Path, target: Path) -> None:
    """The parquet tables travel with the data so ``dynbench check`` can cross-check them."""
    for name in TABLES:
        src, dst = snapshot / name, target / name
        if src.is_file() and not (dst.is_file() and dst.stat().st_size == src.stat().st_size):
            shutil.copyfile(src, dst)


def _check(target: Path) -> int:
    from dynbench.check import ERROR, check_dataset, render
    from dynbench.data import DataError, resolve_root

    try:
        root = resolve_root(target)
        n, problems = check_dataset(root)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    errors = [p for p in problems if p.severity == ERROR]
    lines = render(problems)
    for line in lines[:20]:
        print(f"  {line}")
    if len(lines) > 20:
        print(f"  ... {len(lines) - 20} more (dynbench check {root})")
    failing = len({p.where for p in errors})
    print(f"data check: {n} cases, {failing} with data errors"
          + (f" (they will fail; `dynbench check {root}` lists them)" if failing else ""))
    print(f"ready: pytest --data-dir {root}    (or export DYNBENCH_DATA={root})")
    return 0


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
