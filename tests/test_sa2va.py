"""Sa2VA adapter on its stand-in checkpoints, and the stand-ins' likeness to the real code.

The stand-ins reproduce the real code's traits (see ``dynbench/tiny/standins/sa2va*.py``):
``.cuda()`` on the token ids, SAM2 state on ``cuda``, hard-coded bf16, no ``post_init``, the
real imports. So the mask path runs on this CPU only under the test-only pretend-CUDA shim
(``tests/pretend_cuda.py``); the tests below show both sides: with the shim the adapter's
side of the contract is checked, without it the stand-in fails where the real code fails.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dynbench.adapters import remote_common as rc
from dynbench.adapters.base import MASK, QA, LoadError
from dynbench.adapters.registry import create_adapter
from dynbench.modelspec import ModelSpec
from dynbench.tiny import build_tiny
from tests.pretend_cuda import PretendCuda
from tests.remote_helpers import (
    EXPRESSION,
    INSTALL,
    PROMPT,
    SIZE,
    frame,
    iou,
    make_video,
    needs_tf4,
    offline_hf,
    only_tf5,
    qa,
    red_over_green,
    seg,
)

REAL_GPU = torch.cuda.is_available()


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    """``standin(name)`` -> folder of the tiny stand-in checkpoint, built once per module."""
    mp = offline_hf(tmp_path_factory)
    root = tmp_path_factory.mktemp("sa2va-standins")
    built = {}

    def get(name: str):
        if name not in built:
            built[name] = build_tiny(name, root / name)
        return built[name]

    yield get
    mp.undo()


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("frames"))


@pytest.fixture
def cuda():
    with PretendCuda() as pretend:
        yield pretend


def loaded(folder, **spec):
    adapter = create_adapter(ModelSpec(name=str(folder), **spec))
    adapter.load()
    return adapter


def raw_model(folder, dtype=torch.bfloat16):
    """The stand-in loaded as the paper's code loads Sa2VA, bypassing the adapter."""
    from transformers import AutoModel

    return AutoModel.from_pretrained(folder, trust_remote_code=True, dtype=dtype).eval()


def preprocessor(folder, qwen: bool):
    from transformers import AutoProcessor, AutoTokenizer

    if qwen:
        return {"processor": AutoProcessor.from_pretrained(folder)}
    return {"tokenizer": AutoTokenizer.from_pretrained(folder, use_fast=False)}


def official_call(model, folder, qwen: bool, frames, text: str) -> dict:
    with torch.inference_mode():
        return model.predict_forward(video=frames, text="<image>" + text, past_text="",
                                     mask_prompts=None, **preprocessor(folder, qwen))


@pytest.mark.parametrize("config, hub_id, expected", [
    ({"architectures": ["Sa2VAChatModelQwen"]}, None, True),
    ({"auto_map": {"AutoModel": "modeling_sa2va_qwen.Sa2VAChatModelQwen"}}, None, True),
    ({"llm_config": {"architectures": ["Qwen2ForCausalLM"]}}, "ByteDance/Sa2VA-4B", False),
    ({"text_config": {"model_type": "qwen3_vl_text"}}, None, True),
    ({"vision_config": {"model_type": "qwen2_5_vl"}}, None, True),
    ({}, "ByteDance/Sa2VA-Qwen3-VL-4B", True),
    ({}, "ByteDance/Sa2VA-InternVL3-8B", False),
])
def test_processor_or_tokenizer_rule(config, hub_id, expected):
    from dynbench.adapters.sa2va import uses_processor

    assert uses_processor(config, hub_id) is expected


# ---------------------------------------------------------------- the adapter (pretend CUDA)


@needs_tf4
@pytest.mark.parametrize("name, alias, key", [
    ("sa2va", None, "tokenizer"),
    ("sa2va", "ByteDance/Sa2VA-4B", "tokenizer"),
    ("sa2va_qwen", None, "processor"),
    ("sa2va_qwen", "ByteDance/Sa2VA-Qwen2_5-VL-3B", "processor"),
])
def test_variant_gets_the_official_call(standin, video, cuda, name, alias, key):
    from dynbench.adapters.sa2va import Sa2VAAdapter

    adapter = loaded(standin(name), alias=alias)
    assert isinstance(adapter, Sa2VAAdapter) and adapter.capabilities == {QA, MASK}
    assert type(adapter.model).__module__.startswith("transformers_modules.")  # remote code
    assert adapter.model.dtype == torch.bfloat16  # auto -> bf16, as the code hard-codes
    text = adapter.answer(video, qa())
    got = adapter.model.last_inputs
    other = "tokenizer" if key == "processor" else "processor"
    assert key in got["kwargs"] and other not in got["kwargs"]
    assert got["text"] == "<image>" + PROMPT
    assert got["past_text"] == "" and got["mask_prompts"] is None
    assert got["num_frames"] == 3 and got["frame_sizes"] == [SIZE] * 3 and got["llm_frames"] == 3
    assert text[0] in "ABCD" and "<|im_end|>" not in text
    facts = adapter.describe()
    assert facts["kind"] == "smoke" and facts["preprocessor"] == key
    assert facts["dtype"] == "bfloat16" and facts["device"] == "cuda"


