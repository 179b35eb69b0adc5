"""Unpack the published zip archives into the reader's layout, safely and resumably.

An archive is untrusted input. A member is refused (named, never written) when its name is
absolute, holds a ``..`` component, a drive letter or a NUL, or when it is a symlink or
another special file. No write ever leaves the target folder, even through a symlink that
already exists inside it.

Each member's place is read from its path, not from the archive's name, so archives may be
named, split or nested in any way: a path with a ``frames``/``masks``/``multi_json``
component goes below that folder (``Dyn-Bench/frames/davis/bear/frame_0000.jpg`` ->
``frames/davis/bear/frame_0000.jpg``); a path without one is placed by its content (task
JSON -> ``multi_json/<source>/<file>``, ``*_obj<N>`` images -> ``masks/<source>/<scene>/``,
other images -> ``frames/<source>/<scene>/``). Videos, macOS metadata and other files are
skipped and counted.

Resumable and idempotent: files are written to ``*.part`` and renamed when complete; a
member whose file already exists with its size is not rewritten; an archive unpacked in full
leaves a stamp (``.dynbench/unpacked/<name>.json`` with its size and mtime), and an archive
matching its stamp is not opened again.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from dynbench import safefs
from dynbench.data import SKIP_MARKER, split_stem
from dynbench.tasks import TASKS

ROLES = {"frames": 3, "masks": 3, "multi_json": 2}  # path components below the role folder
IMAGE = re.compile(r"\.(?:jpe?g|png)$", re.IGNORECASE)
MASK = re.compile(r"_obj\d+\.(?:jpe?g|png)$", re.IGNORECASE)
VIDEO = re.compile(r"\.(?:mp4|mkv|webm|mov|avi)$", re.IGNORECASE)
STAMPS = Path(".dynbench") / "unpacked"
CHUNK = 1 << 20


class ArchiveError(Exception):
    """An archive that cannot be unpacked at all (not a zip, disk too small, ...)."""


@dataclass
class Plan:
    """What one archive contributes: (member, target path relative to the dataset root)."""

    archive: Path
    members: list[tuple[zipfile.ZipInfo, str]] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    refused: list[str] = field(default_factory=list)  # "name: why"


@dataclass
class Result:
    archive: str
    written: int = 0
    kept: int = 0
    stamped: bool = False  # matched its stamp: not opened
    skipped: Counter = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)


def unsafe(info: zipfile.ZipInfo) -> str | None:
    """Why a member must not be written, or None."""
    name = info.filename
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if "\0" in name:
        return "NUL in the name"
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "absolute path"
    if ".." in parts:
        return "'..' in the path (would leave the target folder)"
    if kind == stat.S_IFLNK:
        return "symlink entry"
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "special file (device, FIFO or socket)"
    return None


def place(name: str) -> tuple[str | None, str]:
    """(target path below the dataset root, or None; why skipped)."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts:
        return None, "empty name"
    if parts[0] == "__MACOSX" or parts[-1].startswith("._") or parts[-1] == ".DS_Store":
        return None, "macOS metadata"
    for i, part in enumerate(parts):
        if part in ROLES:
            rest = parts[i + 1:]
            if len(rest) != ROLES[part]:
                return None, f"not at <{part}>/{'/'.join(['...'] * ROLES[part])}"
            return "/".join([part, *rest]), ""
    role = _role_by_content(parts[-1])
    if role is None:
        return None, "video (the benchmark reads frames/)" if VIDEO.search(parts[-1]) \
            else "not a frame, mask or task file"
    if len(parts) < ROLES[role]:
        return None, f"too shallow for {role}/"
    return "/".join([role, *parts[-ROLES[role]:]]), ""


def _role_by_content(name: str) -> str | None:
    if name.lower().endswith(".json"):
        is_task = split_stem(name[:-5])[1] in TASKS or SKIP_MARKER in name
        return "multi_json" if is_task else None
    if MASK.search(name):
        return "masks"
    if IMAGE.search(name):
        return "frames"
    return None


