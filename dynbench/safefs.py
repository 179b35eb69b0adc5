"""Guards for reading untrusted folders (a downloaded dataset, a predictions folder).

Everything here returns a *message* (or ``None``) instead of raising, so each reader turns
it into its own error kind: a data error naming the file, a failing prediction, a skipped
archive member. The rules:

* a name that is not valid UTF-8 is reported in escaped form (``caf\\xe9``), never passed on;
* a path of the wrong kind (a directory where a file is expected, a dangling symlink, a
  symlink loop, a FIFO or device) is named, never read and never taken for "missing";
* a symlink whose target lies outside the folder being read is refused unless the user
  passed ``--follow-symlinks`` (:func:`set_follow_symlinks`): a dataset must not be able to
  pull other files of the machine into a run or into ``report.html``.
"""

from __future__ import annotations

import errno
import os
import stat
from functools import lru_cache
from pathlib import Path

_STATE = {"follow": False}


def set_follow_symlinks(follow: bool) -> None:
    """Process-wide: allow symlinks that leave the dataset / predictions folder."""
    _STATE["follow"] = bool(follow)


def follow_symlinks() -> bool:
    return _STATE["follow"]


def printable(name: str) -> str:
    """A file name as text that can always be printed and written: undecodable bytes (held
    by Python as lone surrogates) become ``\\xNN``."""
    if not has_bad_bytes(name):
        return name
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def has_bad_bytes(text: str) -> bool:
    """True if ``text`` holds lone surrogates (undecodable file-name bytes, or a JSON
    ``\\udXXX`` escape): such text cannot be encoded, printed or written."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def name_problem(name: str) -> str | None:
    if has_bad_bytes(name):
        return f"file name {printable(name)!r} is not valid UTF-8; rename it"
    return None


@lru_cache(maxsize=64)
def _real(root: Path) -> str:
    return os.path.realpath(root)


def outside(path: str | Path, root: Path) -> bool:
    """Does ``path`` (after resolving every symlink) lie outside ``root``?"""
    real, base = os.path.realpath(path), _real(root)
    return not (real == base or real.startswith(base.rstrip(os.sep) + os.sep))


def _link_problem(path: str | Path, root: Path, rel: str) -> str | None:
    if not follow_symlinks() and outside(path, root):
        return (f"{rel}: symlink to {os.path.realpath(path)}, outside {root}; refused (pass "
                "--follow-symlinks to read it)")
    return None


def kind_problem(path: str | Path, root: Path, rel: str, want: str,
                 entry: os.DirEntry | None = None) -> str | None:
    """Why ``path`` cannot be read as a ``want`` ("file" or "dir"), or None if it can.

    With a ``DirEntry`` (from ``os.scandir``) a plain file or folder costs no system call.
    """
    if entry is not None and not entry.is_symlink():
        if want == "file" and entry.is_file(follow_symlinks=False):
            return None
        if want == "dir" and entry.is_dir(follow_symlinks=False):
            return None
    try:
        info = os.stat(path)
    except OSError as exc:
        return _stat_problem(path, rel, exc)
    is_link = entry.is_symlink() if entry is not None else os.path.islink(path)
    if is_link or want == "dir":  # a folder may sit below a symlinked parent
        problem = _link_problem(path, root, rel)
        if problem:
            return problem
    if want == "file" and not stat.S_ISREG(info.st_mode):
        what = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        return f"{rel}: is {what}, expected an image or JSON file; remove or replace it"
    if want == "dir" and not stat.S_ISDIR(info.st_mode):
        return f"{rel}: is not a folder; remove or replace it"
    return None


def _stat_problem(path: str | Path, rel: str, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return f"{rel}: symlink loop; remove the link"
    if exc.errno == errno.ENOENT and os.path.islink(path):
        return f"{rel}: dangling symlink (target {os.readlink(path)!r} does not exist)"
    if exc.errno == errno.ENOENT:
        return f"{rel}: is missing"
    return f"{rel}: cannot be read ({exc.strerror or exc})"


def read_capped(path: str | Path, limit: int, rel: str) -> bytes:
    """A file's bytes, refusing files larger than ``limit`` (raises ValueError)."""
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size > limit:
            raise ValueError(f"{rel}: larger than {limit >> 20} MiB; not a Dyn-Bench file")
        return fh.read()
