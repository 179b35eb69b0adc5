"""Tiny checkpoints from ``bytedance/Sa2VA`` ``projects/sa2va/hf/`` (every variant).

* ``sa2va_internvl`` - ``models/`` with a Qwen2 LLM: the layout of ``Sa2VA-1B/4B`` and
  ``Sa2VA-InternVL3-*`` (``llm_config``, ``tokenizer=``, template ``qwen_chat``);
* ``sa2va_qwen2_5_vl`` - ``models_qwen2_5_vl/`` (``processor=``); ``models_qwen/`` is the
  same code under an older name;
* ``sa2va_qwen3_vl`` - ``models_qwen3vl/``;
* ``sa2va_internlm2`` - ``models/`` with an InternLM2 LLM and the InternLM2 sentencepiece
  tokenizer (``tokenization_internlm2.py``): the layout of ``Sa2VA-8B``/``-26B``.

SAM2 is built in code at full size (Hiera-L, ~224M parameters), so each folder is ~430 MB.
The LM head is zeroed and the tokenizer's id 0 is ``<|im_end|>``: the random model stops at
once instead of running the hard-coded 2048 new tokens, and never emits ``[SEG]`` (a
full-size SAM2 on a CPU costs minutes per case), so these checks cover loading, the
real preprocessing and generation, not masks; the stand-ins cover the mask path.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dynbench.adapters.compat import INSTALL_TRANSFORMERS_4 as INSTALL_SUPPORTED
from tests.realcode.common import (
    RealCheckpoint,
    copy_code,
    qwen_ids,
    repo,
    text_ids,
    tokenizer,
    vocab_size,
    write_checkpoint,
)

HF = "projects/sa2va/hf"
INTERNVL_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<img>", "</img>",
                     "<IMG_CONTEXT>", "<quad>", "</quad>", "<ref>", "</ref>", "<box>", "</box>",
                     "[SEG]", "<p>", "</p>", "<vp>", "</vp>")
QWEN_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>",
                 "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "[SEG]")
TEXT = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 8192,
        "rms_norm_eps": 1e-6, "tie_word_embeddings": False}
# InternViT sized down; 448 px tiles of 14 px patches, as the wrapper hard-codes
INTERN_VIT = {"architectures": ["InternVisionModel"], "hidden_size": 32, "intermediate_size": 64,
              "num_attention_heads": 2, "num_hidden_layers": 2, "image_size": 448,
              "patch_size": 14, "qkv_bias": True, "qk_normalization": False,
              "norm_type": "layer_norm", "use_flash_attn": False}


def code(sub: str) -> dict[str, str]:
    return {f.name: f.read_text() for f in sorted((repo("Sa2VA") / HF / sub).glob("*.py"))}


def build_internvl_based(folder: Path) -> str | None:
    copy_code(folder, code("models"))
    tok = tokenizer(INTERNVL_SPECIALS)
    llm = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", **TEXT,
           "vocab_size": vocab_size(tok), "rope_theta": 1e6, **text_ids(tok)}
    config = {"architectures": ["Sa2VAChatModel"], "model_type": "sa2va_chat",
              "auto_map": {"AutoConfig": "configuration_sa2va_chat.Sa2VAChatConfig",
                           "AutoModel": "modeling_sa2va_chat.Sa2VAChatModel",
                           "AutoModelForCausalLM": "modeling_sa2va_chat.Sa2VAChatModel"},
              "llm_config": llm, "vision_config": INTERN_VIT, "template": "qwen_chat",
              "force_image_size": 448, "downsample_ratio": 0.5, "ps_version": "v2",
              "select_layer": -1, "torch_dtype": "bfloat16"}
    return write_checkpoint(folder, config, (tok,),
                            silence=lambda m: m.language_model.lm_head)


def internlm2_tokenizer(folder: Path) -> None:
    """A tiny sentencepiece model (``</s>`` = id 0) and the InternLM2 tokenizer config."""
    import io
    import json

    spm = pytest.importorskip("sentencepiece")
    lines = ["How does the red box move? Answer with the option's letter directly.",
             "A. left B. right C. up D. down", "Frame1: the object moving away"] * 40
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, vocab_size=400, model_type="bpe",
        eos_id=0, unk_id=1, bos_id=2, pad_id=-1, byte_fallback=True, character_coverage=1.0,
        user_defined_symbols=[s for s in INTERNVL_SPECIALS if s != "<|endoftext|>"],
        minloglevel=2)
    (folder / "tokenizer.model").write_bytes(model.getvalue())
    config = {"tokenizer_class": "InternLM2Tokenizer", "bos_token": "<s>", "eos_token": "</s>",
              "unk_token": "<unk>", "pad_token": "</s>", "add_bos_token": True,
              "auto_map": {"AutoTokenizer": ["tokenization_internlm2.InternLM2Tokenizer",
                                             None]}}
    (folder / "tokenizer_config.json").write_text(json.dumps(config))


def build_internlm2_based(folder: Path) -> str | None:
    copy_code(folder, code("models"))
    internlm2_tokenizer(folder)
    llm = {"architectures": ["InternLM2ForCausalLM"], "model_type": "internlm2", **TEXT,
           "vocab_size": 400, "rope_theta": 1e6, "bos_token_id": 2, "eos_token_id": 0,
           "pad_token_id": 0, "attn_implementation": "eager",
           "auto_map": {"AutoConfig": "configuration_internlm2.InternLM2Config",
                        "AutoModelForCausalLM": "modeling_internlm2.InternLM2ForCausalLM"}}
    config = {"architectures": ["Sa2VAChatModel"], "model_type": "sa2va_chat",
              "auto_map": {"AutoConfig": "configuration_sa2va_chat.Sa2VAChatConfig",
                           "AutoModel": "modeling_sa2va_chat.Sa2VAChatModel"},
              "llm_config": llm, "vision_config": INTERN_VIT, "template": "internlm2_chat",
              "force_image_size": 448, "downsample_ratio": 0.5, "ps_version": "v2",
              "select_layer": -1, "torch_dtype": "bfloat16"}
    return write_checkpoint(folder, config, silence=lambda m: m.language_model.output)


def build_qwen_based(folder: Path, sub: str, qwen3: bool) -> str | None:
    from dynbench.tiny.native import _qwen_processor

    copy_code(folder, code(sub))
    tok = tokenizer(QWEN_SPECIALS)
    text = {**TEXT, **text_ids(tok), "vocab_size": vocab_size(tok)}
    if qwen3:
        text.update(head_dim=16, rope_theta=5e6, rope_scaling={
            "rope_type": "default", "mrope_section": [4, 2, 2], "mrope_interleaved": True})
        vision = {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
                  "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2,
                  "num_position_embeddings": 64, "deepstack_visual_indexes": [0],
                  "out_hidden_size": TEXT["hidden_size"]}
        size = {"shortest_edge": 4 * 32 * 32, "longest_edge": 256 * 32 * 32}
        processor = _qwen_processor("Qwen3VLProcessor", tok, 16, False,
                                    {"image": size, "video": size})
    else:
        text.update(rope_theta=1e6, rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]})
        vision = {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
                  "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2,
                  "window_size": 56, "fullatt_block_indexes": [1], "tokens_per_second": 2,
                  "out_hidden_size": TEXT["hidden_size"]}
        size = {"shortest_edge": 4 * 28 * 28, "longest_edge": 64 * 28 * 28}
        processor = _qwen_processor("Qwen2_5_VLProcessor", tok, 14, True,
                                    {"image": size, "video": size})
    config = {"architectures": ["Sa2VAChatModelQwen"], "model_type": "sa2va_chat",
              "auto_map": {"AutoConfig": "configuration_sa2va_chat.Sa2VAChatConfigQwen",
                           "AutoModel": "modeling_sa2va_qwen.Sa2VAChatModelQwen"},
              "text_config": text, "vision_config": vision, **qwen_ids(tok), **text_ids(tok),
              "template": "qwen_chat", "torch_dtype": "bfloat16"}
    return write_checkpoint(folder, config, (processor,), generation={
        **text_ids(tok), "do_sample": False}, silence=lambda m: m.model.lm_head)


def expect(five_cause: str, four: tuple[str, tuple[str, ...]] = ("answers", ())):
    """Off CUDA: the one load message. Pretend CUDA: ``four`` on 4.x, install hint on 5.x."""
    def rule(major: int, shim: bool) -> tuple[str, tuple[str, ...]]:
        if not shim:
            return "load_error", ("its remote code needs a CUDA GPU",)
        if major >= 5:
            return "load_error", (five_cause, INSTALL_SUPPORTED)
        return four
    return rule


CHECKPOINTS = {
    "sa2va_internvl": RealCheckpoint(
        build_internvl_based, expect("transformers.modeling_attn_mask_utils"), shim_too=True),
    # the InternLM2 file's class gets no generation_config under transformers >= 4.50; the
    # adapter restores 4.49's generation (adapters/legacy_generation.py)
    "sa2va_internlm2": RealCheckpoint(
        build_internlm2_based, expect("transformers.modeling_attn_mask_utils"), shim_too=True),
    "sa2va_qwen2_5_vl": RealCheckpoint(
        lambda f: build_qwen_based(f, "models_qwen2_5_vl", qwen3=False),
        expect("never calls post_init()"), shim_too=True),
    "sa2va_qwen3_vl": RealCheckpoint(
        lambda f: build_qwen_based(f, "models_qwen3vl", qwen3=True),
        expect("never calls post_init()"), shim_too=True),
}
