"""LLaVA-OneVision-1.5 and UniPixel adapters on their stand-ins, under either transformers major.

The stand-ins reproduce the traits of the published code the adapters meet (see their module
docstrings); these tests check the adapters' side of each call contract, the official inputs
(UniPixel's pixel budget and frame geometry on many sizes and frame counts), and that both the
stand-ins and the adapters stop where the real code stops: under transformers 5 each model
fails at load with one LoadError naming the cause and the install command.
"""

from __future__ import annotations

import importlib
import math
import sys
import types
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from dynbench.adapters import compat
from dynbench.adapters import remote_common as rc
from dynbench.adapters.base import MASK, QA, LoadError, Video
from dynbench.adapters.registry import create_adapter
from dynbench.modelspec import ModelSpec
from dynbench.tiny import build_tiny
from tests.remote_helpers import (
    EXPRESSION,
    INDICES,
    INSTALL,
    PROMPT,
    SIZE,
    frame,
    offline_hf,
    qa,
    red_over_green,
    seg,
)

TF5 = compat.transformers_major() >= 5
needs_tf4 = pytest.mark.skipif(TF5, reason="the published code needs transformers 4; the "
                                           "transformers 5 behaviour is tested separately")
needs_tf5 = pytest.mark.skipif(not TF5, reason="transformers 5 behaviour")
INSTALL_4 = INSTALL
MASK_PROMPT = EXPRESSION  # the bare question, as the official code sends
SIZES = [(160, 120), (640, 480), (854, 480), (1280, 720), (1920, 1080), (480, 854),
         (720, 1280)]  # (width, height); the last two portrait


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    """``standin(name)`` -> folder of the tiny stand-in checkpoint, built once per module."""
    mp = offline_hf(tmp_path_factory)
    root = tmp_path_factory.mktemp("standins")
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            built[name] = build_tiny(name, root / f"{name}-standin")
        return built[name]

    yield get
    mp.undo()


def make_video(folder: Path, n: int = 3, size: tuple[int, int] = SIZE, ext: str = "png") -> Video:
    folder.mkdir(parents=True, exist_ok=True)
    frames = [frame(i % 5, size) for i in range(n)]
    paths = [folder / f"frame_{i:04d}.{ext}" for i in range(n)]
    for img, path in zip(frames, paths, strict=True):
        img.save(path)
    return Video(key="src/scene", frames=frames, frame_indices=list(range(n)), paths=paths)


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Video:
    v = make_video(tmp_path_factory.mktemp("frames"))
    return Video(v.key, v.frames, INDICES, v.paths)


def loaded(folder: Path, **spec):
    adapter = create_adapter(ModelSpec(name=str(folder), **spec))
    adapter.load()
    return adapter


# ---------------------------------------------------------------- LLaVA-OneVision-1.5


def test_llava_ov_1_5_needs_qwen_vl_utils(standin, monkeypatch):
    monkeypatch.setitem(sys.modules, "qwen_vl_utils", None)
    adapter = create_adapter(ModelSpec(name=str(standin("llava_ov_1_5"))))
    with pytest.raises(LoadError, match=r"pip install 'qwen-vl-utils==0\.0\.14'"):
        adapter.load()


@needs_tf4
@pytest.mark.parametrize("alias", [None, "lmms-lab/LLaVA-OneVision-1.5-8B-Instruct"])
def test_llava_ov_1_5_generate_call(standin, video, alias):
    from dynbench.adapters.llava_ov import LlavaOV15Adapter

    adapter = loaded(standin("llava_ov_1_5"), alias=alias)
    assert isinstance(adapter, LlavaOV15Adapter) and adapter.capabilities == {QA}
    assert type(adapter.model).__module__.startswith("transformers_modules.")
    text = adapter.answer(video, qa())
    got = adapter.model.last_inputs
    prompt = adapter.processor.tokenizer.decode(got["input_ids"])
    assert prompt.endswith(PROMPT + "<|im_end|>\n<|im_start|>assistant\n")
    assert "<|vision_start|><|video_pad|>" in prompt and got["video_tokens"] > 0
    assert got["kwargs"] == ["attention_mask", "input_ids", "pixel_values_videos",
                             "video_grid_thw"]  # second_per_grid_ts & co. dropped
    assert got["video_grid_thw"][0][0] == 4  # 3 frames padded to 4, temporal patches of 1
    assert got["max_new_tokens"] == 1024
    assert text in "ABCD" and len(text) == 1
    assert adapter.describe()["kind"] == "smoke"


