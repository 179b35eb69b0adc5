"""The Qwen-VL families' frames equal the official pipeline's (paper code: transformers 4.57.1,
qwen-vl-utils 0.0.14), under whichever transformers is installed.

Each check runs the adapter's own input preparation next to the official call (qwen-vl-utils
+ the processor, or Qwen3-VL's ``apply_chat_template`` with fps-24 metadata) on tiny
processors shaped like the real checkpoints' processor configs (no model is built), and
compares grids, pixel tensors, prompt tokens and frame indices. Independent implementations
of the two official rules, written from their definitions, pin the 4.57.1 geometry so that
transformers 5.x must reproduce it too.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers
from PIL import Image

from dynbench.adapters import qwen_inputs as qi
from dynbench.adapters.base import LoadError, Video
from dynbench.adapters.llava_ov import LlavaOV15Adapter
from dynbench.adapters.qwen_vl import (
    VST_PROCESSOR_ARGS,
    Qwen3VLAdapter,
    Qwen25VLAdapter,
    SpaceRAdapter,
    SpatialLadderAdapter,
    SpatialSSRLAdapter,
    VSTAdapter,
)
from dynbench.modelspec import ModelSpec
from dynbench.tiny.native import _QWEN_VISION, QWEN_SPECIALS, byte_level_tokenizer, chat_template

TF5 = int(transformers.__version__.split(".")[0]) >= 5
SIZES = [(160, 120), (640, 480), (854, 480), (1280, 720), (1920, 1080), (480, 854)]
# qwen-vl-utils 0.0.14 on each size (the 640x480 -> 616x504 among them)
QWEN25_OFFICIAL = {(160, 120): (392, 280), (640, 480): (616, 504), (854, 480): (840, 504),
                   (1280, 720): (1008, 560), (1920, 1080): (1036, 560),
                   (480, 854): (504, 840)}
# frame counts of the full-pipeline checks (pixels compared); the counting rules themselves
# are checked on every count 1..200 below
COUNTS = [1, 2, 3, 4, 5, 7, 8, 12, 13, 24, 25, 47, 48, 97, 200]
QWEN25_FAMILIES = [Qwen25VLAdapter, SpatialLadderAdapter, SpaceRAdapter, SpatialSSRLAdapter,
                   VSTAdapter]
NORM25 = {"image_mean": [0.48145466, 0.4578275, 0.40821073],
          "image_std": [0.26862954, 0.26130258, 0.27577711]}


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Small tensor copies (qwen-vl-utils stacks one frame at a time) are many times slower
    with intra-op threads on a busy machine; the results do not depend on it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- tiny processors with the real checkpoints' processor configs ------------------------
def _folder(root: Path, name: str, default_system: bool, files: dict[str, dict]) -> Path:
    folder = root / name
    folder.mkdir()
    byte_level_tokenizer(QWEN_SPECIALS).save_pretrained(folder)
    template = chat_template(*_QWEN_VISION, default_system=default_system)
    files = {**files, "chat_template.json": {"chat_template": template}}
    for file, content in files.items():
        (folder / file).write_text(json.dumps(content))
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("qwen-processors")
    # Qwen2.5-VL-7B-Instruct ships preprocessor_config.json only (the video processor reads it)
    qwen25 = {"preprocessor_config.json": {
        "min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14, "temporal_patch_size": 2,
        "merge_size": 2, **NORM25, "image_processor_type": "Qwen2VLImageProcessor",
        "processor_class": "Qwen2_5_VLProcessor"},
        "config.json": {"model_type": "qwen2_5_vl"}}
    common3 = {"patch_size": 16, "temporal_patch_size": 2, "merge_size": 2,
               "image_mean": [0.5] * 3, "image_std": [0.5] * 3,
               "processor_class": "Qwen3VLProcessor"}
    qwen3 = {"preprocessor_config.json": {
        **common3, "size": {"longest_edge": 16777216, "shortest_edge": 65536},
        "image_processor_type": "Qwen2VLImageProcessorFast"},
        "video_preprocessor_config.json": {
            **common3, "size": {"longest_edge": 25165824, "shortest_edge": 4096}, "fps": 2,
            "min_frames": 4, "max_frames": 768, "do_sample_frames": True,
            "video_processor_type": "Qwen3VLVideoProcessor"},
        "config.json": {"model_type": "qwen3_vl"}}
    return {"qwen2_5_vl": _folder(root, "qwen25", True, qwen25),
            "qwen3_vl": _folder(root, "qwen3", False, qwen3)}


@pytest.fixture(scope="module")
def processors(folders):
    """Loaded as the official code loads them (one processor per call site)."""
    cache: dict[str, object] = {}

    def get(name: str, **kwargs):
        key = name + repr(sorted(kwargs.items()))
        if key not in cache:
            folder = folders["qwen3_vl" if name == "qwen3_vl" else "qwen2_5_vl"]
            cache[key] = transformers.AutoProcessor.from_pretrained(folder, **kwargs)
        return cache[key]

    return get


def adapter_for(cls, processor, protocol: str = "fair"):
    adapter = cls(ModelSpec(name="x", protocol=protocol))
    adapter.processor = processor
    return adapter


def frames_of(n: int, size: tuple[int, int], seed: int = 0) -> list[Image.Image]:
    """Distinct random frames; frame i carries i in its top-left pixel's red channel."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        pixels[:8, :8] = (i % 256, 0, 0)
        frames.append(Image.fromarray(pixels))
    return frames


