"""Configs of the Sa2VA stand-ins (NOT the real Sa2VA): laid out like the real ones.

``Sa2VAStandInConfig`` mirrors the InternVL-based ``Sa2VAChatConfig`` (an ``llm_config`` and a
``vision_config``); ``Sa2VAQwenStandInConfig`` mirrors ``Sa2VAChatConfigQwen``, a Qwen-VL
config (``text_config``/``vision_config``). Knobs for tests: ``standin_seg_tokens`` ([SEG]
tokens per answer) and ``standin_drop_frames`` (masks for fewer frames than shown).
Imports only transformers, so a checkpoint folder can be written under any version.
"""

from __future__ import annotations

from typing import Any

from transformers import PretrainedConfig


class _Knobs:
    def _standin(self, hidden_size: int, vocab_size: int, seg_tokens: int,
                 drop_frames: int, kwargs: dict[str, Any]) -> None:
        self.hidden_size = hidden_size
        self.vocab_size = vocab_size
        self.standin_seg_tokens = seg_tokens
        self.standin_drop_frames = drop_frames
        self.dynbench_standin = True
        kwargs.pop("dynbench_standin", None)


class Sa2VAStandInConfig(_Knobs, PretrainedConfig):
    """InternVL-based layout (``ByteDance/Sa2VA-1B/4B/8B``, ``Sa2VA-InternVL3-*``)."""

    model_type = "sa2va_chat"

    def __init__(self, llm_config: dict | None = None, vision_config: dict | None = None,
                 template: str = "qwen_chat", hidden_size: int = 16, vocab_size: int = 320,
                 standin_seg_tokens: int = 1, standin_drop_frames: int = 0, **kwargs: Any):
        self.llm_config = llm_config or {"architectures": ["Qwen2ForCausalLM"],
                                         "model_type": "qwen2"}
        self.vision_config = vision_config or {"architectures": ["InternVisionModel"],
                                               "model_type": "intern_vit_6b",
                                               "image_size": 448, "patch_size": 14}
        self.template = template
        self._standin(hidden_size, vocab_size, standin_seg_tokens, standin_drop_frames, kwargs)
        super().__init__(**kwargs)


class Sa2VAQwenStandInConfig(_Knobs, PretrainedConfig):
    """Qwen-VL-based layout (``ByteDance/Sa2VA-Qwen2_5-VL-*``, ``Sa2VA-Qwen3-VL-*``)."""

    model_type = "sa2va_chat"

    def __init__(self, text_config: dict | None = None, vision_config: dict | None = None,
                 template: str | None = None, hidden_size: int = 16, vocab_size: int = 320,
                 standin_seg_tokens: int = 1, standin_drop_frames: int = 0, **kwargs: Any):
        self.text_config = text_config or {"model_type": "qwen2_5_vl_text"}
        self.vision_config = vision_config or {"model_type": "qwen2_5_vl", "patch_size": 14,
                                               "temporal_patch_size": 2}
        self.template = template
        self._standin(hidden_size, vocab_size, standin_seg_tokens, standin_drop_frames, kwargs)
        super().__init__(**kwargs)