@needs_tf4
def test_llava_ov_1_5_generation_override(standin, video):
    adapter = loaded(standin("llava_ov_1_5"), generation={"max_new_tokens": 1})
    adapter.answer(video, qa())
    assert adapter.model.last_inputs["max_new_tokens"] == 1


@needs_tf4
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_llava_ov_1_5_follows_the_weights_dtype(standin, video, dtype):
    """No dtype is hard-coded in the real code: fp16/bf16 overrides run (pixels are cast)."""
    adapter = loaded(standin("llava_ov_1_5"), torch_dtype=dtype)
    assert adapter.describe()["dtype"] == dtype
    assert adapter.answer(video, qa()) in "ABCD"


@needs_tf4
def test_llava_ov_1_5_standin_rejects_what_the_real_forward_rejects(standin, video):
    """Real traits: generate() refuses second_per_grid_ts; temporal patches of 2 break the
    video-token count exactly as in the real model."""
    from qwen_vl_utils import process_vision_info

    from dynbench.adapters.llava_ov import video_messages

    adapter = loaded(standin("llava_ov_1_5"))
    messages = video_messages(video, PROMPT)
    text = adapter.processor.apply_chat_template(messages, tokenize=False,
                                                 add_generation_prompt=True)
    _, videos = process_vision_info(messages)
    inputs = adapter.processor(text=[text], videos=videos, return_tensors="pt")
    inputs["second_per_grid_ts"] = [1.0]
    with pytest.raises(ValueError, match="second_per_grid_ts"):
        adapter.model.generate(**inputs, max_new_tokens=2)
    adapter.processor.video_processor.temporal_patch_size = 2
    doubled = adapter.processor(text=[text], videos=videos, return_tensors="pt")
    with pytest.raises(ValueError, match="Video features and video tokens do not match"):
        adapter.model.generate(input_ids=doubled["input_ids"],
                               pixel_values_videos=doubled["pixel_values_videos"],
                               video_grid_thw=doubled["video_grid_thw"], max_new_tokens=2)


@needs_tf5
def test_llava_ov_1_5_on_transformers_5_stops_at_load(standin):
    adapter = create_adapter(ModelSpec(name=str(standin("llava_ov_1_5"))))
    with pytest.raises(LoadError) as err:
        adapter.load()
    message = str(err.value)
    assert INSTALL_4 in message and "transformers.modeling_attn_mask_utils" in message
    assert "written for transformers 4" in message and str(standin("llava_ov_1_5")) in message


@contextmanager
def fake_attn_mask_utils():
    """Provide the module transformers 5 removed, to reach the stand-in's next failures."""
    module = types.ModuleType("transformers.modeling_attn_mask_utils")
    module.AttentionMaskConverter = type("AttentionMaskConverter", (), {})
    name = "dynbench.tiny.standins.llava_onevision1_5_standin"
    saved = sys.modules.pop(name, None)
    sys.modules[module.__name__] = module
    try:
        yield importlib.import_module(name)
    finally:
        sys.modules.pop(module.__name__, None)
        sys.modules.pop(name, None)
        if saved is not None:
            sys.modules[name] = saved


def test_llava_ov_1_5_standin_fails_in_the_real_order():
    """Real code under transformers 5: the import, then ``text_config.pad_token_id``, then
    ``ROPE_INIT_FUNCTIONS["default"]``. Under transformers 4 all three pass."""
    from dynbench.tiny.standins import llava_onevision1_5_standin_config as conf

    name = "dynbench.tiny.standins.llava_onevision1_5_standin"
    if not TF5:
        modeling = importlib.import_module(name)
        text = modeling.LLaVAOneVision1_5StandInText(conf.LLaVAOneVision1_5StandInTextConfig())
        assert text.padding_idx is None and text.inv_freq.numel() == 4
        return
    sys.modules.pop(name, None)
    with pytest.raises(ModuleNotFoundError, match="transformers.modeling_attn_mask_utils"):
        importlib.import_module(name)
    with fake_attn_mask_utils() as modeling:
        config = conf.LLaVAOneVision1_5StandInTextConfig()
        with pytest.raises(AttributeError, match="pad_token_id"):
            modeling.LLaVAOneVision1_5StandInText(config)
        config.pad_token_id = None
        with pytest.raises(KeyError, match="default"):
            modeling.LLaVAOneVision1_5StandInText(config)


