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


@pytest.mark.parametrize("case, shown", [("qwen2_5_vl", 4), ("qwen3_vl", 3),
                                         ("qwen3_vl_moe", 3)])
def test_qwen_gets_frame_pairs_as_one_video(loaded, case, shown, video, request_):
    """qwen-vl-utils repeats the last frame itself (3 -> 4 frames); Qwen3-VL gets the 3 frames
    its 2-fps rule keeps and its processor encodes them as 2 pairs."""
    adapter = loaded(case)
    adapter.answer(video, request_)
    call = adapter.last_call
    t, h, w = call["grid_thw"]
    assert call["num_frames"] == shown and call["frames_encoded"] == 4 == 2 * t
    assert call["video_tokens"] == t * h * w // 4  # 2x2 spatial merge


def test_single_frame_video_is_padded_to_a_pair(loaded, video, request_):
    adapter = loaded("qwen3_vl")  # its processor rejects a 1-frame video on its own
    one = Video(key=video.key, frames=video.frames[:1], frame_indices=[5], paths=video.paths[:1])
    assert isinstance(adapter.answer(one, request_), str)
    assert adapter.last_call["num_frames"] == 2 and adapter.last_call["grid_thw"][0] == 1


@pytest.mark.parametrize("case", ["qwen2_5_vl", "vst"])
def test_qwen25_frames_are_qwen_vl_utils_frames(loaded, case, video, request_):
    """64x48 -> 56x56 multiples (168x112) -> 28 multiples in the 128-token floor: 392x280.
    VST's official min/max_pixels never reached video resizing under 4.57.1: same frames."""
    adapter = loaded(case)
    adapter.answer(video, request_)
    assert adapter.last_call["frame_sizes"] == [(392, 280)] * 4
    assert adapter.last_call["second_per_grid_ts"] == 1.0  # frame list timed at 2 fps


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
OFFICIAL_GENERATION = [
    (Qwen25VLAdapter, {"max_new_tokens": 512}), (Qwen3VLAdapter, {"max_new_tokens": 512}),
    (VSTAdapter, {"max_new_tokens": 512}), (SpatialLadderAdapter, {"max_new_tokens": 512}),
    (SpaceRAdapter, {"max_new_tokens": 512}),
    (SpatialSSRLAdapter, {"max_new_tokens": 4096, "do_sample": False}),
    (InternVLHFAdapter, {"max_new_tokens": 128, "do_sample": False})]


@pytest.mark.parametrize("cls, official", OFFICIAL_GENERATION)
def test_fair_generation_is_greedy(cls, official):
    settings = cls(ModelSpec(name="x")).generation
    assert settings["max_new_tokens"] == official["max_new_tokens"]
    assert settings["do_sample"] is False
    assert settings["temperature"] is None and settings["top_k"] is None


@pytest.mark.parametrize("cls, official", OFFICIAL_GENERATION)
def test_reference_generation_is_the_official_call(cls, official):
    """Only the official keyword arguments: the rest is the checkpoint's generation_config."""
    adapter = cls(ModelSpec(name="x", protocol="reference"))
    assert adapter.generation == official
    assert adapter.describe()["protocol"] == "reference"


def test_reference_generation_follows_the_checkpoint_config(tiny, video, request_):
    """Under reference the checkpoint's sampling settings apply (seeded, so reproducible)."""
    from transformers import GenerationConfig

    spec = ModelSpec(name=str(tiny("qwen2_5_vl")), protocol="reference",
                     generation={"max_new_tokens": 4})
    adapter = create_adapter(spec)
    adapter.load()
    adapter.model.generation_config = GenerationConfig(
        **{**adapter.model.generation_config.to_dict(), "do_sample": True, "top_k": 5,
           "temperature": 5.0})
    adapter.facts.update(adapter._load_facts())
    first = adapter.answer(video, request_)
    ids = adapter.last_call["generated_ids"]
    assert adapter.answer(video, request_) == first and adapter.last_call["generated_ids"] == ids
    effective = adapter.describe()["generation_effective"]
    assert effective["do_sample"] is True and effective["top_k"] == 5
    assert effective["max_new_tokens"] == 4
    assert adapter.describe()["attention"] == "eager"  # the official fallback on a CPU


