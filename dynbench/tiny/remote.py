"""Tiny stand-in checkpoints for the remote-code families (Sa2VA, InternVL chat, LLaVA-OV-1.5,
UniPixel).

Each builder writes a folder laid out like the real checkpoint: ``config.json`` with
``auto_map``, the stand-in's .py files next to seeded random weights, and the tokenizer or
processor the real checkpoint ships, all loadable offline. (Sa2VA and InternVL chat are
written by :func:`_save_split` without importing their model modules, which fail under
transformers 5 as the real ones do; the others by ``register_for_auto_class`` +
``save_pretrained``.) Loading then goes through
``trust_remote_code=True`` exactly as for the real model. The model code is a stand-in
(``dynbench.tiny.standins``), never the real architecture; configs say so
(``dynbench_standin: true``) and adapters report such runs as "smoke".

UniPixel's real checkpoint is loaded by its own package, not by remote code. Its stand-in
checkpoint is loaded by a stand-in package (``UNIPIXEL_STANDIN_PATH``), which the UniPixel
adapter puts on ``sys.path`` itself when a checkpoint says it is a stand-in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dynbench.tiny.native import byte_level_tokenizer, chat_template

SEED = 0
UNIPIXEL_STANDIN_PATH = Path(__file__).parent / "standins" / "unipixel_pkg"
QWEN_VL_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>",
                    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>")
INTERNVL_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<img>", "</img>",
                     "<IMG_CONTEXT>", "<quad>", "</quad>", "<ref>", "</ref>", "<box>",
                     "</box>")
QWEN_VISION = ("<|vision_start|><|video_pad|><|vision_end|>",
               "<|vision_start|><|image_pad|><|vision_end|>")
# R > G, per pixel: lets tests predict every stand-in mask from the frame alone
MASK_WEIGHT = ((4.0, -4.0, 0.0),)


def _vocab_size(tokenizer: Any) -> int:
    return (len(tokenizer) + 15) // 16 * 16


def _qwen_vl_processor(tokenizer: Any) -> Any:
    """A real ``Qwen2_5_VLProcessor`` with small pixel budgets (as LLaVA-OV-1.5 ships one)."""
    import transformers as tf

    common = {"patch_size": 14, "temporal_patch_size": 2, "merge_size": 2,
              "min_pixels": 4 * 28 * 28, "max_pixels": 64 * 28 * 28}
    return tf.Qwen2_5_VLProcessor(
        image_processor=tf.Qwen2VLImageProcessor(**common),
        video_processor=tf.Qwen2VLVideoProcessor(**common),
        tokenizer=tokenizer, chat_template=chat_template(*QWEN_VISION, default_system=False))


def _red_over_green(head: Any) -> None:
    """Set a per-pixel mask head (Linear or 1x1 Conv, 3 -> 1) to ``R > G``."""
    import torch

    head.weight.copy_(torch.tensor(MASK_WEIGHT).reshape(head.weight.shape))
    head.bias.zero_()


def _save(model_cls: Any, config: Any, folder: Path, *preprocessors: Any,
          auto: str = "AutoModel", mask_head: Any = None) -> None:
    """Register for the auto classes, build seeded weights, save model and preprocessors.

    ``mask_head(model)`` names the model's per-pixel mask layer, if any, to set to ``R > G``.
    """
    import torch

    type(config).register_for_auto_class()
    model_cls.register_for_auto_class(auto)
    with torch.random.fork_rng():
        torch.manual_seed(SEED)
        model = model_cls(config).eval()
    if mask_head is not None:
        with torch.no_grad():
            _red_over_green(mask_head(model))
    model.save_pretrained(folder)
    for pre in preprocessors:
        pre.save_pretrained(folder)


STANDINS = Path(__file__).parent / "standins"


def _save_split(folder: Path, config: Any, model: tuple[str, str], modules: tuple[str, ...],
                parts: Any, *preprocessors: Any, prepare: Any = None) -> None:
    """Write a stand-in checkpoint without importing its model module.

    The model modules import what the real ones import (``transformers.modeling_attn_mask_utils``
    and such), so under transformers 5 they fail exactly where the real code fails, at load.
    The folder is therefore written from the config and the torch-only parts: ``config.json``
    with ``auto_map``, seeded weights of ``parts(config)`` (``prepare`` may set some), the
    stand-in's .py files, and the tokenizer or processor.
    """
    import torch
    from safetensors.torch import save_file

    module, cls = model
    folder.mkdir(parents=True, exist_ok=True)
    config.architectures = [cls]
    config.auto_map = {"AutoConfig": f"{modules[0]}.{type(config).__name__}",
                       "AutoModel": f"{module}.{cls}"}
    config.save_pretrained(folder)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        built = parts(config)
    if prepare is not None:
        prepare(built)
    weights = {f"{name}.{key}": value.detach().contiguous()
               for name, part in built.items() for key, value in part.state_dict().items()}
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    for name in (module, *modules):
        (folder / f"{name}.py").write_bytes((STANDINS / f"{name}.py").read_bytes())
    for pre in preprocessors:
        pre.save_pretrained(folder)


def _sa2va_tokenizer() -> Any:
    return byte_level_tokenizer(INTERNVL_SPECIALS + ("[SEG]", "<p>", "</p>", "<vp>", "</vp>"))


def _sa2va_mask_head(parts: dict) -> None:
    from dynbench.tiny.standins.sa2va_standin_parts import set_red_over_green

    set_red_over_green(parts["grounding_encoder"])


def build_sa2va(folder: Path) -> None:
    """Sa2VA on InternVL (``ByteDance/Sa2VA-4B`` layout): ``llm_config`` + slow tokenizer."""
    from dynbench.tiny.standins.sa2va_standin_config import Sa2VAStandInConfig
    from dynbench.tiny.standins.sa2va_standin_parts import build_parts

    tok = _sa2va_tokenizer()
    # Sa2VA-4B's LLM is Qwen2.5: an LLM of the Qwen family must not flip it to processor=
    config = Sa2VAStandInConfig(llm_config={"architectures": ["Qwen2ForCausalLM"],
                                            "model_type": "qwen2"},
                                vocab_size=_vocab_size(tok), torch_dtype="bfloat16")
    _save_split(folder, config, ("sa2va_standin", "Sa2VAStandInModel"),
                ("sa2va_standin_config", "sa2va_standin_parts"), build_parts, tok,
                prepare=_sa2va_mask_head)


def build_sa2va_qwen(folder: Path) -> None:
    """Sa2VA on Qwen2.5-VL (``ByteDance/Sa2VA-Qwen2_5-VL-3B`` layout): Qwen-VL config, processor."""
    from dynbench.tiny.standins.sa2va_standin_config import Sa2VAQwenStandInConfig
    from dynbench.tiny.standins.sa2va_standin_parts import build_parts

    tok = byte_level_tokenizer(QWEN_VL_SPECIALS + ("[SEG]",))
    config = Sa2VAQwenStandInConfig(text_config={"model_type": "qwen2_5_vl_text"},
                                    vision_config={"model_type": "qwen2_5_vl", "patch_size": 14,
                                                   "temporal_patch_size": 2},
                                    vocab_size=_vocab_size(tok), torch_dtype="bfloat16")
    _save_split(folder, config, ("sa2va_qwen_standin", "Sa2VAQwenStandInModel"),
                ("sa2va_standin_config", "sa2va_standin_parts"), build_parts,
                _qwen_vl_processor(tok), prepare=_sa2va_mask_head)


def _internvl_chat(folder: Path, model: tuple[str, str]) -> None:
    from dynbench.tiny.standins.internvl_chat_standin_config import InternVLChatStandInConfig
    from dynbench.tiny.standins.internvl_chat_standin_parts import build_parts

    tok = byte_level_tokenizer(INTERNVL_SPECIALS)
    config = InternVLChatStandInConfig(vocab_size=_vocab_size(tok), torch_dtype="bfloat16")
    _save_split(folder, config, model,
                ("internvl_chat_standin_config", "internvl_chat_standin_parts"), build_parts, tok)


def build_internvl_chat(folder: Path) -> None:
    """InternVL3 remote-code chat (``OpenGVLab/InternVL3-8B`` layout): 448px tiles, tokenizer."""
    _internvl_chat(folder, ("internvl_chat_standin", "InternVLChatStandInModel"))


def build_internvl3_5_chat(folder: Path) -> None:
    """InternVL3.5 remote-code chat (``OpenGVLab/InternVL3_5-8B``): bf16 projector, no post_init."""
    _internvl_chat(folder, ("internvl3_5_chat_standin", "InternVL35ChatStandInModel"))


def build_llava_ov_1_5(folder: Path) -> None:
    """LLaVA-OV-1.5 Instruct layout: causal-LM auto class and a Qwen2.5-VL processor."""
    from dynbench.tiny.standins.llava_onevision1_5_standin import (
        LLaVAOneVision1_5StandInConfig,
        LLaVAOneVision1_5StandInForConditionalGeneration,
    )

    tok = byte_level_tokenizer(QWEN_VL_SPECIALS)
    ids = tok.convert_tokens_to_ids
    config = LLaVAOneVision1_5StandInConfig(
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vocab_size=_vocab_size(tok), answer_token_ids=[ids(c) for c in "ABCD"],
        end_token_id=ids("<|im_end|>"))
    _save(LLaVAOneVision1_5StandInForConditionalGeneration, config, folder,
          _qwen_vl_processor(tok), auto="AutoModelForCausalLM")


def build_unipixel(folder: Path) -> None:
    """UniPixel layout (``PolyU-ChenLab/UniPixel-3B``): Qwen2.5-VL processor, ``<|seg|>`` token.

    The real checkpoint has no ``auto_map`` (the ``unipixel`` package registers its classes);
    this one is loaded by the stand-in package's ``build_model`` through remote code.
    """
    from dynbench.tiny.standins.unipixel_standin import (
        UniPixelStandInConfig,
        UniPixelStandInForConditionalGeneration,
    )

    tok = byte_level_tokenizer(QWEN_VL_SPECIALS + ("<|ref|>", "<|seg|>", "<|mem|>"))
    ids = tok.convert_tokens_to_ids
    config = UniPixelStandInConfig(
        seg_token_id=ids("<|seg|>"), video_token_id=ids("<|video_pad|>"),
        vocab_size=_vocab_size(tok), answer_token_ids=[ids(c) for c in "ABCD"],
        end_token_id=ids("<|im_end|>"))
    _save(UniPixelStandInForConditionalGeneration, config, folder, _qwen_vl_processor(tok),
          mask_head=lambda m: m.sam2.mask_head)
