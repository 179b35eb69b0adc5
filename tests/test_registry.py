"""Model specs resolve to the right family: hub ids, snapshots, aliases, configs, errors."""

from __future__ import annotations

import json

import pytest

from dynbench.adapters.registry import FAMILIES, create_adapter, resolve_family
from dynbench.modelspec import ModelSpec, ModelSpecError, build_spec, load_config

SEED_TABLE = {
    "sa2va": ["ByteDance/Sa2VA-1B", "ByteDance/Sa2VA-4B", "ByteDance/Sa2VA-8B",
              "ByteDance/Sa2VA-InternVL3-2B", "ByteDance/Sa2VA-InternVL3-8B",
              "ByteDance/Sa2VA-InternVL3-14B", "ByteDance/Sa2VA-Qwen2_5-VL-3B",
              "ByteDance/Sa2VA-Qwen2_5-VL-7B", "ByteDance/Sa2VA-Qwen3-VL-2B",
              "ByteDance/Sa2VA-Qwen3-VL-4B"],
    "unipixel": ["PolyU-ChenLab/UniPixel-3B", "PolyU-ChenLab/UniPixel-7B"],
    "internvl": [f"OpenGVLab/InternVL3-{s}" for s in ("1B", "2B", "8B", "9B", "14B", "38B", "78B")]
    + [f"OpenGVLab/InternVL3_5-{s}" for s in ("1B", "2B", "4B", "8B", "14B", "38B")],
    "internvl_hf": ["OpenGVLab/InternVL3-8B-hf", "OpenGVLab/InternVL3-1B-hf",
                    "OpenGVLab/InternVL3_5-8B-HF", "OpenGVLab/InternVL3_5-2B-HF"],
    "qwen2_5_vl": [f"Qwen/Qwen2.5-VL-{s}-Instruct" for s in ("3B", "7B", "32B", "72B")],
    "qwen3_vl": [f"Qwen/Qwen3-VL-{s}-Instruct" for s in ("2B", "4B", "8B", "32B")]
    + ["Qwen/Qwen3-VL-235B-A22B-Instruct"],
    "llava_ov_1_5": ["lmms-lab/LLaVA-OneVision-1.5-4B-Instruct",
                     "lmms-lab/LLaVA-OneVision-1.5-8B-Instruct",
                     "lmms-lab/LLaVA-One-Vision-1.5-8B-Instruct"],
    "vst": ["rayruiyang/VST-7B-RL"],
    "spatial_ssrl": ["internlm/Spatial-SSRL-7B"],
    "spatial_ladder": ["hongxingli/SpatialLadder-3B"],
    "spacer": ["RUBBISHLIKE/SpaceR-SFT-3B", "RUBBISHLIKE/SpaceR-SFT-7B"],
}


@pytest.mark.parametrize("family, hub_id", [(f, i) for f, ids in SEED_TABLE.items()
                                             for i in ids])
def test_every_seed_id_resolves(family, hub_id):
    assert resolve_family(ModelSpec(name=hub_id)).name == family


def test_every_family_target_imports():
    for family in FAMILIES:
        assert family.load_class().__name__ in family.target


def test_snapshot_path_and_alias(tmp_path):
    snap = tmp_path / "hub" / "models--Qwen--Qwen2.5-VL-7B-Instruct" / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (snap / "config.json").write_text("{}")
    spec = ModelSpec(name=str(snap))
    assert spec.hub_id == "Qwen/Qwen2.5-VL-7B-Instruct"
    assert resolve_family(spec).name == "qwen2_5_vl"
    renamed = tmp_path / "my-finetune"
    renamed.mkdir()
    (renamed / "config.json").write_text(json.dumps({"architectures": ["Mystery"]}))
    assert resolve_family(ModelSpec(name=str(renamed), alias="rayruiyang/VST-7B-RL")).name == \
        "vst"
    with pytest.raises(ModelSpecError, match="--alias ORG/NAME"):
        resolve_family(ModelSpec(name=str(renamed)))


