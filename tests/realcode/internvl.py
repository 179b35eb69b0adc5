"""Tiny checkpoints from ``OpenGVLab/InternVL`` remote-code chat (InternVL3 and InternVL3.5).

* ``internvl3`` - ``internvl_chat/internvl/model/internvl_chat/`` with ``internvl/
  conversation.py`` and the InternLM2 / Phi-3 files it imports, flattened into one folder
  with their ``from internvl.<...>.<module> import`` lines made relative (``from .<module>
  import``), which is how a checkpoint ships them; a Qwen2 LLM (InternVL3's).
* ``internvl3_5`` - ``internvl_chat_gpt_oss/internvl/model/internvl_chat/``, already laid out
  as a checkpoint; the public code whose config and ``AutoModelForCausalLM`` path support
  the Qwen3 LLMs of InternVL3.5 (``internvl_chat/`` supports only Llama, InternLM2, Phi-3 and
  Qwen2); a Qwen3 LLM. ``internvl3_5-fp32`` loads it with ``--dtype fp32``.

The hub checkpoints ship their own copies of these files, which could not be read here;
they may differ (see README).
"""

from __future__ import annotations

import re
from pathlib import Path

from dynbench.adapters.compat import INSTALL_TRANSFORMERS_4 as INSTALL_SUPPORTED
from tests.realcode.common import (
    RealCheckpoint,
    copy_code,
    repo,
    text_ids,
    tokenizer,
    vocab_size,
    write_checkpoint,
)

SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<img>", "</img>", "<IMG_CONTEXT>",
            "<quad>", "</quad>", "<ref>", "</ref>", "<box>", "</box>")
VISION = {"architectures": ["InternVisionModel"], "hidden_size": 32, "intermediate_size": 64,
          "num_attention_heads": 2, "num_hidden_layers": 2, "image_size": 448,
          "patch_size": 14, "qkv_bias": True, "qk_normalization": False,
          "norm_type": "layer_norm", "use_flash_attn": False}
LLM = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
       "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
       "max_position_embeddings": 8192, "rope_theta": 1e6, "tie_word_embeddings": False}
PACKAGE_IMPORT = re.compile(r"^from internvl(?:\.\w+)*\.(\w+) import", re.MULTILINE)


def internvl3_code() -> dict[str, str]:
    base = repo("InternVL") / "internvl_chat" / "internvl"
    files = [*(base / "model" / "internvl_chat").glob("*.py"), base / "conversation.py",
             *(base / "model" / "internlm2").glob("*.py"), *(base / "model" / "phi3").glob("*.py")]
    return {f.name: PACKAGE_IMPORT.sub(r"from .\1 import", f.read_text())
            for f in sorted(files) if f.name != "__init__.py"}


def internvl3_5_code() -> dict[str, str]:
    base = repo("InternVL") / "internvl_chat_gpt_oss" / "internvl" / "model" / "internvl_chat"
    return {f.name: f.read_text() for f in sorted(base.glob("*.py")) if f.name != "__init__.py"}


def build(folder: Path, files: dict[str, str], arch: str, model_type: str) -> str | None:
    copy_code(folder, files)
    tok = tokenizer(SPECIALS)
    llm = {"architectures": [arch], "model_type": model_type, **LLM,
           "vocab_size": vocab_size(tok), **text_ids(tok)}
    config = {"architectures": ["InternVLChatModel"], "model_type": "internvl_chat",
              "auto_map": {"AutoConfig": "configuration_internvl_chat.InternVLChatConfig",
                           "AutoModel": "modeling_internvl_chat.InternVLChatModel",
                           "AutoModelForCausalLM": "modeling_internvl_chat.InternVLChatModel"},
              "llm_config": llm, "vision_config": VISION, "template": "internvl2_5",
              "force_image_size": 448, "downsample_ratio": 0.5, "ps_version": "v2",
              "select_layer": -1, "dynamic_image_size": True, "use_thumbnail": True,
              "max_dynamic_patch": 12, "min_dynamic_patch": 1, "torch_dtype": "bfloat16"}
    return write_checkpoint(folder, config, (tok,))


def build_internvl3(folder: Path) -> str | None:
    return build(folder, internvl3_code(), "Qwen2ForCausalLM", "qwen2")


def build_internvl3_5(folder: Path) -> str | None:
    return build(folder, internvl3_5_code(), "Qwen3ForCausalLM", "qwen3")


TOO_NEW = ("load_error", ("never calls post_init()", INSTALL_SUPPORTED))


def internvl3_rule(major: int, shim: bool) -> tuple[str, tuple[str, ...]]:
    # internvl_chat/ pins transformers 4.37.2; since 4.47 transformers builds a config class
    # without arguments while loading, and this one then raises (its default llm_config is
    # empty): the GitHub tree cannot load as remote code on the supported range. Under 5.x
    # its Phi-3 file's import fails first.
    if major >= 5:
        return "load_error", ("transformers.modeling_attn_mask_utils", INSTALL_SUPPORTED)
    return "load_error", ("ValueError: Unsupported architecture",)


def internvl3_5_rule(major: int, shim: bool) -> tuple[str, tuple[str, ...]]:
    return TOO_NEW if major >= 5 else ("answers", ())


def internvl3_5_fp32_rule(major: int, shim: bool) -> tuple[str, tuple[str, ...]]:
    return TOO_NEW if major >= 5 else ("load_error", ("casts mlp1 (bfloat16) itself",))


def build_internvl3_current(folder: Path) -> str | None:
    return build(folder, internvl3_5_code(), "Qwen2ForCausalLM", "qwen2")


CHECKPOINTS = {
    "internvl3": RealCheckpoint(build_internvl3, internvl3_rule),
    "internvl3-gpt-oss-tree": RealCheckpoint(build_internvl3_current, internvl3_5_rule),
    "internvl3_5": RealCheckpoint(build_internvl3_5, internvl3_5_rule),
    "internvl3_5-fp32": RealCheckpoint(build_internvl3_5, internvl3_5_fp32_rule,
                                       child_args=("--dtype", "fp32")),
}
