"""Native transformers adapters on tiny random-weight checkpoints of the real architectures.

Each family is created the way a user would (a local folder detected from ``config.json``,
or a renamed folder with ``--alias``), loaded with the real classes and asked a question on
a small generated video; the assertions check what the model was actually given.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from dynbench.adapters import hf_common, loading
from dynbench.adapters.base import QARequest, Video
from dynbench.adapters.internvl import InternVLHFAdapter
from dynbench.adapters.qwen_vl import (
    SSRL_FORMAT_PROMPT,
    VST_THINK_SYSTEM_PROMPT,
    Qwen3VLAdapter,
    Qwen25VLAdapter,
    SpaceRAdapter,
    SpatialLadderAdapter,
    SpatialSSRLAdapter,
    VSTAdapter,
)
from dynbench.adapters.registry import create_adapter
from dynbench.modelspec import ModelSpec

QUESTION = "How does the camera move relative to the red car?"
OPTIONS = ("A. It moves left", "B. It moves right", "C. It stays still")
PROMPT = (QUESTION + "\n" + "\n".join(OPTIONS)
          + "\nAnswer with the option's letter from the given choices directly.")
FAST = {"max_new_tokens": 6}
QWEN_DEFAULT_SYSTEM = "You are a helpful assistant."

# (tiny builder, alias, adapter class, text the prompt must carry besides the question)
CASES = {
    "qwen2_5_vl": ("qwen2_5_vl", None, Qwen25VLAdapter, QWEN_DEFAULT_SYSTEM),
    "vst": ("qwen2_5_vl", "rayruiyang/VST-7B-RL", VSTAdapter, VST_THINK_SYSTEM_PROMPT),
    "spatial_ssrl": ("qwen2_5_vl", "internlm/Spatial-SSRL-7B", SpatialSSRLAdapter,
                     SSRL_FORMAT_PROMPT),
    "spatial_ladder": ("qwen2_5_vl", "hongxingli/SpatialLadder-3B", SpatialLadderAdapter,
                       QWEN_DEFAULT_SYSTEM),
    "spacer": ("qwen2_5_vl", "RUBBISHLIKE/SpaceR-SFT-7B", SpaceRAdapter, QWEN_DEFAULT_SYSTEM),
    "qwen3_vl": ("qwen3_vl", None, Qwen3VLAdapter, "<|vision_start|><|video_pad|>"),
    "qwen3_vl_moe": ("qwen3_vl_moe", None, Qwen3VLAdapter, "<|vision_start|><|video_pad|>"),
    "internvl_hf": ("internvl_hf", None, InternVLHFAdapter, "Frame3: <IMG_CONTEXT>\n"),
}


@pytest.fixture(scope="session")
def loaded(tiny):
    """Loaded adapters, one per case, shared by the tests of the session."""
    cache: dict[str, object] = {}

    def get(case: str):
        if case not in cache:
            builder, alias, _, _ = CASES[case]
            adapter = create_adapter(ModelSpec(name=str(tiny(builder)), alias=alias,
                                               generation=FAST))
            adapter.load()
            cache[case] = adapter
        return cache[case]

    return get


@pytest.fixture
def video() -> Video:
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]
    frames = [Image.new("RGB", (64, 48), c) for c in colours]
    return Video(key="src/scene", frames=frames, frame_indices=[0, 3, 6],
                 paths=[Path(f"frame_{i:04d}.jpg") for i in (0, 3, 6)])


@pytest.fixture
def request_() -> QARequest:
    return QARequest(case_id="src/scene/cameraqa/0", question=QUESTION, options=OPTIONS,
                     prompt=PROMPT)


# --- routing (no weights touched) -------------------------------------------------------
@pytest.mark.parametrize("case", list(CASES))
def test_spec_routes_to_family(tiny, case):
    builder, alias, cls, _ = CASES[case]
    adapter = create_adapter(ModelSpec(name=str(tiny(builder)), alias=alias))
    assert type(adapter) is cls
    assert adapter.capabilities == frozenset({"qa"}) and adapter.kind == "model"


# --- end to end ---------------------------------------------------------------------------
@pytest.mark.parametrize("case", list(CASES))
def test_answer_contract(loaded, case, video, request_):
    adapter = loaded(case)
    first = adapter.answer(video, request_)
    prompt = adapter.last_call["prompt"]
    assert isinstance(first, str)
    assert QUESTION in prompt and all(option in prompt for option in OPTIONS)
    assert CASES[case][3] in prompt
    assert adapter.answer(video, request_) == first  # greedy: same text twice
    facts = adapter.describe()
    assert facts["family"] == adapter.family and facts["device"] == "cpu"
    assert {"load_s", "dtype", "attention", "generation"} <= set(facts)


@pytest.mark.parametrize("case", ["qwen2_5_vl", "qwen3_vl", "qwen3_vl_moe"])
def test_qwen_gets_even_frames_as_one_video(loaded, case, video, request_):
    adapter = loaded(case)
    adapter.answer(video, request_)
    call = adapter.last_call
    t, h, w = call["grid_thw"]
    assert call["num_frames"] == 4 == call["frames_encoded"] == 2 * t  # 3 frames -> 4
    assert call["video_tokens"] == t * h * w // 4  # 2x2 spatial merge


def test_single_frame_video_is_padded_to_a_pair(loaded, video, request_):
    adapter = loaded("qwen3_vl")  # its processor rejects a 1-frame video on its own
    one = Video(key=video.key, frames=video.frames[:1], frame_indices=[5], paths=video.paths[:1])
    assert isinstance(adapter.answer(one, request_), str)
    assert adapter.last_call["num_frames"] == 2 and adapter.last_call["grid_thw"][0] == 1


def test_qwen25_pixel_budget_and_frame_timing(loaded, video, request_):
    adapter = loaded("qwen2_5_vl")
    adapter.answer(video, request_)
    width, height = adapter.last_call["frame_sizes"][0]
    assert width % 28 == 0 and height % 28 == 0
    assert 128 * 28 * 28 <= width * height <= 768 * 28 * 28  # 64x48 frames are upscaled
    assert adapter.last_call["second_per_grid_ts"] == 1.0  # frame list declared at 2 fps


def test_vst_uses_its_larger_pixel_budget(loaded, video, request_):
    adapter = loaded("vst")
    adapter.answer(video, request_)
    width, height = adapter.last_call["frame_sizes"][0]
    assert width * height >= 256 * 28 * 28


def test_qwen3_timestamps_follow_source_frames(loaded, video):
    adapter = loaded("qwen3_vl")
    frames = adapter.prepare_frames(video)
    inputs = adapter.processor(text=["<|vision_start|><|video_pad|><|vision_end|>"],
                               return_tensors="pt", **adapter.visual_inputs(frames, video))
    text = adapter.processor.tokenizer.decode(inputs["input_ids"][0])
    # pairs (0, 3) and (6, 6 repeated) at 24 fps -> 0.0625 s and 0.25 s
    assert "<0.1 seconds>" in text and "<0.2 seconds>" in text


def test_internvl_one_tile_per_frame(loaded, video, request_):
    adapter = loaded("internvl_hf")
    adapter.answer(video, request_)
    call = adapter.last_call
    image_seq_length = adapter.processor.image_seq_length
    assert call["num_frames"] == call["tiles"] == 3
    assert call["image_tokens"] == 3 * image_seq_length
    assert "Frame1: <IMG_CONTEXT>\nFrame2: <IMG_CONTEXT>\nFrame3: <IMG_CONTEXT>\n" + QUESTION \
        in call["prompt"]


# --- declarative settings ---------------------------------------------------------------
@pytest.mark.parametrize("cls, tokens", [
    (Qwen25VLAdapter, 512), (Qwen3VLAdapter, 512), (VSTAdapter, 512),
    (SpatialLadderAdapter, 512), (SpaceRAdapter, 512), (SpatialSSRLAdapter, 4096),
    (InternVLHFAdapter, 128)])
def test_generation_defaults_are_greedy(cls, tokens):
    settings = cls(ModelSpec(name="x")).generation
    assert settings["max_new_tokens"] == tokens and settings["do_sample"] is False
    assert settings["temperature"] is None and settings["top_k"] is None


def test_generation_overrides_merge():
    greedy = Qwen25VLAdapter(ModelSpec(name="x", generation={"max_new_tokens": 8})).generation
    assert greedy["max_new_tokens"] == 8 and greedy["do_sample"] is False
    sampled = hf_common.generation_settings({"max_new_tokens": 4},
                                            {"do_sample": True, "temperature": 0.7})
    assert sampled == {"do_sample": True, "max_new_tokens": 4, "temperature": 0.7}


def test_settings_reported_before_load():
    facts = VSTAdapter(ModelSpec(name="x")).describe()
    assert facts["system_prompt"] == VST_THINK_SYSTEM_PROMPT
    assert (facts["min_pixels"], facts["max_pixels"]) == (256 * 784, 1280 * 784)
    assert facts["postprocess"] == "after_last_think"


def test_long_videos_lower_the_per_frame_ceiling():
    adapter = Qwen25VLAdapter(ModelSpec(name="x"))
    assert adapter.frame_max_pixels(16) == 768 * 784
    assert adapter.frame_max_pixels(1000) < 768 * 784
    assert adapter.frame_max_pixels(10**6) == int(128 * 784 * 1.05)


def test_pad_to_multiple():
    a, b, c = (Image.new("RGB", (4, 4), v) for v in ("red", "green", "blue"))
    assert hf_common.pad_to_multiple([a, b, c], 2) == [a, b, c, c]
    assert hf_common.pad_to_multiple([a, b], 2) == [a, b]
    with pytest.raises(ValueError):
        hf_common.pad_to_multiple([], 2)


# --- answer post-processing ---------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("<think>left or right? </think> B", "B"),
    ("<think>a</think> x </think>  (C) ", "(C)"),
    ("no thinking here: A\n", "no thinking here: A"),
])
def test_after_last_think(text, expected):
    assert hf_common.after_last_think(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("<think>hmm</think> The answer is \\boxed{B}.", "B"),
    ("\\boxed{\\text{A}} then \\boxed{C}", "\\text{A}"),
    ("<think>x</think> C", "C"),
    ("\\boxed{unclosed </think> D", "D"),
])
def test_boxed_or_after_think(text, expected):
    assert hf_common.boxed_or_after_think(text) == expected


def test_family_postprocessing_is_wired():
    assert VSTAdapter.postprocess("<think>r</think> A") == "A"
    assert SpatialSSRLAdapter.postprocess("<think>r</think> \\boxed{B}") == "B"
    assert Qwen25VLAdapter.postprocess("  <think>kept</think> A ") == "<think>kept</think> A"


# --- errors -------------------------------------------------------------------------------
def test_answer_before_load_is_an_error(video, request_):
    with pytest.raises(RuntimeError, match="before load"):
        Qwen25VLAdapter(ModelSpec(name="x")).answer(video, request_)


def test_oom_frees_cache_and_propagates(monkeypatch, video, request_):
    adapter = Qwen25VLAdapter(ModelSpec(name="x"))
    adapter.model = object()
    freed = []
    monkeypatch.setattr(loading, "free_cuda_cache", lambda: freed.append(True))

    def boom(*_):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")

    monkeypatch.setattr(adapter, "_answer", boom)
    with pytest.raises(RuntimeError, match="out of memory"):
        adapter.answer(video, request_)
    assert freed == [True]


# --- tiny registry ------------------------------------------------------------------------
def test_build_tiny_uses_the_cache_dir(monkeypatch, tmp_path):
    from dynbench.tiny import build_tiny

    monkeypatch.setenv("DYNBENCH_TINY_CACHE", str(tmp_path))
    folder = build_tiny("qwen2_5_vl")
    assert folder.parent == tmp_path and (folder / "config.json").is_file()
    assert sum(f.stat().st_size for f in folder.iterdir()) < 2 * 2**20
    assert build_tiny("qwen2_5_vl") == folder  # reused, not rebuilt