@needs_tf4
def test_internvl_wrapper_prompt_has_256_context_tokens_per_llm_frame(standin, tmp_path, cuda):
    adapter = loaded(standin("sa2va"))
    adapter.answer(make_video(tmp_path, count=7), qa())
    got = adapter.model.last_inputs
    assert got["llm_frames"] == 5 and got["image_tokens"] == 5 * 256
    assert got["pixel_dtype"] == "torch.bfloat16"


@needs_tf4
def test_qwen_wrapper_images_follow_its_pixel_budget(standin, tmp_path, cuda):
    """First 5 frames as images, each resized to >= 512*28*28 pixels (the wrapper's budget)."""
    adapter = loaded(standin("sa2va_qwen"))
    adapter.answer(make_video(tmp_path, count=6), qa())
    grids = adapter.model.last_inputs["image_grid_thw"]
    assert len(grids) == 5 and all(t == 1 and h * w * 14 * 14 >= 512 * 28 * 28
                                   for t, h, w in grids)


@needs_tf4
@pytest.mark.parametrize("name", ["sa2va", "sa2va_qwen"])
def test_masks_align_with_frames(standin, video, cuda, name):
    adapter = loaded(standin(name))
    out = adapter.segment(video, seg())
    assert adapter.model.last_inputs["text"] == "<image>" + EXPRESSION  # the official prompt
    assert out.masks.dtype == np.bool_ and out.masks.shape == (3, SIZE[1], SIZE[0])
    for mask, img in zip(out.masks, video.frames, strict=True):
        assert iou(mask, red_over_green(img)) > 0.8
    assert "[SEG]" in out.text and out.notes == []


@needs_tf4
def test_scores_the_first_seg(standin, video, cuda, monkeypatch):
    adapter = loaded(standin("sa2va"))
    monkeypatch.setattr(adapter.model.config, "standin_seg_tokens", 2)
    out = adapter.segment(video, seg())
    assert iou(out.masks[1], red_over_green(video.frames[1])) > 0.8  # not the 2nd [SEG]
    assert out.notes == ["2 [SEG] masks; scored the first"]


@needs_tf4
def test_without_seg_there_is_no_mask(standin, video, cuda, monkeypatch):
    adapter = loaded(standin("sa2va_qwen"))
    monkeypatch.setattr(adapter.model.config, "standin_seg_tokens", 0)
    out = adapter.segment(video, seg())
    assert out.masks is None and out.notes == [rc.NO_MASK] and out.text[0] in "ABCD"


@needs_tf4
def test_misaligned_masks_are_an_error(standin, video, cuda, monkeypatch):
    adapter = loaded(standin("sa2va"))
    monkeypatch.setattr(adapter.model.config, "standin_drop_frames", 1)
    with pytest.raises(rc.MisalignedOutput, match="2 frames but was shown 3"):
        adapter.segment(video, seg())


@needs_tf4
def test_mask_size_is_returned_as_is(standin, video, cuda, monkeypatch):
    adapter = loaded(standin("sa2va"))
    small = np.ones((3, 24, 32), dtype=bool)
    monkeypatch.setattr(adapter.model, "predict_forward",
                        lambda **kw: {"prediction": "[SEG]<|im_end|>", "prediction_masks": [small]})
    out = adapter.segment(video, seg())
    assert out.masks.shape == (3, 24, 32) and out.text == "[SEG]"


@needs_tf4
def test_every_frame_reaches_predict_forward_in_order(standin, cuda, monkeypatch):
    """The official call hands Sa2VA every frame as PIL images, for 1 to 200 frames."""
    from dynbench.adapters.base import Video

    adapter = loaded(standin("sa2va"))
    seen = []
    monkeypatch.setattr(adapter.model, "predict_forward",
                        lambda **kw: seen.append(kw) or {"prediction": "A<|im_end|>"})
    videos = [[frame(i % 4, (16, 12)) for i in range(count)] for count in range(1, 201)]
    for frames in videos:
        adapter.answer(Video("s/v", frames, list(range(len(frames))), []), qa())
    assert [kw["video"] for kw in seen] == videos
    assert {kw["text"] for kw in seen} == {"<image>" + PROMPT}


@needs_tf4
def test_device_cuda_n_puts_token_ids_on_that_gpu(standin, video, cuda):
    """``.cuda()`` without an index uses the current device: the adapter must set it."""
    adapter = loaded(standin("sa2va"), device="cuda:1")
    cuda.calls.clear()
    adapter.answer(video, qa())
    placed = [index for name, index in cuda.calls if name == "cuda"]
    assert placed and set(placed) == {1}
    cuda.current = 0  # a fresh process: plain "cuda" leaves the current device alone
    adapter0 = loaded(standin("sa2va"), device="cuda")
    cuda.calls.clear()
    adapter0.answer(video, qa())
    assert {index for name, index in cuda.calls if name == "cuda"} == {0}


