"""What the user asked to evaluate: ``--model``, ``--model-config``, ``--alias`` and friends.

Resolution is pure bookkeeping (no weights are touched) so that an unknown model or a bad
config key fails at start-up, before any case runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
SNAPSHOT = re.compile(r"models--(?P<org>[^/]+?)--(?P<name>[^/]+)(?:/snapshots/[^/]+)?/?$")
DTYPES = ("auto", "bfloat16", "float16", "float32")
DTYPE_ALIASES = {"bf16": "bfloat16", "fp16": "float16", "half": "float16", "fp32": "float32",
                 "float": "float32"}
ATTN = ("auto", "flash_attention_2", "sdpa", "eager")


class ModelSpecError(ValueError):
    """A model spec the suite cannot use; the message says what to change."""


@dataclass(frozen=True)
class ModelSpec:
    name: str  # what the user typed: hub id, local folder, "baseline", "tiny:<family>", ...
    alias: str | None = None  # evaluate a renamed folder as this hub id
    adapter: str | None = None  # force a family, bypassing detection
    device: str = "auto"
    torch_dtype: str = "auto"
    attn_implementation: str = "auto"
    cache_dir: str | None = None
    trust_remote_code: bool = True
    revision: str | None = None
    device_map: str | dict[str, Any] | None = None
    max_memory: dict[str, str] | None = None
    local_files_only: bool = False
    max_frames: int | None = None
    generation: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    protocol: str = "fair"  # --protocol: adapters follow the official inference settings

    @property
    def path(self) -> Path | None:
        """The local checkpoint folder, when ``name`` is one."""
        p = Path(self.name).expanduser()
        return p if p.is_dir() else None

    @property
    def hub_id(self) -> str | None:
        """The hub id this model is evaluated as: alias, snapshot path id, or the name."""
        if self.alias:
            return self.alias
        m = SNAPSHOT.search(self.name.rstrip("/"))
        if m:
            return f"{m['org']}/{m['name']}"
        if self.path is None and HUB_ID.match(self.name):
            return self.name
        return None

    @property
    def slug(self) -> str:
        """A filesystem-safe name for report folders."""
        base = self.hub_id or Path(self.name).name or self.name
        return re.sub(r"[^\w.\-]+", "--", base).strip("-") or "model"

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# ``protocol`` comes from --protocol only (one source for scoring and inference settings)
CONFIG_KEYS = {f.name for f in fields(ModelSpec)} - {"protocol"} | {"use_flash_attn", "model"}


def normalise_dtype(value: str) -> str:
    v = DTYPE_ALIASES.get(str(value).lower(), str(value).lower())
    if v not in DTYPES:
        raise ModelSpecError(f"torch_dtype {value!r} is not one of {', '.join(DTYPES)}")
    return v


def _check_types(data: dict[str, Any], source: str) -> None:
    expect = {"trust_remote_code": bool, "local_files_only": bool, "use_flash_attn": bool,
              "generation": dict, "max_memory": dict}
    for key, typ in expect.items():
        if key in data and data[key] is not None and not isinstance(data[key], typ):
            raise ModelSpecError(f"{source}: key {key!r} must be {typ.__name__}, "
                                 f"got {data[key]!r}")
    mf = data.get("max_frames")
    if mf is not None and (not isinstance(mf, int) or isinstance(mf, bool) or mf < 1):
        raise ModelSpecError(f"{source}: key 'max_frames' must be a positive integer, got {mf!r}")
    attn = data.get("attn_implementation")
    if attn is not None and attn not in ATTN:
        raise ModelSpecError(f"{source}: key 'attn_implementation' must be one of "
                             f"{', '.join(ATTN)}, got {attn!r}")


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a model config yaml; unknown keys and bad values are errors naming the key."""
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text())
    except FileNotFoundError:
        raise ModelSpecError(f"model config {p} does not exist") from None
    except yaml.YAMLError as exc:
        raise ModelSpecError(f"model config {p} is not valid YAML: {exc}") from None
    data = raw.get("model", raw) if isinstance(raw, dict) else raw
    if not isinstance(data, dict):
        raise ModelSpecError(f"model config {p} must be a mapping of keys to values")
    unknown = sorted(set(data) - CONFIG_KEYS)
    if unknown:
        raise ModelSpecError(f"model config {p}: unknown key(s) {', '.join(map(repr, unknown))}; "
                             f"allowed: {', '.join(sorted(CONFIG_KEYS - {'model'}))}")
    _check_types(data, str(p))
    return dict(data)


def build_spec(model: str | None, config: str | None = None, **overrides: Any) -> ModelSpec:
    """Merge config file, then command-line overrides (those not None) into one spec."""
    data: dict[str, Any] = load_config(config) if config else {}
    if data.pop("use_flash_attn", None):
        data.setdefault("attn_implementation", "flash_attention_2")
    for key, value in overrides.items():
        if value is not None:
            data[key] = value
    if model:
        data["name"] = model
    if not data.get("name"):
        data["name"] = "baseline"
    if "torch_dtype" in data:
        data["torch_dtype"] = normalise_dtype(data["torch_dtype"])
    return ModelSpec(**data)


def with_overrides(spec: ModelSpec, **changes: Any) -> ModelSpec:
    return replace(spec, **{k: v for k, v in changes.items() if v is not None})
