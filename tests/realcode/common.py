"""Shared machinery of the real-code checks: where the public code is, and checkpoint writing.

``DYNBENCH_REALCODE`` names a folder holding plain copies (git clones) of the public
repositories, one folder per repository named as on GitHub (``Sa2VA``, ``InternVL``,
``Thinking-in-Dynamics``, ...). Nothing from them is kept in this repository: the builders
copy the real files into temporary checkpoint folders at test time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ENV = "DYNBENCH_REALCODE"
SEED = 0


def realcode_root() -> Path | None:
    value = os.environ.get(ENV)
    return Path(value).expanduser() if value else None


def repo(name: str) -> Path:
    """A fetched public repository, or skip naming what is missing."""
    root = realcode_root()
    if root is None:
        pytest.skip(f"set {ENV} to a folder of public repositories (see README)")
    path = root / name
    if not path.is_dir():
        pytest.skip(f"{path} is missing: git clone it into ${ENV} (see README)")
    return path


@dataclass(frozen=True)
class RealCheckpoint:
    """How to build one tiny checkpoint from real code, and what running it must show.

    ``build(folder)`` writes the checkpoint and returns the build failure text, or None.
    ``expect(major, shim)`` gives (outcome, texts): outcome ``"answers"`` (every case passes)
    or ``"load_error"`` (the run stops at load and every text is in its output), for the
    installed transformers major and whether the child run pretends CUDA.
    """

    build: Callable[[Path], str | None]
    expect: Callable[[int, bool], tuple[str, tuple[str, ...]]]
    child_args: tuple[str, ...] = ()
    shim_too: bool = False  # also run under the pretend-CUDA shim
    notes: dict[str, Any] = field(default_factory=dict)


def tokenizer(specials: tuple[str, ...]):
    """Byte-level BPE whose id 0 is ``<|im_end|>``, as a Qwen2 tokenizer (slow and fast files).

    With id 0 the stop token, a model whose logits all tie (lm_head zeroed) stops at once,
    which keeps code that hard-codes 2048 new tokens (Sa2VA) fast on a CPU.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import Qwen2TokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {"<|im_end|>": 0, **{c: i + 1 for i, c in enumerate(alphabet)}}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    names = ("<|im_end|>", *(s for s in specials if s != "<|im_end|>"))
    backend.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in names])
    return Qwen2TokenizerFast(tokenizer_object=backend, eos_token="<|im_end|>",
                              pad_token="<|endoftext|>", unk_token=None)


def vocab_size(tok) -> int:
    return (len(tok) + 15) // 16 * 16


def copy_code(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)


def write_checkpoint(folder: Path, config: dict[str, Any], preprocessors: tuple = (),
                     generation: dict[str, Any] | None = None,
                     silence: Callable[[Any], Any] | None = None) -> str | None:
    """Build the model from the real code (seeded), save it in bf16 with its preprocessors.

    ``silence(model)`` returns a layer to zero (the LM head), so every step's logits tie.
    When this transformers cannot even build the model from the real code (transformers 5),
    the folder gets an empty weights file instead and the failure text is returned: loading
    must then fail at load, before any weight matters.
    """
    import torch
    from safetensors.torch import save_file
    from transformers import AutoConfig, AutoModel, GenerationConfig

    (folder / "config.json").write_text(json.dumps(config, indent=1))
    for pre in preprocessors:
        pre.save_pretrained(folder)
    try:
        built = AutoConfig.from_pretrained(folder, trust_remote_code=True)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(SEED)
            model = AutoModel.from_config(built, trust_remote_code=True)
        if silence is not None:
            with torch.no_grad():
                silence(model).weight.zero_()
        model.to(torch.bfloat16).save_pretrained(folder)
    except Exception as exc:  # noqa: BLE001 - reported by the test
        save_file({}, str(folder / "model.safetensors"), metadata={"format": "pt"})
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    if generation:
        GenerationConfig(**generation).save_pretrained(folder)
    return None


def qwen_ids(tok) -> dict[str, int]:
    ids = tok.convert_tokens_to_ids
    return {"image_token_id": ids("<|image_pad|>"), "video_token_id": ids("<|video_pad|>"),
            "vision_start_token_id": ids("<|vision_start|>"),
            "vision_end_token_id": ids("<|vision_end|>")}


def text_ids(tok) -> dict[str, int]:
    ids = tok.convert_tokens_to_ids
    return {"bos_token_id": ids("<|endoftext|>"), "eos_token_id": ids("<|im_end|>"),
            "pad_token_id": ids("<|endoftext|>")}
