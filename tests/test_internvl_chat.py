"""InternVL3 / InternVL3.5 remote-code chat: adapter, stand-ins, and the official inputs.

The official inputs (the paper's ``utils/video_utils.py``, ``utils/run_qa_task.py``): every
frame becomes InternVL's dynamic tiling with ``max_num=1``, ``Frame{i}: <image>\\n`` per frame
before the prompt, ``num_patches_list`` of ones, greedy decoding with 128 new tokens. The
rule is re-implemented here from its definition and compared with the adapter's tensors.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from dynbench.adapters.base import QA, LoadError, Video
from dynbench.adapters.internvl import InternVLChatAdapter, tile_pixels
from dynbench.adapters.registry import create_adapter
from dynbench.modelspec import ModelSpec
from dynbench.tiny import build_tiny
from tests.remote_helpers import (
    INSTALL,
    PROMPT,
    frame,
    make_video,
    needs_tf4,
    offline_hf,
    only_tf5,
    qa,
)

MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])
SIZES = [(160, 120), (640, 480), (854, 480), (1280, 720), (1920, 1080), (480, 854)]


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    mp = offline_hf(tmp_path_factory)
    root = tmp_path_factory.mktemp("internvl-standins")
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


def loaded(folder, **spec):
    adapter = create_adapter(ModelSpec(name=str(folder), **spec))
    adapter.load()
    return adapter


# ---------------------------------------------------------------- the official rule, re-derived


def official_tiles(image: Image.Image, max_num: int, size: int = 448) -> list[Image.Image]:
    """InternVL's dynamic tiling, written from its definition.

    Grids (cols, rows) with 1 <= cols*rows <= max_num, by area; the one whose aspect ratio is
    closest to the image's wins (on a tie, a larger grid wins when the image area exceeds
    half the grid's pixel area); the image is resized to the grid and cut into tiles, and a
    whole-image thumbnail is appended when there is more than one tile.
    """
    width, height = image.size
    grids = sorted({(c, r) for c in range(1, max_num + 1) for r in range(1, max_num + 1)
                    if c * r <= max_num}, key=lambda g: g[0] * g[1])
    best, best_diff = (1, 1), float("inf")
    for cols, rows in grids:
        diff = abs(width / height - cols / rows)
        if diff < best_diff:
            best, best_diff = (cols, rows), diff
        elif diff == best_diff and width * height > 0.5 * size * size * cols * rows:
            best = (cols, rows)
    cols, rows = best
    resized = image.resize((size * cols, size * rows), Image.Resampling.BICUBIC)
    tiles = [resized.crop((c * size, r * size, (c + 1) * size, (r + 1) * size))
             for r in range(rows) for c in range(cols)]
    if len(tiles) > 1:
        tiles.append(image.resize((size, size), Image.Resampling.BICUBIC))
    return tiles


def normalised(tile: Image.Image) -> np.ndarray:
    arr = np.asarray(tile.convert("RGB"), dtype=np.float64) / 255.0
    return ((arr - MEAN) / STD).transpose(2, 0, 1)


def textured(size: tuple[int, int], seed: int) -> Image.Image:
    """A frame with edges and noise, so any resampling difference would show."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    arr = np.stack([(xx * 255 // max(1, w - 1)), (yy * 255 // max(1, h - 1)),
                    ((xx // 7 + yy // 5) % 2) * 255], -1).astype(np.int16)
    arr += rng.integers(-20, 21, arr.shape, dtype=np.int16)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_one_448_tile_per_frame_equals_the_official_rule(size):
    frames = [textured(size, seed) for seed in range(2)]
    got = tile_pixels(frames, 448)
    assert got.shape == (2, 3, 448, 448) and got.dtype == torch.float32
    for tensor, img in zip(got, frames, strict=True):
        tiles = official_tiles(img, max_num=1)
        assert len(tiles) == 1  # max_num=1: one tile, and so no thumbnail
        assert np.allclose(tensor.numpy(), normalised(tiles[0]), atol=1e-5)


def test_more_tiles_would_add_a_thumbnail():
    """The re-derived rule itself: 640x480 with 6 tiles is a 3x2 grid plus the thumbnail."""
    assert len(official_tiles(textured((640, 480), 0), max_num=6)) == 7


def official_question(count: int, prompt: str) -> str:
    lines = [f"Frame{k}: <image>" for k in range(1, count + 1)]
    return "\n".join(lines) + "\n" + prompt


@needs_tf4
def test_every_frame_count_gets_the_official_prompt_and_tiles(standin, monkeypatch):
    adapter = loaded(standin("internvl"))
    adapter.image_size = 28  # tile content is checked above; this checks counts and order
    calls = []
    monkeypatch.setattr(adapter.model, "chat", lambda tok, pixels, question, gen, **kw:
                        calls.append((pixels.shape, question, kw, dict(gen))) or "A")
    for count in range(1, 201):
        frames = [frame(i % 4, (16, 12)) for i in range(count)]
        adapter.answer(Video("s/v", frames, list(range(count)), []), qa())
    for count, (shape, question, kw, gen) in enumerate(calls, start=1):
        assert tuple(shape) == (count, 3, 28, 28)
        assert question == official_question(count, PROMPT)
        assert kw["num_patches_list"] == [1] * count and kw["history"] is None
        assert gen == {"max_new_tokens": 128, "do_sample": False}


# ---------------------------------------------------------------- adapter on the stand-ins


@needs_tf4
@pytest.mark.parametrize("name, alias", [("internvl", None), ("internvl", "OpenGVLab/InternVL3-8B"),
                                         ("internvl3_5", "OpenGVLab/InternVL3_5-8B")])
def test_chat_frames_and_prompt(standin, video, name, alias):
    adapter = loaded(standin(name), alias=alias)
    assert isinstance(adapter, InternVLChatAdapter) and adapter.capabilities == {QA}
    assert type(adapter.model).__module__.startswith("transformers_modules.")
    text = adapter.answer(video, qa())
    got = adapter.model.last_inputs
    assert got["question"] == official_question(3, PROMPT)
    assert got["num_patches_list"] == [1, 1, 1] and got["pixel_shape"] == (3, 3, 448, 448)
    assert got["pixel_dtype"] == "torch.bfloat16"  # auto = bf16, as the paper's code
    assert got["image_tokens"] == 3 * adapter.model.num_image_token
    assert {"max_new_tokens": 128, "do_sample": False}.items() <= got["generation_config"].items()
    assert adapter.model.use_flash_attn is False  # no flash-attn here: the model's kwarg says so
    assert text in "ABCD" and len(text) == 1
    assert adapter.describe()["dtype"] == "bfloat16"


@needs_tf4
def test_normalises_with_imagenet_stats(standin, video):
    adapter = loaded(standin("internvl"))
    adapter.answer(video, qa())
    raw = np.stack([np.asarray(f) for f in video.frames]).mean(axis=(0, 1, 2)) / 255
    expected = (raw - MEAN) / STD
    assert np.allclose(adapter.model.last_inputs["pixel_mean"], expected, atol=0.05)


@needs_tf4
def test_internvl3_runs_in_an_explicit_fp32(standin, video):
    """No hard-coded cast in InternVL3's code: an explicit dtype is honoured, not refused."""
    adapter = loaded(standin("internvl"), torch_dtype="float32")
    assert adapter.answer(video, qa()) in "ABCD"
    assert adapter.model.last_inputs["pixel_dtype"] == "torch.float32"


@needs_tf4
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_internvl3_5_in_another_dtype_is_refused_at_load(standin, dtype):
    adapter = create_adapter(ModelSpec(name=str(standin("internvl3_5")), torch_dtype=dtype))
    with pytest.raises(LoadError, match=r"casts mlp1 \(bfloat16\) itself.*--dtype bfloat16"):
        adapter.load()


@needs_tf4
def test_internvl3_5_standin_fails_in_fp32_like_the_real_code(standin):
    from transformers import AutoModel, AutoTokenizer

    folder = standin("internvl3_5")
    model = AutoModel.from_pretrained(folder, trust_remote_code=True, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(folder, use_fast=False)
    with pytest.raises(RuntimeError, match="mixed dtype"):
        model.chat(tok, torch.zeros(1, 3, 448, 448), "<image>\nQ", {"max_new_tokens": 8},
                   num_patches_list=[1])


@only_tf5
@pytest.mark.parametrize("name, cause", [
    ("internvl", "transformers.modeling_attn_mask_utils"), ("internvl3_5", "post_init()")])
def test_under_transformers_5_load_names_cause_and_install_command(standin, name, cause):
    adapter = create_adapter(ModelSpec(name=str(standin(name))))
    with pytest.raises(LoadError) as info:
        adapter.load()
    assert cause in str(info.value) and str(info.value).endswith(f"Fix: {INSTALL}")