@pytest.mark.parametrize("config, family", [
    ({"architectures": ["Qwen2_5_VLForConditionalGeneration"]}, "qwen2_5_vl"),
    ({"model_type": "qwen3_vl_moe"}, "qwen3_vl"),
    ({"architectures": ["InternVLForConditionalGeneration"]}, "internvl_hf"),
    ({"architectures": ["InternVLChatModel"]}, "internvl"),
    ({"auto_map": {"AutoModel": "modeling_sa2va_chat.Sa2VAChatModel"}}, "sa2va"),
])
def test_local_folder_detected_by_config(tmp_path, config, family):
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert resolve_family(ModelSpec(name=str(tmp_path))).name == family


def test_unknown_model_lists_families_and_how_to_force():
    with pytest.raises(ModelSpecError) as err:
        resolve_family(ModelSpec(name="acme/Unknown-7B"))
    text = str(err.value)
    assert all(f.name in text for f in FAMILIES)
    assert "--adapter FAMILY" in text
    assert resolve_family(ModelSpec(name="acme/Unknown-7B", adapter="qwen2_5_vl")).name == \
        "qwen2_5_vl"
    with pytest.raises(ModelSpecError, match="unknown adapter 'nope'"):
        resolve_family(ModelSpec(name="x", adapter="nope"))


def test_folder_without_config(tmp_path):
    with pytest.raises(ModelSpecError, match="has no config.json"):
        resolve_family(ModelSpec(name=str(tmp_path)))


def write_yaml(tmp_path, text):
    path = tmp_path / "model.yaml"
    path.write_text(text)
    return path


def test_config_file_all_keys(tmp_path):
    path = write_yaml(tmp_path, """
model:
  name: Qwen/Qwen2.5-VL-7B-Instruct
  alias: null
  device: cuda:1
  torch_dtype: bf16
  use_flash_attn: true
  cache_dir: /models
  trust_remote_code: false
  revision: main
  device_map: auto
  max_memory: {0: 70GiB, 1: 70GiB}
  local_files_only: true
  max_frames: 16
  generation: {max_new_tokens: 64}
""")
    spec = build_spec(None, str(path), device=None)
    assert spec.torch_dtype == "bfloat16" and spec.attn_implementation == "flash_attention_2"
    assert spec.device == "cuda:1" and spec.max_frames == 16 and spec.device_map == "auto"
    assert spec.generation == {"max_new_tokens": 64} and spec.trust_remote_code is False
    assert build_spec(None, str(path), max_frames=4).max_frames == 4  # command line wins


@pytest.mark.parametrize("text, needle", [
    ("model:\n  name: x\n  tempurature: 1\n", "unknown key(s) 'tempurature'"),
    ("model:\n  name: x\n  max_frames: -3\n", "'max_frames' must be a positive integer"),
    ("model:\n  name: x\n  torch_dtype: int8\n", "torch_dtype 'int8' is not one of"),
    ("model:\n  name: x\n  trust_remote_code: maybe\n", "'trust_remote_code' must be bool"),
    ("model:\n  name: x\n  attn_implementation: fast\n", "'attn_implementation' must be one"),
    ("model: [1, 2\n", "not valid YAML"),
    ("- a\n- b\n", "must be a mapping"),
])
def test_bad_config_names_the_key(tmp_path, text, needle):
    with pytest.raises(ModelSpecError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        build_spec(None, str(write_yaml(tmp_path, text)))


def test_missing_config_file(tmp_path):
    with pytest.raises(ModelSpecError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_smoke_models_resolve_and_are_labelled():
    spec = ModelSpec(name="tiny:qwen2_5_vl")
    assert resolve_family(spec).name == "qwen2_5_vl"
    with pytest.raises(ModelSpecError, match="no smoke model tiny:nope"):
        resolve_family(ModelSpec(name="tiny:nope"))


def test_tiny_adapter_is_a_smoke_model(tmp_path, monkeypatch):
    monkeypatch.setenv("DYNBENCH_TINY_CACHE", str(tmp_path))
    adapter = create_adapter(ModelSpec(name="tiny:qwen2_5_vl"))
    assert adapter.kind == "smoke"
    assert "SMOKE MODEL" in adapter.describe()["label"]


def test_shipped_example_configs_are_valid():
    from pathlib import Path

    for path in sorted((Path(__file__).parents[1] / "configs").glob("*.yaml")):
        spec = build_spec(None, str(path))
        assert resolve_family(spec).name  # every example resolves to a family
