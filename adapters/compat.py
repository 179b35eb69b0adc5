"""Which transformers runs here, and what a failure of published model code under it means.

The published code of several families (LLaVA-OV-1.5's and Sa2VA's remote code, InternVL
chat, UniPixel's package) was written for transformers 4: under 5.x it stops at an import of
a module or name 5.x removed, then at config attributes 5.x no longer defaults (a text
config's ``pad_token_id``), then at the RoPE table without its ``"default"`` entry, or at
``post_init()`` bookkeeping (``all_tied_weights_keys``). Such a failure is not a bug of the
checkpoint: it needs one install command, and it must stop the run once, before any case.
"""

from __future__ import annotations

import re
from typing import Any

from dynbench.adapters.base import LoadError

INSTALL_TRANSFORMERS_4 = "pip install 'transformers>=4.57.1,<5'"
_MISSING = re.compile(r"packages that were not found in your environment: ([\w\-, ]+)")
PIP_NAMES = {"qwen_vl_utils": "'qwen-vl-utils==0.0.14'"}  # import name -> pip requirement
# what transformers 5 removed or changed that transformers-4 code relies on
_REMOVED_IN_5 = (
    re.compile(r"No module named '(transformers\.[\w.]+)'"),
    re.compile(r"cannot import name '(\w+)' from '(transformers[\w.]*)'"),
    re.compile(r"has no attribute '(all_tied_weights_keys|pad_token_id|bos_token_id|"
               r"eos_token_id|_supports_sdpa|get_head_mask)'"),
)


def transformers_version() -> str:
    import transformers

    return transformers.__version__


def transformers_major() -> int:
    return int(transformers_version().split(".")[0])


def exception_chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes, outermost first."""
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _rope_default_missing(exc: BaseException) -> bool:
    return isinstance(exc, KeyError) and exc.args == ("default",)


def removed_in_transformers_5(exc: BaseException) -> str | None:
    """The line of ``exc`` (or of a cause) that shows transformers-4 code meeting 5.x, if any."""
    if transformers_major() < 5:
        return None
    for err in exception_chain(exc):
        text = f"{type(err).__name__}: {err}"
        if _rope_default_missing(err):
            return f"{text} (the RoPE table of transformers 5 has no 'default' entry)"
        if any(p.search(str(err)) for p in _REMOVED_IN_5):
            return text
    return None


def where(exc: BaseException) -> str:
    """``file:line`` of the innermost frame, to name the code that failed."""
    tb = exc.__traceback__
    if tb is None:
        return ""
    while tb.tb_next is not None:
        tb = tb.tb_next
    return f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"


def needs_transformers_4(model: str, code: str, exc: BaseException) -> LoadError | None:
    """A LoadError naming the model, the failing line and the install command, if ``exc`` is
    transformers-4 code failing under 5.x; None for any other failure."""
    cause = removed_in_transformers_5(exc)
    if cause is None:
        return None
    inner = exception_chain(exc)[-1]
    return LoadError(
        f"{model}: {code} was written for transformers 4 and cannot run under the installed "
        f"transformers {transformers_version()}: {cause} (at {where(inner)}).\n"
        f"Fix: {INSTALL_TRANSFORMERS_4} (the default install of dynbench; the paper's "
        "evaluation pins 4.57.1). transformers 5 is supported for the transformers-native "
        "families only.")


def missing_package_names(exc: BaseException, plain_imports: bool = False) -> list[str]:
    """Packages ``exc`` says are missing: transformers' check of remote code imports
    ("requires the following packages that were not found in your environment: x, y"), and
    with ``plain_imports`` also a plain ``ImportError`` of a module outside transformers."""
    found = _MISSING.search(str(exc))
    if found:
        return [p.strip() for p in found.group(1).split(",") if p.strip()]
    name = getattr(exc, "name", None)
    if plain_imports and isinstance(exc, ImportError) and name and \
            not name.startswith("transformers"):
        return [name.split(".")[0]]
    return []


def missing_packages_error(model: str, names: list[str], exc: BaseException) -> LoadError:
    """The LoadError for missing packages, with their pip command."""
    command = " ".join(PIP_NAMES.get(n, n) for n in names)
    first = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return LoadError(f"{model}: its remote code imports {', '.join(names)}, not installed "
                     f"here ({first}). Fix: pip install {command}")


def missing_packages(model: str, exc: BaseException) -> LoadError | None:
    """transformers' check of remote code imports, anywhere in the chain, as a LoadError."""
    for err in exception_chain(exc):
        names = missing_package_names(err) if isinstance(err, ImportError) else []
        if names:
            return missing_packages_error(model, names, err)
    return None


def load_error(model: str, code: str, exc: BaseException) -> LoadError | None:
    """The LoadError ``exc`` stands for when loading published code, or None (a real bug)."""
    return needs_transformers_4(model, code, exc) or missing_packages(model, exc)


def raise_load_error(model: str, code: str, exc: BaseException) -> Any:
    """Re-raise ``exc`` as a LoadError when it is one (chained), else unchanged. A LoadError
    that already explains itself is raised as it is, not wrapped again."""
    if isinstance(exc, LoadError):
        raise exc
    error = load_error(model, code, exc)
    if error is None:
        raise exc
    raise error from exc