def video_of(frames: list[Image.Image]) -> Video:
    n = len(frames)
    return Video(key="src/scene", frames=frames, frame_indices=list(range(n)),
                 paths=[Path(f"frame_{i:04d}.jpg") for i in range(n)])


def assert_same(official, ours, keys=("input_ids", "video_grid_thw", "pixel_values_videos")):
    for key in keys:
        assert torch.equal(official[key], ours[key]), key


def _cap_off(processor) -> dict:
    annotations = getattr(processor.video_processor.valid_kwargs, "__annotations__", {})
    return {"cap_pixels_per_frame": False} if "cap_pixels_per_frame" in annotations else {}


# --- independent rules, written from their definitions -----------------------------------
def _round_half_even(x: Fraction) -> int:
    floor = math.floor(x)
    rest = x - floor
    return floor + (1 if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2) else 0)


def _fit(height, width, factor, min_px, max_px):
    """qwen-vl-utils' rounding: nearest multiples, scaled down/up into the pixel range."""
    h = max(factor, _round_half_even(Fraction(height, factor)) * factor)
    w = max(factor, _round_half_even(Fraction(width, factor)) * factor)
    if h * w > max_px:
        beta = math.sqrt(height * width / max_px)
        h = math.floor(height / beta / factor) * factor
        w = math.floor(width / beta / factor) * factor
    elif h * w < min_px:
        beta = math.sqrt(min_px / (height * width))
        h = math.ceil(height * beta / factor) * factor
        w = math.ceil(width * beta / factor) * factor
    return h, w


def expected_qwen25(width: int, height: int, n: int) -> tuple[int, tuple[int, int]]:
    """qwen-vl-utils 0.0.14 on a list of n frames: (frames, (width, height)).

    Each frame: factor 56 (its image path gets the video's 28 as the patch size and doubles
    it), 4..16384 tokens of 56x56; the list is padded to an even count; then the stack:
    factor 28, 128 x 28x28 up to min(768 x 28x28, total_pixels / frames * 2), at least 1.05
    x the floor (total_pixels = 128000 x 28x28 x 0.9).
    """
    h1, w1 = _fit(height, width, 56, 4 * 56 * 56, 16384 * 56 * 56)
    frames = n + n % 2
    floor = 128 * 28 * 28
    ceiling = max(min(768 * 28 * 28, 128000 * 28 * 28 * 0.9 / frames * 2), int(floor * 1.05))
    h2, w2 = _fit(h1, w1, 28, floor, ceiling)
    return frames, (w2, h2)


def expected_qwen3_positions(total: int) -> list[int]:
    """transformers 4.57.1 Qwen3-VL sampling of a frame list declared at 24 fps: int(total /
    24 * 2) frames, clamped to [4, 768] and to total, at round-half-even(i * (total - 1) /
    (count - 1))."""
    count = min(max(int(Fraction(total, 24) * 2), 4), 768, total)
    if count == 1:
        return [0]
    return [_round_half_even(Fraction(i * (total - 1), count - 1)) for i in range(count)]