@needs_tf4
def test_explicit_attention_the_model_refuses_is_a_load_error(standin, cuda):
    adapter = create_adapter(ModelSpec(name=str(standin("sa2va")), attn_implementation="sdpa"))
    with pytest.raises(LoadError, match="scaled_dot_product_attention"):
        adapter.load()


# ---------------------------------------------------------------- refused at load, once


@pytest.mark.skipif(REAL_GPU, reason="checks the CPU-only behaviour")
@pytest.mark.parametrize("name", ["sa2va", "sa2va_qwen"])
def test_on_a_cpu_load_stops_with_one_clear_message(standin, name):
    adapter = create_adapter(ModelSpec(name=str(standin(name)), alias="ByteDance/Sa2VA-4B"))
    with pytest.raises(LoadError) as info:
        adapter.load()
    message = str(info.value)
    assert message.startswith("ByteDance/Sa2VA-4B: its remote code needs a CUDA GPU")
    assert ".cuda()" in message and "--device cuda" in message
    assert adapter.model is None  # refused before loading anything


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_other_dtypes_are_refused_at_load(standin, cuda, dtype):
    adapter = create_adapter(ModelSpec(name=str(standin("sa2va")), torch_dtype=dtype))
    with pytest.raises(LoadError, match=f"--dtype {dtype} cannot work.*hard-codes bfloat16"):
        adapter.load()


@only_tf5
@pytest.mark.parametrize("name, cause", [
    ("sa2va", "transformers.modeling_attn_mask_utils"), ("sa2va_qwen", "post_init()")])
def test_under_transformers_5_load_names_cause_and_install_command(standin, cuda, name, cause):
    adapter = create_adapter(ModelSpec(name=str(standin(name))))
    with pytest.raises(LoadError) as info:
        adapter.load()
    assert cause in str(info.value) and str(info.value).endswith(f"Fix: {INSTALL}")


# ---------------------------------------------------------------- the stand-ins fail like the real


@needs_tf4
@pytest.mark.skipif(REAL_GPU, reason="on a GPU machine the code runs without the shim")
@pytest.mark.parametrize("pretend", [True, False], ids=["pretend-cuda", "cpu"])
def test_internvl_wrapper_needs_cuda_for_any_answer(standin, video, pretend):
    folder = standin("sa2va")
    model = raw_model(folder)
    if pretend:
        with PretendCuda():
            out = official_call(model, folder, False, video.frames, PROMPT)
        assert out["prediction"].endswith("<|im_end|>")
    else:  # the real predict_forward calls torch.tensor(ids).cuda()
        with pytest.raises((RuntimeError, AssertionError), match="NVIDIA|CUDA"):
            official_call(model, folder, False, video.frames, PROMPT)


@needs_tf4
@pytest.mark.skipif(REAL_GPU, reason="on a GPU machine the code runs without the shim")
@pytest.mark.parametrize("pretend", [True, False], ids=["pretend-cuda", "cpu"])
def test_qwen_wrapper_segments_only_on_cuda(standin, video, pretend):
    """The Qwen wrapper answers anywhere, but its SAM2 state lives on cuda."""
    folder = standin("sa2va_qwen")
    model = raw_model(folder)
    model.config.standin_seg_tokens = 0
    assert official_call(model, folder, True, video.frames, PROMPT)["prediction_masks"] == []
    model.config.standin_seg_tokens = 1
    if pretend:
        with PretendCuda():
            out = official_call(model, folder, True, video.frames, EXPRESSION)
        assert out["prediction_masks"][0].shape == (3, SIZE[1], SIZE[0])
    else:
        with pytest.raises((RuntimeError, AssertionError), match="NVIDIA|CUDA"):
            official_call(model, folder, True, video.frames, EXPRESSION)


@needs_tf4
@pytest.mark.parametrize("name, text", [("sa2va", PROMPT), ("sa2va_qwen", EXPRESSION)])
def test_fp32_gives_the_real_dtype_error(standin, video, cuda, name, text):
    folder = standin(name)
    model = raw_model(folder, dtype=torch.float32)
    with pytest.raises(RuntimeError, match=r"Input type \(c10::BFloat16\) and bias type "
                                           r"\(float\) should be the same"):
        official_call(model, folder, name == "sa2va_qwen", video.frames, text)


def test_a_pre_4_50_llm_gets_its_generation_back_at_load():
    """Sa2VA-8B's InternLM2 class gets no generation_config under transformers >= 4.50: the
    adapter restores 4.49's generation (tests/test_legacy_generation.py), Qwen wrappers and
    LLMs that can generate are left alone."""
    from types import SimpleNamespace

    from dynbench.adapters.sa2va import restore_llm_generation
    from tests.test_legacy_generation import old_style_lm

    spec = ModelSpec(name="ByteDance/Sa2VA-8B")
    llm = old_style_lm()
    assert restore_llm_generation(SimpleNamespace(language_model=llm), spec) == "OldStyleLM"
    assert llm.generation_config is not None
    assert restore_llm_generation(SimpleNamespace(language_model=llm), spec) is None  # once
    assert restore_llm_generation(SimpleNamespace(model=llm), spec) is None  # no language_model


