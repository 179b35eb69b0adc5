"""Sa2VA: InternVL2.5/InternVL3-based (``tokenizer=``) and Qwen-VL-based (``processor=``).

Call contract, checked against ``bytedance/Sa2VA`` (``projects/sa2va/hf/models*/
modeling_sa2va_*.py``, ``tools/convert_to_hf.py``, ``demo/demo.py``) and the paper's code
(``Dynamics-X/Thinking-in-Dynamics``, ``utils/load_model.py``, ``utils/run_mask_task.py``)::

    model = AutoModel.from_pretrained(path, trust_remote_code=True)
    out = model.predict_forward(video=[PIL...], text="<image>" + prompt, past_text="",
                                mask_prompts=None, tokenizer=tok)   # or processor=proc
    out["prediction"]        # text, ends with "<|im_end|>"
    out["prediction_masks"]  # one bool array (T, H, W) per [SEG] token, at frame 0's size

The InternVL wrappers assert ``tokenizer`` on first use; the Qwen wrappers assert
``processor``. Passing the wrong one fails, so which one is decided from the checkpoint's
config (see :func:`uses_processor`). Note the real model feeds only the first 5 frames to
the language model but segments every frame through SAM2.

Where it runs (from the real code): the InternVL wrappers call ``torch.tensor(ids).cuda()``
and every wrapper's SAM2 keeps its state on ``torch.device("cuda")``, so without a GPU not
one case can run: :meth:`Sa2VAAdapter.load` refuses a CPU once, with the fix. Frames for
the LLM and for SAM2 are cast to bfloat16 in ``predict_forward``: ``auto`` means bf16 and
other dtypes are refused at load. Bare ``.cuda()`` follows the *current* CUDA device, so
``--device cuda:N`` makes N current for loading and for every call. Sa2VA-8B/-26B's InternLM2
LLM was written for transformers < 4.50 and gets its 4.49 generation back at load
(:func:`restore_llm_generation`).
"""

from __future__ import annotations

import re
from typing import Any

from dynbench.adapters import legacy_generation, loading
from dynbench.adapters import remote_common as rc
from dynbench.adapters.base import (
    MASK,
    QA,
    Adapter,
    MaskRequest,
    QARequest,
    Segmentation,
    Video,
)

QWEN_CLASS = "sa2vachatmodelqwen"  # architectures / auto_map of the Qwen-VL wrappers
QWEN_VL_TYPES = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl")  # model_type prefixes
QWEN_HUB_ID = re.compile(r"Sa2VA-Qwen", re.IGNORECASE)
NEEDS_CUDA = ("the InternVL-based wrappers call .cuda() on the token ids in predict_forward, "
              "and every variant's SAM2 keeps its state on torch.device('cuda')")
BF16_CASTS = "predict_forward casts the frames for the LLM and for SAM2 to torch.bfloat16"


def _class_names(config: dict[str, Any]) -> str:
    names = list(config.get("architectures") or [])
    names += [str(v) for v in (config.get("auto_map") or {}).values()]
    return " ".join(names).lower()


def _sub_type(config: dict[str, Any], key: str) -> str:
    sub = config.get(key)
    return str(sub.get("model_type", "")) if isinstance(sub, dict) else ""


def uses_processor(config: dict[str, Any], hub_id: str | None = None) -> bool:
    """Whether ``predict_forward`` wants ``processor=`` (Qwen-VL wrappers) or ``tokenizer=``.

    Decided by the checkpoint, in order:
    1. class ``Sa2VAChatModelQwen`` in ``architectures`` or ``auto_map`` -> processor;
    2. an ``llm_config`` -> tokenizer: the InternVL wrapper ``Sa2VAChatConfig`` keeps its LLM
       there, whatever that LLM is (Sa2VA-4B's is Qwen2.5, and still takes ``tokenizer=``);
    3. a Qwen-VL ``text_config``/``vision_config`` (``Sa2VAChatConfigQwen`` subclasses
       ``Qwen2_5_VLConfig``/``Qwen3VLConfig``) -> processor;
    4. otherwise the hub id (``ByteDance/Sa2VA-Qwen...``), else tokenizer.
    """
    if QWEN_CLASS in _class_names(config):
        return True
    if isinstance(config.get("llm_config"), dict):
        return False
    sub_types = (_sub_type(config, k) for k in ("text_config", "vision_config"))
    if any(t.startswith(QWEN_VL_TYPES) for t in sub_types):
        return True
    return bool(hub_id and QWEN_HUB_ID.search(hub_id))


