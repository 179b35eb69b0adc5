"""Tiny random-weight checkpoints built from the *published* code of LLaVA-OV-1.5 and UniPixel.

Used by the opt-in ``tests/test_realcode.py`` (``DYNBENCH_REALCODE=<folder of fetched public
repositories>``). The published files are read from that folder at test time, never copied
into this repository:

* ``$DYNBENCH_REALCODE/LLaVA-OneVision-1.5`` (GitHub ``EvolvingLMMs-Lab/LLaVA-OneVision-1.5``):
  ``ds/llavaonevision1_5/{configuration,modeling}_llavaonevision1_5.py``, the files the hub
  checkpoints ship as remote code. On the hub they sit next to each other, so the modeling
  file's ``from llavaonevision1_5.configuration_llavaonevision1_5 import`` becomes the hub's
  relative ``from .configuration_llavaonevision1_5 import``; nothing else is changed.
* ``$DYNBENCH_REALCODE/UniPixel`` (GitHub ``PolyU-ChenLab/UniPixel``): its ``unipixel`` and
  ``sam2`` packages, imported with the checkout on ``sys.path`` as the official evaluation
  does. Building runs in a subprocess (``python -m tests.realcode.llava_unipixel unipixel
  REPO OUT``) so the test process never imports the real package.

Sizes are toy (2-layer decoders, one Rice ViT block, SAM2.1 Hiera-T at 128 px). The decoders
are steered (``dynbench.tiny.steering``) so greedy decoding emits a letter, then (UniPixel)
``<|seg|>``, then ``<|im_end|>``: the real segmentation path runs on every mask case.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

LLAVA_CODE = Path("ds") / "llavaonevision1_5"
LLAVA_FILES = ("configuration_llavaonevision1_5.py", "modeling_llavaonevision1_5.py")
HUB_IMPORT = ("from llavaonevision1_5.configuration_llavaonevision1_5 import",
              "from .configuration_llavaonevision1_5 import")
SAM2_CONFIG = "configs/sam2.1_hiera_t"  # the smallest SAM2 config UniPixel ships
SAM2_SIZE = 128
ROOT = Path(__file__).resolve().parents[2]


def _tokenizer(*extra: str):
    from dynbench.tiny.native import QWEN_SPECIALS, byte_level_tokenizer

    tok = byte_level_tokenizer(QWEN_SPECIALS + extra)
    return tok, tok.convert_tokens_to_ids, (len(tok) + 15) // 16 * 16


def _processor(cls, tok, temporal_patch_size: int):
    import transformers as tf

    from dynbench.tiny.native import chat_template

    common = {"patch_size": 14, "temporal_patch_size": temporal_patch_size, "merge_size": 2,
              "min_pixels": 4 * 28 * 28, "max_pixels": 64 * 28 * 28}
    template = chat_template("<|vision_start|><|video_pad|><|vision_end|>",
                             "<|vision_start|><|image_pad|><|vision_end|>", default_system=True)
    return cls(image_processor=tf.Qwen2VLImageProcessor(**common),
               video_processor=tf.Qwen2VLVideoProcessor(**common), tokenizer=tok,
               chat_template=template)


def _generation_config(folder: Path, ids) -> None:
    from transformers import GenerationConfig

    GenerationConfig(bos_token_id=ids("<|endoftext|>"), eos_token_id=ids("<|im_end|>"),
                     pad_token_id=ids("<|endoftext|>")).save_pretrained(folder)


def copy_llava_code(repo: Path, folder: Path) -> None:
    """The two published files, laid out as on the hub (one relative import)."""
    for name in LLAVA_FILES:
        text = (repo / LLAVA_CODE / name).read_text()
        if name.startswith("modeling"):
            if HUB_IMPORT[0] not in text:
                raise RuntimeError(f"{repo / LLAVA_CODE / name}: expected '{HUB_IMPORT[0]}'")
            text = text.replace(*HUB_IMPORT)
        (folder / name).write_text(text)


def llava_config(ids, vocab: int) -> dict:
    text = {"vocab_size": vocab, "hidden_size": 32, "intermediate_size": 64,
            "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
            "head_dim": 16, "max_position_embeddings": 4096, "rope_theta": 5e6,
            "tie_word_embeddings": False, "bos_token_id": ids("<|endoftext|>"),
            "eos_token_id": ids("<|im_end|>")}  # no pad_token_id: as the real text config
    vision = {"depth": 1, "embed_dim": 32, "hidden_size": 32, "intermediate_size": 64,
              "num_heads": 2, "patch_size": 14, "spatial_merge_size": 2,
              "temporal_patch_size": 1, "text_hidden_size": 32}
    return {"architectures": ["LLaVAOneVision1_5_ForConditionalGeneration"],
            "model_type": "llavaonevision1_5", "tie_word_embeddings": False,
            "auto_map": {"AutoConfig": "configuration_llavaonevision1_5.Llavaonevision1_5Config",
                         "AutoModelForCausalLM": "modeling_llavaonevision1_5."
                                                 "LLaVAOneVision1_5_ForConditionalGeneration"},
            "text_config": text, "vision_config": vision, "vocab_size": vocab,
            "image_token_id": ids("<|image_pad|>"), "video_token_id": ids("<|video_pad|>")}


def build_llava_ov_1_5(repo: Path, folder: Path) -> bool:
    """Write the checkpoint; False when the published code cannot be instantiated here (then
    the folder has code, config and processor but no weights: loading fails at the import)."""
    import torch
    import transformers as tf

    from dynbench.tiny.steering import qwen_writers, steer_decoder

    folder.mkdir(parents=True, exist_ok=True)
    tok, ids, vocab = _tokenizer()
    copy_llava_code(repo, folder)
    (folder / "config.json").write_text(json.dumps(llava_config(ids, vocab), indent=1))
    _processor(tf.Qwen2_5_VLProcessor, tok, temporal_patch_size=1).save_pretrained(folder)
    _generation_config(folder, ids)
    try:
        config = tf.AutoConfig.from_pretrained(folder, trust_remote_code=True)
        torch.manual_seed(0)
        model = tf.AutoModelForCausalLM.from_config(config, trust_remote_code=True).eval()
    except Exception as exc:  # transformers 5: the published code stops at import or init
        print(f"LLaVA-OV-1.5 real code not instantiable here: {type(exc).__name__}: {exc}")
        return False
    lm = model.model.language_model
    steer_decoder(lm.embed_tokens, qwen_writers(lm), lm.norm, model.lm_head,
                  [(None, ids("B")), (ids("B"), ids("<|im_end|>"))])
    model.save_pretrained(folder)
    return True


def build_unipixel(repo: Path, folder: Path) -> None:
    """Run with ``repo`` importable (see the module docstring): real classes, tiny sizes."""
    import torch

    sys.path.insert(0, str(repo))
    from unipixel.model.qwen2_5_vl import (
        PatchedQwen2_5_VLProcessor,
        PixelQwen2_5_VLConfig,
        PixelQwen2_5_VLForConditionalGeneration,
    )

    from dynbench.tiny.steering import qwen_writers, steer_decoder

    folder.mkdir(parents=True, exist_ok=True)
    tok, ids, vocab = _tokenizer("<|ref|>", "<|seg|>", "<|mem|>")
    text = {"vocab_size": vocab, "hidden_size": 64, "intermediate_size": 128,
            "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
            "max_position_embeddings": 4096, "rope_theta": 1e6, "tie_word_embeddings": False,
            "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]},
            "bos_token_id": ids("<|endoftext|>"), "eos_token_id": ids("<|im_end|>"),
            "pad_token_id": ids("<|endoftext|>")}
    vision = {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
              "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2,
              "window_size": 56, "fullatt_block_indexes": [1], "tokens_per_second": 2,
              "out_hidden_size": 64}
    # the fields UniPixel's training script writes into the released configs
    config = PixelQwen2_5_VLConfig(
        text_config=text, vision_config=vision, tie_word_embeddings=False,
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
        sam2_config=SAM2_CONFIG, sam2_checkpoint=None, sam2_image_size=SAM2_SIZE,
        sam2_hidden_tokens=2, sam2_batch_mode=False, sam2_apply_postprocessing=False,
        sam2_enable_decoder=True, sam2_inference_mode=True, sample_objects=-1,
        ref_token_id=ids("<|ref|>"), seg_token_id=ids("<|seg|>"), mem_token_id=ids("<|mem|>"),
        base_model="qwen2_5_vl", conv_type="chatml")
    config.architectures = ["PixelQwen2_5_VLForConditionalGeneration"]
    torch.manual_seed(0)
    model = PixelQwen2_5_VLForConditionalGeneration(config).eval()
    lm = model.model.language_model
    steer_decoder(lm.embed_tokens, qwen_writers(lm), lm.norm, model.lm_head,
                  [(None, ids("A")), (ids("A"), ids("<|seg|>")),
                   (ids("<|seg|>"), ids("<|im_end|>"))])
    model.config.sam2_inference_mode = False  # as released; build_model sets it for inference
    model.to(torch.bfloat16).save_pretrained(folder)
    _processor(PatchedQwen2_5_VLProcessor, tok, temporal_patch_size=2).save_pretrained(folder)
    _generation_config(folder, ids)


def failure_chain(folder: Path) -> list[str]:
    """Each failure of instantiating the checkpoint's remote code, getting past one at a time:
    a stand-in for the module transformers 5 removed, then a ``pad_token_id`` of None."""
    import types

    import transformers as tf

    name = "transformers.modeling_attn_mask_utils"
    try:
        __import__(name)
    except ImportError:
        fake = types.ModuleType(name)
        fake.AttentionMaskConverter = type("AttentionMaskConverter", (), {})
        sys.modules[name] = fake
    failures = []
    config = tf.AutoConfig.from_pretrained(folder, trust_remote_code=True)
    for _ in range(3):
        try:
            tf.AutoModelForCausalLM.from_config(config, trust_remote_code=True)
            return failures
        except (AttributeError, KeyError) as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
            if "pad_token_id" not in str(exc):
                return failures
            config.text_config.pad_token_id = None
    return failures


# ------------------------------------------------------------ running them (test side)


def child_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Offline hub, a throwaway HF_HOME, this checkout importable, plus ``extra``."""
    path = os.pathsep.join(p for p in (extra.pop("PYTHONPATH", ""), str(ROOT),
                                       os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "HF_HOME": str(tmp_path / "hf-home"), "PYTHONPATH": path, **extra}


def run_here(args: list[str], env: dict[str, str]) -> str:
    """``python -m tests.realcode.llava_unipixel ARGS`` in a fresh process; its stdout."""
    done = subprocess.run([sys.executable, "-m", "tests.realcode.llava_unipixel", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    if done.returncode:
        raise AssertionError(f"{args}: exit {done.returncode}\n{done.stderr[-4000:]}")
    return done.stdout


def run_python(script: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1200)
    if done.returncode:
        raise AssertionError(f"exit {done.returncode}\n{done.stderr[-4000:]}")
    return done.stdout.strip().splitlines()[-1]


def bench_file() -> Path:
    for rel in ("bench_tests/test_dynbench.py", "dynbench/bench/test_dynbench.py"):
        if (ROOT / rel).is_file():
            return ROOT / rel
    raise FileNotFoundError("the benchmark's test file")


def run_bench(pytester, monkeypatch, model: Path, data: Path, out: Path, env: dict[str, str]):
    """``pytest --model <folder>`` in a subprocess, as a user runs it."""
    for key, value in env.items():
        if os.environ.get(key) != value:
            monkeypatch.setenv(key, value)
    pytester.makepyfile(test_dynbench=bench_file().read_text())
    return pytester.runpytest_subprocess("--model", str(model), "--data-dir", str(data),
                                         "--report-dir", str(out), "--max-frames", "3",
                                         "-p", "no:cacheprovider")


def samples(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]


def outcome_lines(result) -> list[str]:
    """The first LoadError with its fix line, the score summary and pytest's last line."""
    text = [line.strip() for line in (result.stdout.str() + result.stderr.str()).splitlines()]
    first = next((i for i, line in enumerate(text) if "LoadError:" in line), None)
    shown = text[first:first + 2] if first is not None else []
    shown += [line for line in text if line.startswith("cases ")]
    return shown + [line for line in text if line.startswith("=")][-1:]


def say(title: str, lines: list[str]) -> None:
    """What a run printed, for the record (visible with ``pytest -s``)."""
    print(f"\nREALCODE {title}")
    for line in lines:
        print(f"REALCODE   {line}")


if __name__ == "__main__":
    kind, repo, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    if kind == "unipixel":
        build_unipixel(repo, out)
    elif kind == "llava_ov_1_5":
        print("weights" if build_llava_ov_1_5(repo, out) else "no weights")
    elif kind == "chain":  # repo unused: the checkpoint folder is `out`
        print(json.dumps(failure_chain(out)))
    else:
        raise SystemExit(f"unknown checkpoint kind {kind!r}")
