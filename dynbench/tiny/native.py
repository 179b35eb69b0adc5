"""Tiny random-weight checkpoints of the transformers-native VLM architectures.

Each builder writes a folder that loads exactly like a downloaded checkpoint
(``AutoModelForImageTextToText`` + ``AutoProcessor``): config of the real architecture with
toy sizes, seeded random weights, an offline byte-level BPE tokenizer carrying the
architecture's special tokens, a short chat template, and the real image/video processors.
A folder is well under 2 MB and builds in about a second; weights are seeded so greedy
outputs are deterministic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SEED = 0
QWEN_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>",
                 "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>")
INTERNVL_TOKENS = {"start_image_token": "<img>", "end_image_token": "</img>",
                   "context_image_token": "<IMG_CONTEXT>", "video_token": "<video>"}
INTERNVL_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", *INTERNVL_TOKENS.values())
TEXT = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-6}

# Short templates in the spirit of each family's real one (real checkpoints ship their own).
# No whitespace control: every literal newline below is part of the prompt.
_CONTENT = (
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for c in message['content'] %}"
    "{% if c['type'] == 'video' %}VIDEO"
    "{% elif c['type'] == 'image' %}IMAGE"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
)
_CHAT = (
    "{% for message in messages %}SYSTEM"
    "<|im_start|>{{ message['role'] }}\n" + _CONTENT + "<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_QWEN_VISION = ("<|vision_start|><|video_pad|><|vision_end|>",
                "<|vision_start|><|image_pad|><|vision_end|>")
_DEFAULT_SYSTEM = ("{% if loop.first and message['role'] != 'system' %}"
                   "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}")


def chat_template(video: str, image: str, default_system: bool) -> str:
    """A minimal Qwen-style (ChatML) template with the family's vision placeholders."""
    text = _CHAT.replace("VIDEO", video).replace("IMAGE", image)
    return text.replace("SYSTEM", _DEFAULT_SYSTEM if default_system else "")