def expected_qwen3_size(width: int, height: int, frames: int) -> tuple[int, int]:
    """4.57.1 Qwen3-VL video resize: multiples of 32 with the pixel range over the whole clip
    (t rounded to pairs x h x w within 4096..25165824)."""
    h = _round_half_even(Fraction(height, 32)) * 32
    w = _round_half_even(Fraction(width, 32)) * 32
    t = _round_half_even(Fraction(frames, 2)) * 2
    if t * h * w > 25165824:
        beta = math.sqrt(frames * height * width / 25165824)
        h = max(32, math.floor(height / beta / 32) * 32)
        w = max(32, math.floor(width / beta / 32) * 32)
    elif t * h * w < 4096:
        beta = math.sqrt(4096 / (frames * height * width))
        h, w = math.ceil(height * beta / 32) * 32, math.ceil(width * beta / 32) * 32
    return w, h


def test_independent_rules_reproduce_the_known_cases():
    assert expected_qwen25(640, 480, 3) == (4, (616, 504))  # the example
    assert {size: expected_qwen25(*size, 1)[1] for size in SIZES} == QWEN25_OFFICIAL
    assert len(expected_qwen3_positions(12)) == 4 and len(expected_qwen3_positions(96)) == 8
    assert expected_qwen3_positions(3) == [0, 1, 2] and expected_qwen3_positions(1) == [0]


# --- Qwen2.5-VL and its fine-tunes ---------------------------------------------------------
def official_qwen25(processor, frames, system: str | None = None, text: str = "Q?"):
    """utils/run_qa_task.py: messages -> chat template -> process_vision_info -> processor."""
    from qwen_vl_utils import process_vision_info

    messages = qi.video_message(frames, text)
    if system is not None:
        messages.insert(0, {"role": "system", "content": [{"type": "text", "text": system}]})
    prompt = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    images, videos = process_vision_info(messages)
    return processor(text=[prompt], images=images, videos=videos, padding=True,
                     return_tensors="pt")


def suite_inputs(adapter, video, text: str = "Q?"):
    frames = adapter.prepare_frames(video)
    prompt = adapter.render_prompt(text + adapter.prompt_suffix, frames)
    return frames, adapter.processor(text=[prompt], return_tensors="pt",
                                     **adapter.visual_inputs(frames, video))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_qwen25_frames_equal_the_official_pipeline(processors, size, n):
    processor = processors("qwen2_5_vl")
    frames = frames_of(n, size, seed=n)
    adapter = adapter_for(Qwen25VLAdapter, processor)
    shown, ours = suite_inputs(adapter, video_of(frames))
    assert_same(official_qwen25(processor, frames), ours)
    count, (width, height) = expected_qwen25(*size, n)
    t, gh, gw = ours["video_grid_thw"][0].tolist()
    assert (len(shown), 2 * t, (gw * 14, gh * 14)) == (count, count, (width, height))
    assert (width, height) == QWEN25_OFFICIAL[size]
    assert float(ours["second_per_grid_ts"][0]) == 1.0  # 4.57.1's 2 fps for a frame list
    if not TF5:
        assert float(official_qwen25(processor, frames)["second_per_grid_ts"][0]) == 1.0


