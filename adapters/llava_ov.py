"""LLaVA-OneVision-1.5 (``lmms-lab/LLaVA-OneVision-1.5-{4B,8B}-Instruct``), QA only.

Call contract from the model card ("Quick Start with HuggingFace" in
``EvolvingLMMs-Lab/LLaVA-OneVision-1.5``'s README) and the paper's code
(``Dynamics-X/Thinking-in-Dynamics``, ``utils/run_qa_task.py``)::

    model = AutoModelForCausalLM.from_pretrained(path, trust_remote_code=True)
    processor = AutoProcessor.from_pretrained(path, trust_remote_code=True)  # Qwen2.5-VL's
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    images, videos = qwen_vl_utils.process_vision_info(messages)
    inputs = processor(text=[text], images=images, videos=videos, padding=True,
                       return_tensors="pt")
    ids = model.generate(**inputs, max_new_tokens=1024)
    processor.batch_decode(ids[:, prompt_len:], skip_special_tokens=True)

The messages carry the frames as one video entry of PIL images (qwen_vl_utils' defaults
resize them). The remote ``forward`` knows no ``second_per_grid_ts`` (the paper drops it)
nor newer processors' ``mm_token_type_ids``; every key ``forward`` does not accept is dropped.

The remote code needs transformers 4 (it imports ``transformers.modeling_attn_mask_utils``,
reads the text config's ``pad_token_id`` and ``ROPE_INIT_FUNCTIONS["default"]``, all gone in
5.x): under 5.x loading raises one LoadError with the install command. It hard-codes no dtype
(pixels are cast to the vision tower's weights), so the shared policy applies and fp16/fp32
overrides run.
"""

from __future__ import annotations

from typing import Any, ClassVar

from dynbench.adapters import compat, loading
from dynbench.adapters import qwen_inputs as qi
from dynbench.adapters import remote_common as rc
from dynbench.adapters.base import QA, Adapter, QARequest, Video
from dynbench.adapters.hf_common import accepts_kwarg

CODE = "its remote code"


def video_messages(video: Video, prompt: str) -> list[dict[str, Any]]:
    """One user turn: the frames as a video (PIL list), then the prompt."""
    return qi.video_message(video.frames, prompt)


class LlavaOV15Adapter(Adapter):
    """LLaVA-OneVision-1.5 Instruct through its remote causal-LM class and its processor."""

    family: ClassVar[str] = "llava_ov_1_5"
    capabilities: ClassVar[frozenset[str]] = frozenset({QA})
    generation_defaults: ClassVar[dict[str, Any]] = {"max_new_tokens": 1024}

    def __init__(self, spec: Any) -> None:
        super().__init__(spec)
        self.model: Any = None
        self.processor: Any = None
        self.facts: dict[str, Any] = {}

    def load(self) -> None:
        from transformers import AutoModelForCausalLM, AutoProcessor

        self.facts["qwen_vl_utils"] = qi.checked_version()
        loading.set_allocator_defaults()
        device = loading.resolve_device(self.spec)
        with loading.timed(self.facts, "load_s"):
            try:
                model = rc.load_pretrained(AutoModelForCausalLM, self.spec, device)
                self.processor = rc.load_preprocessor(AutoProcessor, self.spec, device)
            except Exception as exc:
                compat.raise_load_error(self.spec.name, CODE, exc)
            self.model = loading.place(model, self.spec, device)
        self.facts.update(rc.base_facts(self.model, self.spec, device))

    def _inputs(self, video: Video, prompt: str) -> Any:
        messages = video_messages(video, prompt)
        text = self.processor.apply_chat_template(messages, tokenize=False,
                                                  add_generation_prompt=True)
        # frames: qwen_vl_utils' video of the PIL frames, as the paper's code makes it; 5.x
        # processors must not add their own per-frame cap (4.57.1 has none)
        videos = [qi.qwen_vl_utils_video(video.frames)]
        vp = getattr(self.processor, "video_processor", None)
        keep = {"cap_pixels_per_frame": False} \
            if vp is not None and accepts_kwarg(vp, "cap_pixels_per_frame") else {}
        inputs = self.processor(text=[text], images=None, videos=videos, padding=True,
                                return_tensors="pt", **keep)
        return inputs.to(self.model.device)

    def answer(self, video: Video, request: QARequest) -> str:
        import torch

        inputs = self._inputs(video, request.prompt)
        kwargs, dropped = rc.accepted_kwargs(self.model.forward, inputs)
        if dropped:
            loading.say_once(f"LLaVA-OV-1.5: dropping processor outputs its forward does not "
                             f"take: {', '.join(dropped)}")
        generation = rc.generation_settings(self.generation_defaults, self.spec)
        with rc.oom_guard(), torch.inference_mode():
            ids = self.model.generate(**kwargs, **generation)
        new = ids[:, inputs["input_ids"].shape[1]:]
        return self.processor.batch_decode(new, skip_special_tokens=True,
                                           clean_up_tokenization_spaces=False)[0]

    def describe(self) -> dict[str, Any]:
        kind = "smoke" if rc.is_standin(self.model) else self.kind
        settings = {"frames": "qwen_vl_utils video (PIL frames, default pixel budget)",
                    "generation": rc.generation_settings(self.generation_defaults, self.spec)}
        return {**super().describe(), "kind": kind, **self.facts, "settings": settings}

    def close(self) -> None:
        self.model = self.processor = None
        loading.free_cuda_cache()