# ---------------------------------------------------------------- UniPixel


@contextmanager
def isolated_unipixel():
    """Leave ``sys.path`` and any ``unipixel`` modules as they were before."""
    def named(name: str) -> bool:
        return name == "unipixel" or name.startswith("unipixel.")

    saved = {n: m for n, m in sys.modules.items() if named(n)}
    path = list(sys.path)
    for name in saved:
        del sys.modules[name]
    try:
        yield
    finally:
        for name in [n for n in sys.modules if named(n)]:
            del sys.modules[name]
        sys.modules.update(saved)
        sys.path[:] = path


@pytest.fixture(scope="module")
def unipixel(standin):
    """Adapter on the stand-in checkpoint, the stand-in package put on sys.path by the test."""
    if TF5:
        pytest.skip("UniPixel's code needs transformers 4 (the 5.x failure is tested apart)")
    from dynbench.tiny.remote import UNIPIXEL_STANDIN_PATH

    with isolated_unipixel():
        sys.path.insert(0, str(UNIPIXEL_STANDIN_PATH))
        import unipixel

        assert unipixel.STANDIN
        yield loaded(standin("unipixel"))


def fake_package(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_unipixel_not_on_the_path_says_how_to_install(monkeypatch):
    from dynbench.adapters.unipixel import UniPixelMissing

    with isolated_unipixel():
        monkeypatch.setitem(sys.modules, "unipixel", None)  # import unipixel -> ImportError
        adapter = create_adapter(ModelSpec(name="PolyU-ChenLab/UniPixel-3B"))
        with pytest.raises(UniPixelMissing) as err:
            adapter.load()
    assert isinstance(err.value, LoadError)
    assert "git clone https://github.com/PolyU-ChenLab/UniPixel" in str(err.value)
    assert "pip install 'dynbench[unipixel]'" in str(err.value)


def test_unipixel_missing_dependency_is_named_not_blamed_on_unipixel(tmp_path, monkeypatch):
    """UniPixel's own import fails on a package it needs: say which and how to get it."""
    from dynbench.adapters.unipixel import import_unipixel

    root = fake_package(tmp_path, {"unipixel/dataset/utils.py": "import nncore\n"})
    with isolated_unipixel():
        sys.path.insert(0, str(root))
        monkeypatch.setitem(sys.modules, "nncore", None)
        with pytest.raises(LoadError) as err:
            import_unipixel()
    message = str(err.value)
    assert "'nncore'" in message and "pip install 'dynbench[unipixel]'" in message
    assert "git clone" not in message and "unipixel/dataset/utils.py:1" in message


def test_unipixel_without_its_sam2_folder(tmp_path):
    from dynbench.adapters.unipixel import import_unipixel

    root = fake_package(tmp_path, {"unipixel/dataset/utils.py": "import sam2.sam2_train\n"})
    with isolated_unipixel(), pytest.MonkeyPatch.context() as mp:
        sys.path.insert(0, str(root))
        mp.setitem(sys.modules, "sam2", None)
        with pytest.raises(LoadError, match="modified SAM2"):
            import_unipixel()


def test_unipixel_standin_import_matches_the_real_one_per_major(standin):
    """The stand-in package imports MODEL_FOR_VISION_2_SEQ_MAPPING_NAMES as the real one: fine
    under transformers 4, and under 5 the adapter blames transformers, not the install."""
    from dynbench.adapters.unipixel import import_standin_unipixel

    with isolated_unipixel():
        if not TF5:
            api = import_standin_unipixel()
            from transformers.models.auto.modeling_auto import (
                MODEL_FOR_VISION_2_SEQ_MAPPING_NAMES,
            )

            assert MODEL_FOR_VISION_2_SEQ_MAPPING_NAMES["pixel_qwen2_5_vl"] == \
                "PixelQwen2_5_VLForConditionalGeneration"
            assert callable(api.build_model)
            return
        with pytest.raises(LoadError) as err:
            import_standin_unipixel()
    message = str(err.value)
    assert "MODEL_FOR_VISION_2_SEQ_MAPPING_NAMES" in message and INSTALL_4 in message
    assert "git clone" not in message and "written for transformers 4" in message


@needs_tf5
def test_unipixel_on_transformers_5_stops_at_load(standin):
    with isolated_unipixel():
        adapter = create_adapter(ModelSpec(name=str(standin("unipixel"))))
        with pytest.raises(LoadError, match=r"transformers>=4\.57\.1,<5"):
            adapter.load()


def test_unipixel_standin_checkpoint_brings_its_package(standin, video):
    from dynbench.tiny.remote import UNIPIXEL_STANDIN_PATH

    if TF5:
        pytest.skip("UniPixel's code needs transformers 4")
    with isolated_unipixel():
        sys.path[:] = [p for p in sys.path if p != str(UNIPIXEL_STANDIN_PATH)]
        adapter = loaded(standin("unipixel"), alias="PolyU-ChenLab/UniPixel-7B")
        assert adapter.describe()["unipixel_package"] == "stand-in"
        assert adapter.answer(video, qa())[0] in "ABCD"


def test_unipixel_call_contract(unipixel, video):
    import unipixel.dataset.utils as stand_in_utils
    import unipixel.model.builder as stand_in_builder

    from dynbench.adapters.unipixel import UniPixelAdapter

    assert isinstance(unipixel, UniPixelAdapter) and unipixel.capabilities == {QA, MASK}
    text = unipixel.answer(video, qa())
    assert text == "A<|seg|>"  # special tokens kept, the final eos dropped (official decode)
    entry = stand_in_utils.LAST_CALL["videos"][0]
    assert entry["items"] == [str(p) for p in video.paths]
    assert entry["min_pixels"] == 128 * 28 * 28 and entry["max_pixels"] == 256 * 28 * 28 * 5
    assert stand_in_builder.LAST_CALL["attn_implementation"] == "sdpa"
    got = unipixel.model.last_inputs
    prompt = unipixel.processor.tokenizer.decode(got["input_ids"])
    assert prompt.endswith(f"<|vision_end|>{PROMPT}<|im_end|>\n<|im_start|>assistant\n")
    assert got["frames_shape"] == (3, 3, 64, 64) and got["frame_size"] == (SIZE[1], SIZE[0])
    assert got["frames_dtype"] == "torch.bfloat16"  # cast to model.sam2.dtype
    assert got["max_new_tokens"] == 512
    assert got["sampling"] == {"do_sample": False, "temperature": None, "top_k": None,
                               "top_p": None, "repetition_penalty": None}


def test_unipixel_dtype_policy(unipixel, standin, video):
    """auto -> bf16 (UniPixel's build_model default); fp32 is a working override."""
    import unipixel.model.builder as stand_in_builder

    assert unipixel.describe()["dtype"] == "bfloat16"
    fp32 = loaded(standin("unipixel"), torch_dtype="float32")
    assert str(stand_in_builder.LAST_CALL["dtype"]) == "torch.float32"
    assert fp32.model.sam2.dtype.is_floating_point and fp32.describe()["dtype"] == "float32"
    assert fp32.segment(video, seg()).masks.shape == (3, SIZE[1], SIZE[0])


def test_unipixel_cuda_n_becomes_the_current_device(monkeypatch):
    import torch

    from dynbench.adapters.unipixel import select_cuda_device

    chosen = []
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)
    for device in ("cpu", "cuda", "cuda:1"):
        select_cuda_device(device)
    assert chosen == ["cuda:1"]


