"""Config of the InternVL chat stand-ins (NOT the real InternVL), laid out like the real one.

Mirrors ``InternVLChatConfig`` of ``OpenGVLab/InternVL`` (``internvl_chat/``,
``internvl_chat_gpt_oss/``): ``vision_config``, ``llm_config``, ``template``,
``force_image_size``, ``downsample_ratio``. Imports only transformers, so a checkpoint folder
can be written under any version.
"""

from __future__ import annotations

from typing import Any

from transformers import PretrainedConfig


class InternVLChatStandInConfig(PretrainedConfig):
    model_type = "internvl_chat"

    def __init__(self, vision_config: dict | None = None, llm_config: dict | None = None,
                 template: str = "internvl2_5", force_image_size: int = 448,
                 downsample_ratio: float = 0.5, hidden_size: int = 16, vocab_size: int = 320,
                 **kwargs: Any) -> None:
        self.vision_config = vision_config or {"architectures": ["InternVisionModel"],
                                               "image_size": 448, "patch_size": 112}
        self.llm_config = llm_config or {"architectures": ["Qwen2ForCausalLM"]}
        self.template = template
        self.force_image_size = force_image_size
        self.downsample_ratio = downsample_ratio
        self.hidden_size = hidden_size
        self.vocab_size = vocab_size
        self.dynbench_standin = True
        kwargs.pop("dynbench_standin", None)
        super().__init__(**kwargs)