def restore_llm_generation(model: Any, spec: Any) -> str | None:
    """Give an InternVL-based Sa2VA's pre-4.50 LLM (Sa2VA-8B/-26B: InternLM2) the generation
    transformers 4.49 gave it (see ``legacy_generation``); the restored class name, or None."""
    llm = getattr(model, "language_model", None)
    if not legacy_generation.needs_restoring(llm):
        return None
    name = type(llm).__name__
    legacy_generation.restore(llm)
    loading.say_once(f"{spec.hub_id or loading.model_source(spec)}: its LLM ({name}) was "
                     "written for transformers < 4.50; generating as transformers 4.49 did "
                     "(GenerationMixin, legacy tuple cache, hidden states passed through)")
    return name


def clean_text(prediction: Any) -> str:
    """The paper's answer text: ``<|im_end|>`` removed, whitespace stripped."""
    return str(prediction or "").replace("<|im_end|>", "").strip()


class Sa2VAAdapter(Adapter):
    """Sa2VA checkpoints of every base: QA from the text, masks from the first [SEG]."""

    family = "sa2va"
    capabilities = frozenset({QA, MASK})

    def __init__(self, spec: Any) -> None:
        super().__init__(spec)
        self.model: Any = None
        self.preprocessor: Any = None
        self.uses_processor = False
        self.device = "cuda"
        self.facts: dict[str, Any] = {}

    def load(self) -> None:
        from transformers import AutoModel, AutoProcessor, AutoTokenizer

        loading.set_allocator_defaults()
        device = loading.resolve_device(self.spec)
        rc.require_cuda(self.spec, device, NEEDS_CUDA)
        dtype = rc.fixed_dtype(self.spec, device, BF16_CASTS)
        self.device = device
        loading.set_current_cuda(device)
        with loading.timed(self.facts, "load_s"), loading.current_cuda(device):
            model = rc.load_pretrained(AutoModel, self.spec, device, dtype=dtype)
            restored = restore_llm_generation(model, self.spec)
            if restored:
                self.facts["llm_generation"] = f"{restored}: transformers 4.49 generation"
            self.model = loading.place(model, self.spec, device)
            self.uses_processor = uses_processor(self.model.config.to_dict(), self.spec.hub_id)
            if self.uses_processor:
                self.preprocessor = rc.load_preprocessor(AutoProcessor, self.spec, device)
            else:  # slow tokenizer, as the paper's code loads it
                self.preprocessor = rc.load_preprocessor(AutoTokenizer, self.spec, device,
                                                         use_fast=False)
        if self.spec.generation:
            loading.say_once("Sa2VA's predict_forward takes no generation settings; "
                             "the model's own defaults are used")
        self.facts.update(rc.base_facts(self.model, self.spec, device),
                          preprocessor="processor" if self.uses_processor else "tokenizer")

    def _predict(self, video: Video, prompt: str) -> dict[str, Any]:
        import torch

        key = "processor" if self.uses_processor else "tokenizer"
        kwargs = {"video": list(video.frames), "text": "<image>" + prompt, "past_text": "",
                  "mask_prompts": None, key: self.preprocessor}
        with rc.oom_guard(), torch.inference_mode(), loading.current_cuda(self.device):
            return self.model.predict_forward(**kwargs)

    def answer(self, video: Video, request: QARequest) -> str:
        return clean_text(self._predict(video, request.prompt).get("prediction"))

    def segment(self, video: Video, request: MaskRequest) -> Segmentation:
        out = self._predict(video, request.prompt)
        text = clean_text(out.get("prediction"))
        masks = out.get("prediction_masks") or []
        if len(masks) == 0:
            return rc.no_mask(text)
        stack = rc.mask_stack(masks[0], len(video), "Sa2VA prediction_masks[0]")
        notes = [f"{len(masks)} [SEG] masks; scored the first"] if len(masks) > 1 else []
        return Segmentation(masks=stack, text=text, notes=notes)

    def describe(self) -> dict[str, Any]:
        kind = "smoke" if rc.is_standin(self.model) else self.kind
        settings = {"text": "<image>+prompt", "past_text": "", "mask_prompts": None,
                    "masks": "prediction_masks[0]", "generation": "model defaults"}
        return {**super().describe(), "kind": kind, **self.facts, "settings": settings}

    def close(self) -> None:
        self.model = self.preprocessor = None
        loading.free_cuda_cache()
