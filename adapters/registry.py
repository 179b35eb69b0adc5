"""Which adapter serves a model spec.

A small table of families with lazy ``"module:Class"`` targets, so heavy model code is
imported only when used. A spec resolves, in order, by: an explicit ``adapter``; the
built-in names; the hub id (``--alias``, a hub-cache snapshot path, or the name itself);
the local folder's ``config.json`` (``architectures``, ``model_type``, ``auto_map``).
"""

from __future__ import annotations

import importlib
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

from dynbench.adapters.base import Adapter
from dynbench.modelspec import ModelSpec, ModelSpecError


@dataclass(frozen=True)
class Family:
    name: str
    target: str  # "dynbench.adapters.module:Class"
    title: str
    hub_patterns: tuple[str, ...] = ()
    architectures: tuple[str, ...] = ()
    model_types: tuple[str, ...] = ()
    auto_map_hints: tuple[str, ...] = ()  # lower-case substrings of config.json auto_map values

    def matches_hub_id(self, hub_id: str) -> bool:
        return any(re.search(p, hub_id, re.IGNORECASE) for p in self.hub_patterns)

    def matches_config(self, config: dict) -> bool:
        archs = set(config.get("architectures") or ())
        if archs & set(self.architectures):
            return True
        if config.get("model_type") in self.model_types:
            return True
        auto_map = " ".join(str(v) for v in (config.get("auto_map") or {}).values()).lower()
        return any(h in auto_map for h in self.auto_map_hints)

    def load_class(self) -> type[Adapter]:
        module, _, cls = self.target.partition(":")
        return getattr(importlib.import_module(module), cls)


A = "dynbench.adapters."
FAMILIES: tuple[Family, ...] = (
    Family("baseline", A + "baseline:ChanceBaseline", "seeded chance-level baseline"),
    Family("sa2va", A + "sa2va:Sa2VAAdapter", "Sa2VA (InternVL2.5/InternVL3/Qwen2.5-VL/Qwen3-VL)",
           (r"^ByteDance/Sa2VA-",), ("Sa2VAChatModel",), ("sa2va_chat",), ("sa2va",)),
    Family("unipixel", A + "unipixel:UniPixelAdapter", "UniPixel",
           (r"^PolyU-ChenLab/UniPixel-",), ("PixelQwen2VLForConditionalGeneration",
            "PixelQwen2_5_VLForConditionalGeneration"), ("unipixel", "pixel_qwen2_5_vl"),
           ("unipixel",)),
    Family("internvl_hf", A + "internvl:InternVLHFAdapter", "InternVL3/3.5 (transformers -hf)",
           (r"^OpenGVLab/InternVL3(_5)?-[\w.\-]+-hf$",), ("InternVLForConditionalGeneration",),
           ("internvl",)),
    Family("internvl", A + "internvl:InternVLChatAdapter", "InternVL3/3.5 (remote-code chat)",
           (r"^OpenGVLab/InternVL3(_5)?-",), ("InternVLChatModel",), ("internvl_chat",),
           ("internvl_chat",)),
    Family("vst", A + "qwen_vl:VSTAdapter", "VST-7B-RL (Qwen2.5-VL, think prompt)",
           (r"^rayruiyang/VST-",)),
    Family("spatial_ssrl", A + "qwen_vl:SpatialSSRLAdapter", "Spatial-SSRL (Qwen2.5-VL, boxed)",
           (r"^internlm/Spatial-SSRL",)),
    Family("spatial_ladder", A + "qwen_vl:SpatialLadderAdapter", "SpatialLadder (Qwen2.5-VL)",
           (r"^hongxingli/SpatialLadder",)),
    Family("spacer", A + "qwen_vl:SpaceRAdapter", "SpaceR-SFT (Qwen2.5-VL)",
           (r"^RUBBISHLIKE/SpaceR",)),
    Family("qwen2_5_vl", A + "qwen_vl:Qwen25VLAdapter", "Qwen2.5-VL",
           (r"^Qwen/Qwen2\.5-VL-",), ("Qwen2_5_VLForConditionalGeneration",), ("qwen2_5_vl",)),
    Family("qwen3_vl", A + "qwen_vl:Qwen3VLAdapter", "Qwen3-VL (dense and MoE)",
           (r"^Qwen/Qwen3-VL-",), ("Qwen3VLForConditionalGeneration",
                                   "Qwen3VLMoeForConditionalGeneration"),
           ("qwen3_vl", "qwen3_vl_moe")),
    Family("llava_ov_1_5", A + "llava_ov:LlavaOV15Adapter", "LLaVA-OneVision-1.5",
           (r"^lmms-lab/LLaVA-One-?Vision-1\.5-",), ("LLaVAOneVision1_5_ForConditionalGeneration",),
           ("llavaonevision1_5",), ("llavaonevision1_5", "llava_onevision1_5")),
)
BY_NAME = {f.name: f for f in FAMILIES}
BUILTIN_NAMES = {"baseline": "baseline", "chance": "baseline"}


