"""Remote-code adapters (LLaVA-OV-1.5, UniPixel) on stand-in checkpoints.

Sa2VA and InternVL chat have their own modules (tests/test_sa2va.py, tests/test_internvl_chat.py).

Each stand-in checkpoint is built once per session into a temporary folder and loaded the way
a user's download is (``trust_remote_code=True``, offline); adapters are created through the
registry from the folder's ``config.json`` or from an ``--alias`` hub id. The stand-ins
record what they were given, so the assertions check our side of each real call contract:
the prompt, ``tokenizer=`` vs ``processor=``, the frames, and masks aligned with them.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
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


# ---------------------------------------------------------------- LLaVA-OneVision-1.5


def test_llava_ov_1_5_needs_qwen_vl_utils(standin, monkeypatch):
    monkeypatch.setitem(sys.modules, "qwen_vl_utils", None)
    adapter = create_adapter(ModelSpec(name=str(standin("llava_ov_1_5"))))
    with pytest.raises(ImportError, match=r"pip install 'qwen-vl-utils==0\.0\.14'"):
        adapter.load()


@pytest.mark.parametrize("alias", [None, "lmms-lab/LLaVA-OneVision-1.5-8B-Instruct"])
def test_llava_ov_1_5_generate_call(standin, video, alias):
    from dynbench.adapters.llava_ov import LlavaOV15Adapter

    pytest.importorskip("qwen_vl_utils")

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
    assert got["video_grid_thw"][0][0] * 2 == 4  # 3 frames, padded to an even count
    assert got["max_new_tokens"] == 1024
    assert text in "ABCD" and len(text) == 1


def test_llava_ov_1_5_generation_override(standin, video):
    pytest.importorskip("qwen_vl_utils")
    adapter = loaded(standin("llava_ov_1_5"), generation={"max_new_tokens": 1})
    adapter.answer(video, qa())
    assert adapter.model.last_inputs["max_new_tokens"] == 1


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
    from dynbench.tiny.remote import UNIPIXEL_STANDIN_PATH

    with isolated_unipixel():
        sys.path.insert(0, str(UNIPIXEL_STANDIN_PATH))
        import unipixel

        assert unipixel.STANDIN
        yield loaded(standin("unipixel"))


def test_unipixel_missing_package_says_how_to_install(monkeypatch):
    from dynbench.adapters.unipixel import UniPixelMissing

    for name in ("unipixel", "unipixel.model.builder", "unipixel.dataset.utils"):
        monkeypatch.setitem(sys.modules, name, None)  # import -> ImportError
    adapter = create_adapter(ModelSpec(name="PolyU-ChenLab/UniPixel-3B"))
    with pytest.raises(UniPixelMissing, match="git clone https://github.com/PolyU-ChenLab/UniPixel"):
        adapter.load()


def test_unipixel_standin_checkpoint_brings_its_package(standin, video):
    from dynbench.tiny.remote import UNIPIXEL_STANDIN_PATH

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
    assert text[0] in "ABCD"
    entry = stand_in_utils.LAST_CALL["videos"][0]
    assert entry["items"] == [str(p) for p in video.paths]
    assert entry["min_pixels"] == 128 * 28 * 28 and entry["max_pixels"] == 256 * 28 * 28 * 5
    assert stand_in_builder.LAST_CALL["attn_implementation"] == "sdpa"
    got = unipixel.model.last_inputs
    assert PROMPT in unipixel.processor.tokenizer.decode(got["input_ids"])
    assert got["frames_shape"] == (3, 3, 64, 64) and got["frame_size"] == (SIZE[1], SIZE[0])
    assert got["max_new_tokens"] == 512 and got["sampling"]["do_sample"] is False


def test_unipixel_masks_align_with_frames(unipixel, video):
    out = unipixel.segment(video, seg())
    assert out.masks.dtype == np.bool_ and out.masks.shape == (3, SIZE[1], SIZE[0])
    for mask, img in zip(out.masks, video.frames, strict=True):
        want = np.argwhere(red_over_green(img)).mean(axis=0)
        assert np.allclose(np.argwhere(mask).mean(axis=0), want, atol=1.0)
    assert "<|seg|>" in out.text and out.notes == []


def test_unipixel_without_paths_sends_decoded_frames(unipixel, video):
    import unipixel.dataset.utils as stand_in_utils

    bare = Video(video.key, video.frames, video.frame_indices, paths=[])
    unipixel.answer(bare, qa())
    assert stand_in_utils.LAST_CALL["videos"][0]["items"] == video.frames


def test_unipixel_no_mask_first_mask_and_misaligned(unipixel, video, monkeypatch):
    config = unipixel.model.config
    monkeypatch.setattr(config, "standin_seg_tokens", 0)
    none = unipixel.segment(video, seg())
    assert none.masks is None and none.notes == [rc.NO_MASK]
    monkeypatch.setattr(config, "standin_seg_tokens", 2)
    two = unipixel.segment(video, seg())
    assert two.masks[0][15, 10] and two.notes == ["2 <|seg|> masks; scored the first"]
    monkeypatch.setattr(config, "standin_drop_frames", 1)
    with pytest.raises(rc.MisalignedOutput):
        unipixel.segment(video, seg())
