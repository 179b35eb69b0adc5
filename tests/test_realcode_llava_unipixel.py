"""Opt-in: tiny checkpoints from LLaVA-OV-1.5's and UniPixel's published code, through pytest.

Set ``DYNBENCH_REALCODE`` to a folder holding fetched public repositories (one sub-folder
each, named as on GitHub: ``LLaVA-OneVision-1.5``, ``UniPixel``, ...); without it every test
here is skipped. Nothing of those repositories is copied into this one: the checkpoints are
built in temporary folders at test time (builders: ``tests/realcode/``). Under transformers 4
(the default install) each model must load and answer through ``pytest --model <folder>``;
under transformers 5 the families whose code needs 4.x must stop at load with one message
naming the install command. Each run prints ``REALCODE`` lines (``pytest -s``).

UniPixel additionally needs ``pip install 'dynbench[unipixel]'`` (its own imports).
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

from dynbench.adapters.compat import INSTALL_TRANSFORMERS_4, transformers_major
from tests.builders import small_dataset
from tests.realcode import llava_unipixel as lu

REALCODE_ROOT = os.environ.get("DYNBENCH_REALCODE")
TF_MAJOR = transformers_major()  # read at import: pytester drops modules a test imported
pytestmark = pytest.mark.skipif(not REALCODE_ROOT, reason="opt-in: set DYNBENCH_REALCODE "
                                                          "to a folder of public repositories")


def public_repo(name: str) -> Path:
    path = Path(REALCODE_ROOT or "") / name
    if not path.is_dir():
        pytest.skip(f"{path} not found: git clone the public repository there")
    return path


@pytest.fixture(scope="module")
def lu_data(tmp_path_factory) -> Path:
    return small_dataset(tmp_path_factory.mktemp("realcode-lu-data"))


# ---------------------------------------------------------------- LLaVA-OneVision-1.5


@pytest.fixture(scope="module")
def llava_ov_1_5_real(tmp_path_factory) -> tuple[Path, bool]:
    """(checkpoint folder, whether its weights could be written here)."""
    source = public_repo("LLaVA-OneVision-1.5")
    tmp = tmp_path_factory.mktemp("llava-ov-real")
    folder = tmp / "LLaVA-OneVision-1.5-tiny"
    built = lu.run_here(["llava_ov_1_5", str(source), str(folder)], lu.child_env(tmp))
    return folder, built.strip().splitlines()[-1] == "weights"


def test_realcode_llava_ov_1_5_through_pytest(llava_ov_1_5_real, lu_data, pytester, tmp_path,
                                              monkeypatch):
    folder, has_weights = llava_ov_1_5_real
    out = tmp_path / "out"
    result = lu.run_bench(pytester, monkeypatch, folder, lu_data, out, lu.child_env(tmp_path))
    lu.say(f"LLaVA-OV-1.5 published code, transformers {TF_MAJOR}.x",
           lu.outcome_lines(result))
    if TF_MAJOR >= 5:
        output = result.stdout.str() + result.stderr.str()
        assert not has_weights and result.ret != 0
        assert INSTALL_TRANSFORMERS_4 in output and "modeling_attn_mask_utils" in output
        assert result.parseoutcomes().get("passed", 0) == 0
        return
    assert has_weights
    rows = lu.samples(out)
    qa = [r for r in rows if r["kind"] == "qa"]
    assert qa and all(r["status"] == "ok" and r["output"] == "B" and r["extracted"] == "B"
                      for r in qa), [(r["status"], r.get("error")) for r in qa]
    assert all(r["status"] == "n/a" for r in rows if r["kind"] == "mask")
    lu.say("LLaVA-OV-1.5 outputs", [f"{r['id']}: {r['output']!r}" for r in qa])


def test_realcode_llava_ov_1_5_fails_where_its_standin_fails(llava_ov_1_5_real, tmp_path):
    """Past the removed module, the published code and the stand-in fail at the same points
    under transformers 5 (text config ``pad_token_id``, then ``ROPE_INIT_FUNCTIONS``), and at
    none under transformers 4."""
    from dynbench.tiny import build_tiny

    folder, _ = llava_ov_1_5_real
    standin = build_tiny("llava_ov_1_5", tmp_path / "standin")
    env = lu.child_env(tmp_path)
    real = json.loads(lu.run_here(["chain", "-", str(folder)], env).splitlines()[-1])
    fake = json.loads(lu.run_here(["chain", "-", str(standin)], env).splitlines()[-1])
    lu.say(f"LLaVA-OV-1.5 failure chain under transformers {TF_MAJOR}.x",
           [f"published: {real}", f"stand-in: {fake}"])
    kinds = [f.split(":")[0] for f in real]
    assert kinds == [f.split(":")[0] for f in fake]
    if TF_MAJOR >= 5:
        assert kinds == ["AttributeError", "KeyError"]
        assert "pad_token_id" in real[0] and "'default'" in real[1]
    else:
        assert real == []


# ---------------------------------------------------------------- UniPixel


@pytest.fixture(scope="module")
def unipixel_real(tmp_path_factory) -> tuple[Path, Path]:
    """(UniPixel checkout, checkpoint folder). Under transformers 5 the package cannot be
    imported to build one, so the folder holds only a config: loading must say why."""
    source = public_repo("UniPixel")
    tmp = tmp_path_factory.mktemp("unipixel-real")
    folder = tmp / "UniPixel-tiny"
    if TF_MAJOR >= 5:
        if importlib.util.find_spec("nncore") is None:  # UniPixel fails on it before 5.x
            pytest.skip("UniPixel's imports are not installed (pip install "
                        "'dynbench[unipixel]'): nncore")
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps({
            "model_type": "pixel_qwen2_5_vl",
            "architectures": ["PixelQwen2_5_VLForConditionalGeneration"]}))
        return source, folder
    try:
        lu.run_here(["unipixel", str(source), str(folder)],
                    lu.child_env(tmp, PYTHONPATH=str(source)))
    except AssertionError as exc:
        if "No module named" in str(exc):
            pytest.skip("UniPixel's imports are not installed (pip install "
                        f"'dynbench[unipixel]'): {str(exc).splitlines()[-1]}")
        raise
    return source, folder


def test_realcode_unipixel_through_pytest(unipixel_real, lu_data, pytester, tmp_path,
                                          monkeypatch):
    source, folder = unipixel_real
    out = tmp_path / "out"
    env = lu.child_env(tmp_path, PYTHONPATH=str(source))
    result = lu.run_bench(pytester, monkeypatch, folder, lu_data, out, env)
    lu.say(f"UniPixel published code, transformers {TF_MAJOR}.x", lu.outcome_lines(result))
    if TF_MAJOR >= 5:
        output = result.stdout.str() + result.stderr.str()
        assert result.ret != 0 and INSTALL_TRANSFORMERS_4 in output
        assert "MODEL_FOR_VISION_2_SEQ_MAPPING_NAMES" in output and "git clone" not in output
        return
    rows = lu.samples(out)
    errors = [(r["id"], r["error"]) for r in rows if r["status"] == "error"]
    assert not errors, errors
    qa = [r for r in rows if r["kind"] == "qa"]
    masks = [r for r in rows if r["kind"] == "mask"]
    assert qa and all(r["output"] == "A<|seg|>" and r["extracted"] == "A" for r in qa)
    assert masks and all(len(r["per_frame_j"]) == len(r["frames"]) == 3 for r in masks)
    lu.say("UniPixel outputs", [f"{r['id']}: {r['output']!r} J&F={r.get('jf')}"
                                for r in qa + masks])


def test_realcode_unipixel_mask_stack_on_cpu(unipixel_real, tmp_path):
    """The published model's raw output: one bool (1, T, H, W) per <|seg|>, on the CPU."""
    if TF_MAJOR >= 5:
        pytest.skip("UniPixel's code needs transformers 4 (its 5.x failure: the test above)")
    source, folder = unipixel_real
    script = f"""
import numpy as np
from PIL import Image
from dynbench.adapters.base import MaskRequest, Video
from dynbench.adapters.registry import create_adapter
from dynbench.modelspec import ModelSpec
frames = [Image.fromarray(np.full((48, 64, 3), 40 * i, np.uint8)) for i in range(3)]
adapter = create_adapter(ModelSpec(name={str(folder)!r}))
adapter.load()
out = adapter.segment(Video("s/v", frames, [0, 1, 2], []), MaskRequest("m", "the box", "the box"))
raw = adapter.model.seg[0]
print(tuple(raw.shape), raw.dtype, raw.device, out.masks.shape, adapter.describe()["dtype"])
"""
    line = lu.run_python(script, lu.child_env(tmp_path, PYTHONPATH=str(source)))
    lu.say("UniPixel model.seg[0]", [line])
    assert line == "(1, 3, 48, 64) torch.bool cpu (3, 48, 64) bfloat16"


def test_realcode_unipixel_geometry_equals_the_official_rule(unipixel_real, tmp_path):
    """UniPixel's own smart_resize with the adapter's budget == the official rule (and so the
    stand-in's), on every size and frame count 1..200."""
    if TF_MAJOR >= 5:
        pytest.skip("UniPixel's code needs transformers 4")
    from tests.test_adapters_llava_unipixel import SIZES, official_frame_size

    source, _ = unipixel_real
    script = f"""
import json
from unipixel.dataset.utils import smart_resize
from dynbench.adapters.unipixel import MIN_PIXELS, max_pixels
print(json.dumps([[w, h, t, *smart_resize(h, w, min_pixels=MIN_PIXELS, max_pixels=max_pixels(t))]
                  for w, h in {SIZES!r} for t in range(1, 201)]))
"""
    rows = json.loads(lu.run_python(script, lu.child_env(tmp_path, PYTHONPATH=str(source))))
    assert len(rows) == len(SIZES) * 200
    for w, h, t, real_h, real_w in rows:
        assert (real_w, real_h) == official_frame_size(w, h, t), (w, h, t)
    lu.say("UniPixel geometry", [f"{len(rows)} (size, frame count) pairs equal the official "
                                 "rule"])