def supported_text() -> str:
    lines = [f"  {f.name:<15} {f.title}" for f in FAMILIES]
    return "supported families:\n" + "\n".join(lines)


def _read_config(folder: Path) -> dict:
    path = folder / "config.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelSpecError(f"{folder} has no config.json; is it a model checkpoint folder?") \
            from None
    except json.JSONDecodeError as exc:
        raise ModelSpecError(f"{path} is not valid JSON: {exc}") from None


SMOKE_PREFIX = "tiny:"


def resolve_family(spec: ModelSpec) -> Family:
    """Pick the family for a spec, or raise an error that lists the choices."""
    if spec.name.startswith(SMOKE_PREFIX):
        return BY_NAME[_smoke_family(spec.name[len(SMOKE_PREFIX):])]
    if spec.adapter:
        if spec.adapter not in BY_NAME:
            raise ModelSpecError(f"unknown adapter {spec.adapter!r}; {supported_text()}")
        return BY_NAME[spec.adapter]
    if spec.name.lower() in BUILTIN_NAMES:
        return BY_NAME[BUILTIN_NAMES[spec.name.lower()]]
    hub_id = spec.hub_id
    if hub_id:
        for family in FAMILIES:
            if family.matches_hub_id(hub_id):
                return family
    if spec.path is not None:
        config = _read_config(spec.path)
        for family in FAMILIES:
            if family.matches_config(config):
                return family
    raise ModelSpecError(
        f"no adapter knows model {spec.name!r}"
        + (f" (evaluated as {hub_id})" if hub_id and hub_id != spec.name else "")
        + f".\n{supported_text()}\nForce one with --adapter FAMILY (or 'adapter:' in the "
        "model config), or evaluate a renamed folder as a known model with --alias ORG/NAME."
    )


def _smoke_family(name: str) -> str:
    from dynbench.tiny import ADAPTER_OF, BUILDERS

    if name not in BUILDERS:
        raise ModelSpecError(f"no smoke model tiny:{name}; choose from "
                             f"{', '.join('tiny:' + n for n in sorted(BUILDERS))}")
    return ADAPTER_OF.get(name, name)


def create_adapter(spec: ModelSpec) -> Adapter:
    """Instantiate (not load) the adapter for a spec.

    ``tiny:<name>`` builds a tiny random-weight checkpoint of the family's real architecture
    and labels the adapter a smoke model, so no report mistakes it for a benchmark result.
    """
    family = resolve_family(spec)
    if not spec.name.startswith(SMOKE_PREFIX):
        return family.load_class()(spec)
    from dynbench.tiny import build_tiny

    folder = build_tiny(spec.name[len(SMOKE_PREFIX):])
    adapter = family.load_class()(replace(spec, name=str(folder)))
    adapter.kind = "smoke"
    return adapter