@pytest.mark.parametrize("n", COUNTS)
def test_qwen25_frame_counts_equal_the_official_pipeline(processors, n):
    processor = processors("qwen2_5_vl")
    frames = frames_of(n, (160, 120), seed=n)
    shown, ours = suite_inputs(adapter_for(Qwen25VLAdapter, processor), video_of(frames))
    assert_same(official_qwen25(processor, frames), ours)
    count, (width, height) = expected_qwen25(160, 120, n)
    assert tuple(ours["video_grid_thw"][0].tolist()) == (count // 2, height // 14, width // 14)
    # frame i of the video is source frame min(i, n - 1) (the last one repeated)
    red = shown[:, 0, 0, 0].round().int().tolist()
    assert red == [min(i, n - 1) for i in range(count)]


def test_qwen25_count_rule_on_every_count_1_to_200(monkeypatch):
    """qwen-vl-utils' own frame count and per-frame budget for every count 1..200. The two
    count-independent resampling steps are replaced by free placeholders of the size they
    are asked for (each frame's own resize is done once, for real): only the arithmetic is
    under test here; pixels are compared on many counts above."""
    from qwen_vl_utils import vision_process

    first = vision_process.fetch_image({"image": Image.new("RGB", (8, 6))}, 28)
    monkeypatch.setattr(vision_process, "fetch_image", lambda *_a, **_k: first)
    monkeypatch.setattr(vision_process.transforms.functional, "resize",
                        lambda video, size, **_: torch.zeros(1).expand(*video.shape[:2], *size))
    frames = [Image.new("RGB", (8, 6))] * 200
    for n in range(1, 201):
        count, (width, height) = expected_qwen25(8, 6, n)
        video = vision_process.fetch_video({"type": "video", "video": frames[:n]})
        assert tuple(video.shape) == (count, 3, height, width), n


@pytest.mark.parametrize("cls", QWEN25_FAMILIES)
def test_fine_tunes_show_the_qwen25_frames(processors, cls):
    """Each fine-tune's adapter input equals its official call (VST: system prompt; SSRL:
    format prompt appended; VST's official processor arguments, see the next test)."""
    plain = processors("qwen2_5_vl")
    official_processor = processors("qwen2_5_vl", **VST_PROCESSOR_ARGS) if cls is VSTAdapter \
        else plain
    frames = frames_of(3, (640, 480), seed=7)
    adapter = adapter_for(cls, plain)
    _, ours = suite_inputs(adapter, video_of(frames), text="Which way?")
    official = official_qwen25(official_processor, frames, system=adapter.system_prompt,
                               text="Which way?" + adapter.prompt_suffix)
    assert_same(official, ours)
    assert tuple(ours["video_grid_thw"][0].tolist()) == (2, 504 // 14, 616 // 14)


@pytest.mark.parametrize("size", SIZES)
def test_vst_official_processor_arguments_never_reach_the_video(processors, size):
    """Under 4.57.1 ``AutoProcessor.from_pretrained(min_pixels=256*28*28, max_pixels=1280*
    28*28)`` leaves the video resize on the checkpoint's range: VST's frames are qwen-vl-
    utils' (160x120 stays 392x280). Transformers 5.x would apply them (532x392), so the suite
    loads the processor without them and must still give the 4.57.1 frames."""
    frames = frames_of(2, size, seed=11)
    vst_way = official_qwen25(processors("qwen2_5_vl", **VST_PROCESSOR_ARGS), frames)
    adapter = adapter_for(VSTAdapter, processors("qwen2_5_vl"))
    _, ours = suite_inputs(adapter, video_of(frames))
    width, height = QWEN25_OFFICIAL[size]
    assert tuple(ours["video_grid_thw"][0].tolist()) == (1, height // 14, width // 14)
    official_grid = tuple(vst_way["video_grid_thw"][0].tolist())
    if not TF5:  # the pinned pipeline itself
        assert_same(vst_way, ours, ("video_grid_thw", "pixel_values_videos"))
    elif size == (160, 120):  # what 5.x makes of the official call: not the paper's frames
        assert official_grid == (1, 392 // 14, 532 // 14)
    else:  # frames already inside 256..1280 x 28x28: 5.x leaves them too
        assert official_grid == tuple(ours["video_grid_thw"][0].tolist())


def test_llava_ov_frames_equal_the_official_pipeline(processors):
    """LLaVA-OV-1.5's official call is Qwen2.5-VL's (its processor is a Qwen2.5-VL one)."""
    from types import SimpleNamespace

    processor = processors("qwen2_5_vl")
    adapter = LlavaOV15Adapter(ModelSpec(name="x"))
    adapter.processor, adapter.model = processor, SimpleNamespace(device="cpu")
    for size in [(640, 480), (480, 854)]:
        frames = frames_of(3, size, seed=3)
        ours = adapter._inputs(video_of(frames), "Q?")
        assert_same(official_qwen25(processor, frames), ours)
        width, height = QWEN25_OFFICIAL[size]
        assert tuple(ours["video_grid_thw"][0].tolist()) == (2, height // 14, width // 14)


# --- Qwen3-VL ------------------------------------------------------------------------------
def official_qwen3(processor, frames, text: str = "Q?"):
    """utils/run_qa_task.py: apply_chat_template with fps-24 metadata; the processor samples."""
    return processor.apply_chat_template(
        qi.video_message(frames, text), add_generation_prompt=True, tokenize=True,
        return_dict=True, return_tensors="pt",
        video_metadata=[{"fps": 24.0, "total_num_frames": len(frames)}])


def test_qwen3_selection_rule_on_every_count_1_to_200(processors):
    """The adapter's frame positions = the 4.57.1 rule from its definition, for 1..200 frames
    (and the installed 4.57 processor's own sampling)."""
    from transformers.video_utils import VideoMetadata

    processor = processors("qwen3_vl")
    adapter = adapter_for(Qwen3VLAdapter, processor)
    blank = [Image.new("RGB", (4, 4))] * 200
    for n in range(1, 201):
        expected = expected_qwen3_positions(n)
        assert adapter.shown_positions(video_of(blank[:n])) == expected, n
        if not TF5:
            metadata = VideoMetadata(total_num_frames=n, fps=24.0)
            assert processor.video_processor.sample_frames(metadata).tolist() == expected, n
    assert len(expected_qwen3_positions(12)) == 4 and len(expected_qwen3_positions(96)) == 8


@pytest.mark.parametrize("n", [c for c in COUNTS if c > 1])
def test_qwen3_frames_equal_the_official_pipeline(processors, n):
    processor = processors("qwen3_vl")
    frames = frames_of(n, (160, 120), seed=n)
    adapter = adapter_for(Qwen3VLAdapter, processor)
    shown, ours = suite_inputs(adapter, video_of(frames))
    assert_same(official_qwen3(processor, frames), ours)
    positions = expected_qwen3_positions(n)
    assert [f.getpixel((0, 0))[0] for f in shown] == positions
    t, gh, gw = ours["video_grid_thw"][0].tolist()
    assert t == math.ceil(len(positions) / 2)
    assert (gw * 16, gh * 16) == expected_qwen3_size(160, 120, len(positions))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("n", [2, 13])
def test_qwen3_sizes_equal_the_official_pipeline(processors, size, n):
    processor = processors("qwen3_vl")
    frames = frames_of(n, size, seed=n)
    _, ours = suite_inputs(adapter_for(Qwen3VLAdapter, processor), video_of(frames))
    assert_same(official_qwen3(processor, frames), ours)
    t, gh, gw = ours["video_grid_thw"][0].tolist()
    assert (gw * 16, gh * 16) == expected_qwen3_size(*size, len(expected_qwen3_positions(n)))


def test_qwen3_timestamps_are_the_official_ones(processors):
    """96 frames: pairs (0, 14), (27, 41), ... at 24 fps: the same <t seconds> stamps."""
    processor = processors("qwen3_vl")
    frames = frames_of(96, (64, 48))
    _, ours = suite_inputs(adapter_for(Qwen3VLAdapter, processor), video_of(frames))
    text = processor.tokenizer.decode(ours["input_ids"][0])
    assert [f"<{x} seconds>" in text for x in ("0.3", "1.4", "2.5", "3.7")] == [True] * 4
    assert torch.equal(official_qwen3(processor, frames)["input_ids"], ours["input_ids"])


def test_qwen3_small_frames_and_single_frames(processors):
    """Where 4.57.1 itself fails, the suite still answers, identically under both majors:
    frames under 32 px are enlarged to 32 px (transformers 5.x's rule), one frame is shown
    twice."""
    processor = processors("qwen3_vl")
    adapter = adapter_for(Qwen3VLAdapter, processor)
    small = frames_of(4, (32, 24))
    shown, ours = suite_inputs(adapter, video_of(small))
    assert [f.size for f in shown] == [(42, 32)] * 4
    assert tuple(ours["video_grid_thw"][0].tolist()) == (2, 2, 2)  # 32x32 frames
    if TF5:
        assert_same(official_qwen3(processor, small), ours, ("video_grid_thw",))
    else:
        with pytest.raises(ValueError, match="must be larger than factor"):
            official_qwen3(processor, small)
    one = frames_of(1, (160, 120))
    shown, ours = suite_inputs(adapter, video_of(one))
    assert len(shown) == 2 and tuple(ours["video_grid_thw"][0].tolist())[0] == 1
    with pytest.raises(ValueError, match="temporal_factor"):
        official_qwen3(processor, one)


def test_qwen3_max_frames_keeps_the_source_rate(processors):
    """``--max-frames`` (fair): the count comes from the source length, capped at the frames
    given; stamps use their source indices."""
    adapter = adapter_for(Qwen3VLAdapter, processors("qwen3_vl"))
    frames = frames_of(16, (64, 48))
    given = Video(key="src/s", frames=frames, frame_indices=[i * 6 for i in range(15)] + [95],
                  paths=[Path("x")] * 16)
    positions = adapter.shown_positions(given)
    assert positions == qi.sample_positions(16, 8)  # 96 source frames -> 8, of the 16 given
    meta = adapter.visual_inputs(adapter.prepare_frames(given), given)["video_metadata"][0]
    assert meta["frames_indices"] == [given.frame_indices[p] for p in positions]
    assert meta["total_num_frames"] == 96 and meta["fps"] == 24.0
    assert adapter_for(Qwen3VLAdapter, adapter.processor).shown_positions(
        Video("src/s", frames[:3], [0, 47, 95], [Path("x")] * 3)) == [0, 1, 2]


def test_qwen3_reference_uses_listing_positions(processors):
    """Under reference the frames are the official listing's, by position, whatever their
    numbers (string-sorted names, gaps): the input equals the official call on that list."""
    processor = processors("qwen3_vl")
    frames = frames_of(30, (64, 48))
    numbers = sorted(range(0, 60, 2), key=str)  # frame_0, frame_10, frame_12, ..., frame_2
    listed = Video(key="src/s", frames=frames, frame_indices=numbers, paths=[Path("x")] * 30)
    reference = adapter_for(Qwen3VLAdapter, processor, protocol="reference")
    _, ours = suite_inputs(reference, listed)
    assert_same(official_qwen3(processor, frames), ours)
    fair = adapter_for(Qwen3VLAdapter, processor)  # fair: not increasing -> positions too
    assert fair.timeline(listed) == (30, list(range(30)))
    shifted = Video("src/s", frames, list(range(5, 35)), [Path("x")] * 30)
    assert fair.timeline(shifted) == (30, list(range(30)))  # numbered from 5: same frames


def test_missing_qwen_vl_utils_says_how_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_qwen(name, *args, **kwargs):
        if name == "qwen_vl_utils":
            raise ImportError("No module named 'qwen_vl_utils'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_qwen)
    with pytest.raises(qi.QwenVLUtilsMissing, match="pip install 'qwen-vl-utils==0.0.14'"):
        qi.qwen_vl_utils_video([Image.new("RGB", (8, 8))])
    with pytest.raises(LoadError, match="qwen-vl-utils"):  # at load, before any case
        Qwen25VLAdapter(ModelSpec(name="x")).attach(object(), object())


def test_another_qwen_vl_utils_version_is_said_once(monkeypatch, caplog):
    from importlib import metadata

    from dynbench.adapters import qwen_inputs as qi

    real = metadata.version
    monkeypatch.setattr(qi.metadata, "version",
                        lambda name: "0.0.11" if name == "qwen-vl-utils" else real(name))
    with caplog.at_level("WARNING", logger="dynbench"):
        assert qi.checked_version() == "0.0.11"
        assert qi.checked_version() == "0.0.11"
    said = [r.message for r in caplog.records if "qwen-vl-utils 0.0.11 is installed" in r.message]
    assert len(said) == 1 and "pip install 'qwen-vl-utils==0.0.14'" in said[0]
    monkeypatch.setattr(qi.metadata, "version", real)
    assert qi.checked_version() == "0.0.14" and qi.version_note() is None
