"""Remote-code adapters (Sa2VA, InternVL chat) on stand-in checkpoints (LLaVA-OV-1.5 and
UniPixel: tests/test_adapters_llava_unipixel.py).

Each stand-in checkpoint is built once per session into a temporary folder and loaded the way
a user's download is (``trust_remote_code=True``, offline); adapters are created through the
registry from the folder's ``config.json`` or from an ``--alias`` hub id. The stand-ins
record what they were given, so the assertions check our side of each real call contract:
the prompt, ``tokenizer=`` vs ``processor=``, the frames, and masks aligned with them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dynbench.adapters import remote_common as rc
from dynbench.adapters.base import MASK, QA, MaskRequest, QARequest, Video
from dynbench.adapters.registry import create_adapter
from dynbench.modelspec import ModelSpec
from dynbench.tiny import build_tiny

PROMPT = ("How does the red box move?\nA. left\nB. right\nC. up\nD. down\n"
          "Answer with the option's letter from the given choices directly.")
SEG_PROMPT = "Please segment the red box that moves right."
SIZE = (64, 48)  # (width, height)
INDICES = [0, 2, 4]


def frame(i: int) -> Image.Image:
    """Green background, a red 10x10 square moving 10 px right per shown frame."""
    arr = np.zeros((SIZE[1], SIZE[0], 3), dtype=np.uint8)
    arr[..., 1] = 255
    arr[10:20, 5 + 10 * i:15 + 10 * i] = (255, 0, 0)
    return Image.fromarray(arr)


def red_over_green(img: Image.Image) -> np.ndarray:
    """What the stand-ins' per-pixel mask head computes: R > G."""
    arr = np.asarray(img).astype(int)
    return arr[..., 0] > arr[..., 1]


@pytest.fixture(scope="session")
def hf_env(tmp_path_factory):
    """Offline hub and a throwaway HF_HOME for the whole session."""
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("hf-home")
    for key, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                       "HF_HOME": str(home), "HF_MODULES_CACHE": str(home / "modules")}.items():
        mp.setenv(key, value)
    yield home
    mp.undo()


@pytest.fixture(scope="session")
def standin(tmp_path_factory, hf_env):
    """``standin(name)`` -> folder of the tiny stand-in checkpoint, built once per session."""
    root = tmp_path_factory.mktemp("standins")
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            built[name] = build_tiny(name, root / f"{name}-standin")
        return built[name]

    return get


@pytest.fixture(scope="session")
def video(tmp_path_factory) -> Video:
    folder = tmp_path_factory.mktemp("frames")
    frames = [frame(i) for i in range(len(INDICES))]
    paths = [folder / f"frame_{i:04d}.png" for i in INDICES]
    for img, path in zip(frames, paths, strict=True):
        img.save(path)
    return Video(key="src/scene", frames=frames, frame_indices=INDICES, paths=paths)


def qa() -> QARequest:
    return QARequest("qa/src/scene/q0", "How does the red box move?",
                     ("A. left", "B. right", "C. up", "D. down"), PROMPT)


def seg() -> MaskRequest:
    return MaskRequest("objmask/src/scene/obj1", "the red box that moves right", SEG_PROMPT)


def loaded(folder: Path, **spec):
    adapter = create_adapter(ModelSpec(name=str(folder), **spec))
    adapter.load()
    return adapter


def test_mask_stack_shapes_and_dtypes():
    four_d = np.zeros((1, 3, 4, 5), dtype=np.float32)
    four_d[0, 1, 2, 3] = 0.7
    assert rc.mask_stack(four_d, 3, "m")[1, 2, 3] and rc.mask_stack(four_d, 3, "m").sum() == 1
    assert rc.mask_stack(np.full((3, 4, 5), 255, np.uint8), 3, "m").all()
    assert rc.mask_stack(np.ones((4, 5), bool), 1, "m").shape == (1, 4, 5)
    with pytest.raises(rc.MisalignedOutput, match="shape"):
        rc.mask_stack(np.ones((2, 3, 4, 5), bool), 3, "m")


# ---------------------------------------------------------------- Sa2VA


@pytest.fixture(scope="module")
def sa2va(standin):
    return loaded(standin("sa2va"))


@pytest.fixture(scope="module")
def sa2va_qwen(standin):
    return loaded(standin("sa2va_qwen"))


@pytest.mark.parametrize("config, hub_id, expected", [
    ({"architectures": ["Sa2VAChatModelQwen"]}, None, True),
    ({"auto_map": {"AutoModel": "modeling_sa2va_qwen.Sa2VAChatModelQwen"}}, None, True),
    ({"llm_config": {"architectures": ["Qwen2ForCausalLM"]}}, "ByteDance/Sa2VA-4B", False),
    ({"text_config": {"model_type": "qwen3_vl_text"}}, None, True),
    ({"vision_config": {"model_type": "qwen2_5_vl"}}, None, True),
    ({}, "ByteDance/Sa2VA-Qwen3-VL-4B", True),
    ({}, "ByteDance/Sa2VA-InternVL3-8B", False),
])
def test_sa2va_processor_or_tokenizer_rule(config, hub_id, expected):
    from dynbench.adapters.sa2va import uses_processor

    assert uses_processor(config, hub_id) is expected