def test_unipixel_mask_prompt_is_sent_verbatim(unipixel, video):
    out = unipixel.segment(video, seg())
    prompt = unipixel.processor.tokenizer.decode(unipixel.model.last_inputs["input_ids"])
    assert prompt.endswith(f"<|vision_end|>{MASK_PROMPT}<|im_end|>\n<|im_start|>assistant\n")
    assert "<|seg|>" in out.text


def test_unipixel_masks_align_with_frames(unipixel, video):
    unipixel.segment(video, seg())
    out = unipixel.segment(video, seg())
    assert len(unipixel.model.seg) == 1  # emptied before each call, as the official code does
    raw = unipixel.model.seg[0]
    assert tuple(raw.shape) == (1, 3, SIZE[1], SIZE[0]) and str(raw.device) == "cpu"
    assert out.masks.dtype == np.bool_ and out.masks.shape == (3, SIZE[1], SIZE[0])
    for mask, img in zip(out.masks, video.frames, strict=True):
        want = np.argwhere(red_over_green(img)).mean(axis=0)
        assert np.allclose(np.argwhere(mask).mean(axis=0), want, atol=1.0)
    assert out.notes == []


def test_unipixel_without_paths_sends_decoded_frames(unipixel, video):
    import unipixel.dataset.utils as stand_in_utils

    bare = Video(video.key, video.frames, video.frame_indices, paths=[])
    unipixel.answer(bare, qa())
    assert stand_in_utils.LAST_CALL["videos"][0]["items"] == video.frames