def byte_level_tokenizer(specials: tuple[str, ...], **named: Any):
    """Byte-level BPE (256-byte alphabet, no merges) plus special tokens, as Qwen2's class."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import Qwen2TokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    backend = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)}, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return Qwen2TokenizerFast(tokenizer_object=backend, eos_token="<|im_end|>",
                              pad_token="<|endoftext|>", unk_token=None, **named)


def _vocab_size(tokenizer) -> int:
    """Round up so the embedding has a little headroom, like real checkpoints."""
    return (len(tokenizer) + 15) // 16 * 16


def _qwen_ids(tok) -> dict[str, int]:
    ids = tok.convert_tokens_to_ids
    return {"image_token_id": ids("<|image_pad|>"), "video_token_id": ids("<|video_pad|>"),
            "vision_start_token_id": ids("<|vision_start|>"),
            "vision_end_token_id": ids("<|vision_end|>")}


def _text_ids(tok) -> dict[str, int]:
    ids = tok.convert_tokens_to_ids
    return {"bos_token_id": ids("<|endoftext|>"), "eos_token_id": ids("<|im_end|>"),
            "pad_token_id": ids("<|endoftext|>")}


def _save(model_cls, config, processor, tok, folder: Path) -> None:
    """Instantiate seeded random weights and write model, processor and generation config."""
    import torch
    from transformers import GenerationConfig

    torch.manual_seed(SEED)
    model = model_cls(config).eval()
    ids = _text_ids(tok)
    model.generation_config = GenerationConfig(
        bos_token_id=ids["bos_token_id"], eos_token_id=ids["eos_token_id"],
        pad_token_id=ids["pad_token_id"], do_sample=False)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)


# The pixel and frame settings the real checkpoints ship (Qwen2.5-VL-7B-Instruct's
# preprocessor_config.json: min/max_pixels, read by the video processor too; Qwen3-VL's
# preprocessor_config.json and video_preprocessor_config.json), so the tiny models see the
# frame sizes and counts the real ones do. Fresh dicts: transformers 4.57's Qwen2-VL video
# processor writes min/max_pixels into its class-level default ``size``.
QWEN2_5_SIZES = {"image": {"shortest_edge": 3136, "longest_edge": 12845056},
                 "video": {"shortest_edge": 3136, "longest_edge": 12845056}}
QWEN3_SIZES = {"image": {"shortest_edge": 65536, "longest_edge": 16777216},
               "video": {"shortest_edge": 4096, "longest_edge": 25165824}}
QWEN3_SAMPLING = {"fps": 2, "min_frames": 4, "max_frames": 768, "do_sample_frames": True}


def _qwen_processor(cls_name: str, tok, patch: int, default_system: bool,
                    sizes: dict[str, dict[str, int]], **video_settings):
    """Processor of a Qwen-VL family with the real image and video processor classes."""
    import transformers as tf

    image_cls = tf.Qwen2VLImageProcessor
    video_cls = tf.Qwen3VLVideoProcessor if "Qwen3" in cls_name else tf.Qwen2VLVideoProcessor
    common = {"patch_size": patch, "temporal_patch_size": 2, "merge_size": 2}
    image = image_cls(**common, size=dict(sizes["image"]))
    video = video_cls(**common, size=dict(sizes["video"]), **video_settings)
    template = chat_template(*_QWEN_VISION, default_system=default_system)
    return getattr(tf, cls_name)(image_processor=image, tokenizer=tok, video_processor=video,
                                 chat_template=template)


def build_qwen2_5_vl(folder: Path) -> None:
    """Qwen2_5_VLForConditionalGeneration, 2 text + 2 vision layers, patch 14."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    tok = byte_level_tokenizer(QWEN_SPECIALS)
    text = {**TEXT, **_text_ids(tok), "vocab_size": _vocab_size(tok), "rope_theta": 1e6,
            # mrope sections (t, h, w) must sum to head_dim / 2 = 8
            "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]}}
    vision = {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
              "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2,
              "window_size": 56, "fullatt_block_indexes": [1], "tokens_per_second": 2,
              "out_hidden_size": TEXT["hidden_size"]}
    config = Qwen2_5_VLConfig(text_config=text, vision_config=vision, **_qwen_ids(tok))
    config.architectures = ["Qwen2_5_VLForConditionalGeneration"]
    processor = _qwen_processor("Qwen2_5_VLProcessor", tok, 14, True, QWEN2_5_SIZES)
    _save(Qwen2_5_VLForConditionalGeneration, config, processor, tok, folder)


def _qwen3_parts(tok) -> tuple[dict, dict]:
    text = {**TEXT, **_text_ids(tok), "vocab_size": _vocab_size(tok), "head_dim": 16,
            "rope_theta": 5e6,
            # interleaved mrope sections (t, h, w) must sum to head_dim / 2 = 8
            "rope_scaling": {"rope_type": "default", "mrope_section": [4, 2, 2],
                             "mrope_interleaved": True}}
    vision = {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
              "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2,
              "num_position_embeddings": 64, "deepstack_visual_indexes": [0],
              "out_hidden_size": TEXT["hidden_size"]}
    return text, vision


def _build_qwen3(folder: Path, moe: bool) -> None:
    import transformers as tf

    tok = byte_level_tokenizer(QWEN_SPECIALS)
    text, vision = _qwen3_parts(tok)
    if moe:
        text.update(num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32,
                    decoder_sparse_step=1)
    prefix = "Qwen3VLMoe" if moe else "Qwen3VL"
    config = getattr(tf, prefix + "Config")(text_config=text, vision_config=vision,
                                            **_qwen_ids(tok))
    config.architectures = [prefix + "ForConditionalGeneration"]
    processor = _qwen_processor("Qwen3VLProcessor", tok, 16, False, QWEN3_SIZES,
                                **QWEN3_SAMPLING)
    _save(getattr(tf, prefix + "ForConditionalGeneration"), config, processor, tok, folder)


def build_qwen3_vl(folder: Path) -> None:
    """Qwen3VLForConditionalGeneration (dense), patch 16, one deepstack layer."""
    _build_qwen3(folder, moe=False)


def build_qwen3_vl_moe(folder: Path) -> None:
    """Qwen3VLMoeForConditionalGeneration with 4 experts, 2 active per token."""
    _build_qwen3(folder, moe=True)


def _internvl_processor(tok):
    import transformers as tf

    size = {"height": 28, "width": 28}
    norm = {"image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}
    image = tf.GotOcr2ImageProcessor(size=size, crop_to_patches=False, **norm)
    video = tf.InternVLVideoProcessor(size=size, **norm)
    template = chat_template("<video>\n", "<IMG_CONTEXT>\n", default_system=False)
    return tf.InternVLProcessor(image_processor=image, tokenizer=tok, video_processor=video,
                                image_seq_length=1, chat_template=template)


def build_internvl_hf(folder: Path) -> None:
    """InternVLForConditionalGeneration (-hf format): 28x28 tiles, one token per tile."""
    from transformers import InternVLConfig, InternVLForConditionalGeneration

    tok = byte_level_tokenizer(INTERNVL_SPECIALS, extra_special_tokens=INTERNVL_TOKENS)
    text = {**TEXT, **_text_ids(tok), "model_type": "qwen2", "vocab_size": _vocab_size(tok),
            "rope_theta": 1e6}
    vision = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
              "num_attention_heads": 2, "image_size": [28, 28], "patch_size": [14, 14]}
    config = InternVLConfig(text_config=text, vision_config=vision, image_seq_length=1,
                            image_token_id=tok.convert_tokens_to_ids("<IMG_CONTEXT>"))
    config.architectures = ["InternVLForConditionalGeneration"]
    _save(InternVLForConditionalGeneration, config, _internvl_processor(tok), tok, folder)