def plan(archive: Path) -> Plan:
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"{archive}: not a readable zip archive ({exc}); delete it and "
                           "download again") from None
    result = Plan(archive)
    taken: set[str] = set()
    for info in infos:
        why = unsafe(info)
        if why:
            result.refused.append(f"{safefs.printable(info.filename)}: {why}")
            continue
        if info.is_dir():
            continue
        target, reason = place(info.filename)
        if target is None:
            result.skipped[reason] += 1
        elif target in taken:
            result.refused.append(f"{info.filename}: a second member for {target}")
        else:
            taken.add(target)
            result.members.append((info, target))
    return result


def unpack(archive: Path, dest: Path, progress_every: float = 10.0) -> Result:
    """Unpack one archive into ``dest`` (see module docstring)."""
    stamp = dest / STAMPS / f"{archive.name}.json"
    identity = _identity(archive)
    if _read_stamp(stamp) == identity:
        return Result(archive.name, stamped=True)
    layout = plan(archive)
    result = Result(archive.name, skipped=layout.skipped, refused=layout.refused)
    todo = [(i, t) for i, t in layout.members if not _complete(dest / t, i.file_size)]
    result.kept = len(layout.members) - len(todo)
    _check_space(dest, sum(i.file_size for i, _ in todo), archive)
    last = time.monotonic()
    with zipfile.ZipFile(archive) as zf:
        for n, (info, target) in enumerate(todo, 1):
            problem = _write_member(zf, info, dest, target)
            if problem:
                result.refused.append(problem)
            else:
                result.written += 1
            if time.monotonic() - last > progress_every:
                print(f"  {archive.name}: {n}/{len(todo)} files", flush=True)
                last = time.monotonic()
    _write_stamp(stamp, identity)
    return result


def _identity(archive: Path) -> dict:
    info = archive.stat()
    return {"size": info.st_size, "mtime_ns": info.st_mtime_ns}


def _read_stamp(stamp: Path) -> dict | None:
    try:
        return json.loads(stamp.read_text())
    except (OSError, ValueError):
        return None


def _write_stamp(stamp: Path, identity: dict) -> None:
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps(identity))


def _complete(path: Path, size: int) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size == size


def _check_space(dest: Path, needed: int, archive: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(dest).free
    if needed > free:
        raise ArchiveError(f"{archive.name}: needs {_bytes(needed)}, {dest} has {_bytes(free)} "
                           "free; free space or pass another --local-dir")


def _bytes(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def _write_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path,
                  target: str) -> str | None:
    path = dest / target
    path.parent.mkdir(parents=True, exist_ok=True)
    if safefs.outside(path.parent, dest) or os.path.islink(path):
        return f"{info.filename}: {target} would be written outside {dest} (a symlink " \
               "inside the target folder); remove the link"
    part = path.with_name(path.name + ".part")
    try:
        with zf.open(info) as src, open(part, "wb") as out:
            copied = 0
            while chunk := src.read(CHUNK):
                copied += len(chunk)
                if copied > info.file_size:
                    raise zipfile.BadZipFile("member larger than its declared size")
                out.write(chunk)
        os.replace(part, path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        part.unlink(missing_ok=True)
        return f"{info.filename}: cannot be unpacked ({exc})"
    return None


def find_archives(folder: Path) -> tuple[list[Path], list[str]]:
    """Zip archives of a snapshot (top level and one folder down), and split or non-zip
    archives that cannot be unpacked here (with what to do)."""
    candidates = [*folder.glob("*"), *folder.glob("*/*")]
    archives = sorted(p for p in candidates if p.name.lower().endswith(".zip") and p.is_file()
                      and not any(part in ROLES for part in p.relative_to(folder).parts))
    others = []
    for p in sorted(candidates):
        if re.search(r"\.(?:z\d\d|zip\.\d+)$", p.name, re.IGNORECASE):
            others.append(f"{p.name}: part of a split zip; join the parts first (cat "
                          f"{p.stem}.* > {p.stem}.zip, or `zip -s 0`)")
        elif re.search(r"\.(?:tar|tgz|tar\.gz|7z|rar)$", p.name, re.IGNORECASE):
            others.append(f"{p.name}: not a zip archive; unpack it by hand into the "
                          "frames/ masks/ multi_json/ layout")
    return archives, others