def test_unipixel_no_mask_first_mask_and_misaligned(unipixel, video, monkeypatch):
    config = unipixel.model.config
    monkeypatch.setattr(config, "standin_masks_per_seg", 0)
    none = unipixel.segment(video, seg())
    assert none.masks is None and none.notes == [rc.NO_MASK]
    monkeypatch.setattr(config, "standin_masks_per_seg", 2)
    two = unipixel.segment(video, seg())
    assert two.masks[0][15, 10] and two.notes == ["2 <|seg|> masks; scored the first"]
    monkeypatch.setattr(config, "standin_drop_frames", 1)
    with pytest.raises(rc.MisalignedOutput):
        unipixel.segment(video, seg())


# ------------------------------------------------ UniPixel's official frame geometry


def official_frame_size(width: int, height: int, count: int) -> tuple[int, int]:
    """(width, height) a frame reaches the model at in the official UniPixel evaluation.

    Written from the definitions: the helper's budget min 128*28*28 and max
    256*28*28*max(1, int(16/T)) pixels; UniPixel's smart_resize rounds each side to a
    multiple of 28, scales up to the minimum when below it, then down to the maximum when
    above it.
    """
    low, high = 128 * 28 * 28, 256 * 28 * 28 * max(1, int(16 / count))
    h, w = max(28, 28 * round(height / 28)), max(28, 28 * round(width / 28))
    if h * w < low:
        s = math.sqrt(low / (height * width))
        h, w = 28 * math.ceil(height * s / 28), 28 * math.ceil(width * s / 28)
    if h * w > high:
        s = math.sqrt(height * width / high)
        h, w = 28 * math.floor(height / s / 28), 28 * math.floor(width / s / 28)
    return w, h


def test_unipixel_pixel_budget_per_frame_count():
    from dynbench.adapters.unipixel import MIN_PIXELS, max_pixels

    assert MIN_PIXELS == 128 * 28 * 28
    for count in range(1, 201):
        assert max_pixels(count) == 200704 * max(1, int(16 / count)), count
    assert [max_pixels(t) // 200704 for t in (1, 2, 3, 5, 8, 9, 16, 17, 200)] == \
        [16, 8, 5, 3, 2, 1, 1, 1, 1]


def test_unipixel_standin_geometry_equals_the_official_rule():
    """Every size (incl. portrait) x every frame count 1..200, through the stand-in package's
    smart_resize with the adapter's budget."""
    from dynbench.adapters.unipixel import MIN_PIXELS, max_pixels
    from dynbench.tiny.remote import UNIPIXEL_STANDIN_PATH

    spec = importlib.util.spec_from_file_location(
        "standin_unipixel_utils", UNIPIXEL_STANDIN_PATH / "unipixel" / "dataset" / "utils.py")
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)
    for width, height in SIZES:
        for count in range(1, 201):
            h, w = utils.smart_resize(height, width, min_pixels=MIN_PIXELS,
                                      max_pixels=max_pixels(count))
            assert (w, h) == official_frame_size(width, height, count), (width, height, count)
    assert official_frame_size(640, 480, 3) == (644, 476)  # within 5x the 16-frame budget
    assert official_frame_size(640, 480, 16) == (504, 364)  # scaled down to the budget
    assert official_frame_size(1920, 1080, 40) == (588, 336)
    assert official_frame_size(160, 120, 16) == (392, 280)  # scaled up to the minimum


@pytest.mark.parametrize("width, height", SIZES)
@pytest.mark.parametrize("count", [1, 3, 17])
def test_unipixel_frames_reach_the_model_at_the_official_size(unipixel, tmp_path, width,
                                                               height, count):
    import unipixel.dataset.utils as stand_in_utils

    video = make_video(tmp_path / "v", count, (width, height), ext="jpg")
    data = unipixel._inputs(video, PROMPT)  # what generate() receives
    assert stand_in_utils.LAST_CALL["videos"][0]["items"] == [str(p) for p in video.paths]
    w, h = official_frame_size(width, height, count)
    assert data["video_grid_thw"].tolist() == [[math.ceil(count / 2), h // 14, w // 14]]
    assert tuple(data["frame_size"][0]) == (height, width)  # SAM2 sees the full frames
    size = unipixel.model.config.sam2_image_size
    assert tuple(data["frames"][0].shape) == (count, 3, size, size)