@pytest.mark.parametrize("name, alias, key", [
    ("sa2va", None, "tokenizer"),
    ("sa2va", "ByteDance/Sa2VA-4B", "tokenizer"),
    ("sa2va_qwen", None, "processor"),
    ("sa2va_qwen", "ByteDance/Sa2VA-Qwen2_5-VL-3B", "processor"),
])
def test_sa2va_variant_gets_its_preprocessor(standin, video, name, alias, key):
    from dynbench.adapters.sa2va import Sa2VAAdapter

    adapter = loaded(standin(name), alias=alias)
    assert isinstance(adapter, Sa2VAAdapter) and adapter.capabilities == {QA, MASK}
    assert type(adapter.model).__module__.startswith("transformers_modules.")  # remote code
    text = adapter.answer(video, qa())
    got = adapter.model.last_inputs
    other = "tokenizer" if key == "processor" else "processor"
    assert key in got["kwargs"] and other not in got["kwargs"]
    assert got["text"] == "<image>" + PROMPT
    assert got["past_text"] == "" and got["mask_prompts"] is None
    assert got["num_frames"] == 3 and got["frame_sizes"] == [SIZE] * 3
    assert text[0] in "ABCD" and "<|im_end|>" not in text
    facts = adapter.describe()
    assert facts["kind"] == "smoke" and facts["preprocessor"] == key
    assert facts["attention"] == "eager"  # the remote class refused SDPA; its default applies


def test_sa2va_masks_align_with_frames(sa2va, sa2va_qwen, video):
    for adapter in (sa2va, sa2va_qwen):
        out = adapter.segment(video, seg())
        assert adapter.model.last_inputs["text"] == "<image>" + SEG_PROMPT
        assert out.masks.dtype == np.bool_ and out.masks.shape == (3, SIZE[1], SIZE[0])
        for mask, img in zip(out.masks, video.frames, strict=True):
            assert np.array_equal(mask, red_over_green(img))
        assert "[SEG]" in out.text and out.notes == []


def test_sa2va_scores_the_first_seg(sa2va, video, monkeypatch):
    monkeypatch.setattr(sa2va.model.config, "standin_seg_tokens", 2)
    out = sa2va.segment(video, seg())
    assert np.array_equal(out.masks[1], red_over_green(video.frames[1]))  # not the 2nd [SEG]
    assert out.notes == ["2 [SEG] masks; scored the first"]


def test_sa2va_without_seg_has_no_mask(sa2va_qwen, video, monkeypatch):
    monkeypatch.setattr(sa2va_qwen.model.config, "standin_seg_tokens", 0)
    out = sa2va_qwen.segment(video, seg())
    assert out.masks is None and out.notes == [rc.NO_MASK] and out.text[0] in "ABCD"


def test_sa2va_misaligned_masks_are_an_error(sa2va, video, monkeypatch):
    monkeypatch.setattr(sa2va.model.config, "standin_drop_frames", 1)
    with pytest.raises(rc.MisalignedOutput, match="2 frames but was shown 3"):
        sa2va.segment(video, seg())


def test_sa2va_mask_size_is_returned_as_is(sa2va, video, monkeypatch):
    small = np.ones((3, 24, 32), dtype=bool)
    monkeypatch.setattr(sa2va.model, "predict_forward",
                        lambda **kw: {"prediction": "[SEG]<|im_end|>", "prediction_masks": [small]})
    out = sa2va.segment(video, seg())
    assert out.masks.shape == (3, 24, 32) and out.text == "[SEG]"


def test_explicit_attention_the_model_refuses_is_an_error(standin):
    adapter = create_adapter(ModelSpec(name=str(standin("sa2va")), attn_implementation="sdpa"))
    with pytest.raises(ValueError, match="scaled_dot_product_attention"):
        adapter.load()


# ---------------------------------------------------------------- InternVL chat


@pytest.mark.parametrize("alias", [None, "OpenGVLab/InternVL3-8B"])
def test_internvl_chat_frames_and_prompt(standin, video, alias):
    from dynbench.adapters.internvl import InternVLChatAdapter

    adapter = loaded(standin("internvl"), alias=alias)
    assert isinstance(adapter, InternVLChatAdapter) and adapter.capabilities == {QA}
    assert type(adapter.model).__module__.startswith("transformers_modules.")
    text = adapter.answer(video, qa())
    got = adapter.model.last_inputs
    prefix = "Frame1: <image>\nFrame2: <image>\nFrame3: <image>\n"
    assert got["question"] == prefix + PROMPT
    assert got["num_patches_list"] == [1, 1, 1] and got["pixel_shape"] == (3, 3, 448, 448)
    assert got["image_tokens"] == 3 * adapter.model.num_image_token
    assert {"max_new_tokens": 128, "do_sample": False}.items() <= got["generation_config"].items()
    assert adapter.model.use_flash_attn is False  # no flash-attn here: the model's kwarg says so
    assert text in "ABCD" and len(text) == 1


def test_internvl_chat_normalises_with_imagenet_stats(standin, video):
    adapter = loaded(standin("internvl"))
    adapter.answer(video, qa())
    raw = np.stack([np.asarray(f) for f in video.frames]).mean(axis=(0, 1, 2)) / 255
    expected = (raw - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    assert np.allclose(adapter.model.last_inputs["pixel_mean"], expected, atol=0.05)