@pytest.mark.parametrize("protocol, attn, expected", [
    ("reference", "auto", "eager"), ("fair", "auto", "sdpa"), ("reference", "sdpa", "sdpa")])
def test_attention_per_protocol(protocol, attn, expected):
    spec = ModelSpec(name="x", protocol=protocol, attn_implementation=attn)
    assert loading.resolve_attention(spec, "cpu") == expected


def test_protocol_reaches_the_adapter_through_pytest(pytester, tmp_path, monkeypatch):
    """``--protocol reference`` sets the official inference settings, named in the report."""
    import json

    from tests.builders import small_dataset

    monkeypatch.setenv("DYNBENCH_TINY_CACHE", str(tmp_path / "tiny"))
    root = Path(__file__).resolve().parents[1]
    pytester.makepyfile(test_dynbench=(root / "bench_tests/test_dynbench.py").read_text())
    data, out = small_dataset(tmp_path / "data"), tmp_path / "out"
    config = tmp_path / "model.yaml"  # a short answer: the official 512 tokens take minutes
    config.write_text("model:\n  name: tiny:qwen2_5_vl\n  generation: {max_new_tokens: 3}\n")
    pytester.runpytest_subprocess("--model-config", str(config), "--data-dir", str(data),
                                  "--report-dir", str(out), "--protocol", "reference",
                                  "--task", "cameraqa", "--limit", "1", "-p", "no:cacheprovider")
    model = json.loads((out / "report.json").read_text())["dynbench"]["model"]
    assert model["protocol"] == "reference" and model["attention"] == "eager"
    assert model["generation"] == {"max_new_tokens": 3}  # nothing else: checkpoint config
    assert model["generation_effective"]["max_new_tokens"] == 3
    assert model["frames"].startswith("qwen_vl_utils")


def test_generation_overrides_merge():
    greedy = Qwen25VLAdapter(ModelSpec(name="x", generation={"max_new_tokens": 8})).generation
    assert greedy["max_new_tokens"] == 8 and greedy["do_sample"] is False
    sampled = hf_common.generation_settings({"max_new_tokens": 4},
                                            {"do_sample": True, "temperature": 0.7})
    assert sampled == {"do_sample": True, "max_new_tokens": 4, "temperature": 0.7}


def test_settings_reported_before_load():
    facts = VSTAdapter(ModelSpec(name="x")).describe()
    assert facts["system_prompt"] == VST_THINK_SYSTEM_PROMPT
    assert facts["official_processor_args"] == {"min_pixels": 256 * 784,
                                                "max_pixels": 1280 * 784}
    assert facts["official_processor_args_applied"] is False
    assert facts["postprocess"] == "after_last_think"
    reference = VSTAdapter(ModelSpec(name="x", protocol="reference")).describe()
    assert reference["postprocess"] == "reference_after_last_think"


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


@pytest.mark.parametrize("text, expected", [
    ("<think>hmm</think> The answer is \\boxed{B}.", "B"),
    ("\\boxed{\\text{A}} then \\boxed{C}", "\\text{A"),  # up to the first }
    ("\\boxed{} and \\boxed{ C }", " C "),  # empty box skipped, content kept as is
    ("<think>x</think>\\boxed", "\\boxed"),
    ("<think>a</think> b </think> C ", "C"),
    (" no think: A ", " no think: A "),  # unchanged, as the official code returns it
])
def test_reference_boxed_or_after_think(text, expected):
    assert hf_common.reference_boxed_or_after_think(text) == expected


def test_family_postprocessing_is_wired():
    assert VSTAdapter.postprocess("<think>r</think> A") == "A"
    assert SpatialSSRLAdapter.postprocess("<think>r</think> \\boxed{B}") == "B"
    assert Qwen25VLAdapter.postprocess("  <think>kept</think> A ") == "<think>kept</think> A"
    spec = ModelSpec(name="x", protocol="reference")
    assert SpatialSSRLAdapter(spec).finish("\\boxed{\\text{B}}") == "\\text{B"
    assert SpatialSSRLAdapter(ModelSpec(name="x")).finish("\\boxed{\\text{B}}") == "\\text{B}"
    assert VSTAdapter(spec).finish(" A ") == " A "
    assert Qwen25VLAdapter(spec).finish(" <think>x</think> A ") == " <think>x</think> A "


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
