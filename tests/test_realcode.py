"""Opt-in: tiny checkpoints built from each family's *published* code, run through pytest.

Set ``DYNBENCH_REALCODE`` to a folder holding fetched public repositories (one sub-folder
each, named as on GitHub: ``LLaVA-OneVision-1.5``, ``UniPixel``, ...); without it every test
here is skipped. Nothing of those repositories is copied into this one: the checkpoints are
built in temporary folders at test time. Under transformers 4 (the default install) each
model must load and answer through ``pytest --model <folder>``; under transformers 5 the
families whose code needs 4.x must stop at load with one message naming the install command.

UniPixel additionally needs ``pip install 'dynbench[unipixel]'`` (its own imports).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dynbench.adapters.compat import INSTALL_TRANSFORMERS_4, transformers_major
from tests.builders import small_dataset

ROOT = Path(__file__).resolve().parents[1]
REALCODE = os.environ.get("DYNBENCH_REALCODE")
TF5 = transformers_major() >= 5  # read at import: pytester drops modules a test imported
pytestmark = pytest.mark.skipif(not REALCODE, reason="opt-in: set DYNBENCH_REALCODE to a "
                                                     "folder of fetched public repositories")


def repo(name: str) -> Path:
    path = Path(REALCODE or "") / name
    if not path.is_dir():
        pytest.skip(f"{path} not found (fetch the public repository there)")
    return path


def bench_file() -> Path:
    for rel in ("bench_tests/test_dynbench.py", "dynbench/bench/test_dynbench.py"):
        if (ROOT / rel).is_file():
            return ROOT / rel
    raise FileNotFoundError("the benchmark's test file")


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "HF_HOME": str(tmp_path / "hf-home"), **extra}


def run_module(args: list[str], environment: dict[str, str]) -> str:
    """``python -m tests.realcode_llava_unipixel ARGS`` in a fresh process; its stdout."""
    done = subprocess.run([sys.executable, "-m", "tests.realcode_llava_unipixel", *args],
                          cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=1200)
    if done.returncode:
        raise AssertionError(f"{args}: exit {done.returncode}\n{done.stderr[-4000:]}")
    return done.stdout


def bench(pytester, monkeypatch, model: Path, data: Path, out: Path,
          environment: dict[str, str]):
    """``pytest --model <folder>`` in a subprocess, as a user runs it."""
    for key, value in environment.items():
        if os.environ.get(key) != value:
            monkeypatch.setenv(key, value)
    pytester.makepyfile(test_dynbench=bench_file().read_text())
    return pytester.runpytest_subprocess("--model", str(model), "--data-dir", str(data),
                                         "--report-dir", str(out), "--max-frames", "3",
                                         "-p", "no:cacheprovider")


def records(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]


def say(title: str, lines: list[str]) -> None:
    """What the run printed that the closing note quotes (visible with ``-s``)."""
    print(f"\n[realcode] {title}")
    for line in lines:
        print(f"[realcode]   {line}")


def outcome_lines(result) -> list[str]:
    """The first LoadError with its fix line, the score summary and pytest's last line."""
    text = [line.strip() for line in (result.stdout.str() + result.stderr.str()).splitlines()]
    first = next((i for i, line in enumerate(text) if "LoadError:" in line), None)
    shown = text[first:first + 2] if first is not None else []
    shown += [line for line in text if line.startswith("cases ")]
    return shown + [line for line in text if line.startswith("=")][-1:]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return small_dataset(tmp_path_factory.mktemp("realcode-data"))


# ------------------------------------------------------ LLaVA-OneVision-1.5 (remote-b)


@pytest.fixture(scope="module")
def llava_ov_1_5_real(tmp_path_factory) -> tuple[Path, bool]:
    source = repo("LLaVA-OneVision-1.5")
    tmp = tmp_path_factory.mktemp("llava-ov-real")
    folder = tmp / "LLaVA-OneVision-1.5-tiny"
    built = run_module(["llava_ov_1_5", str(source), str(folder)], env(tmp))
    return folder, built.strip().endswith("weights") and "no weights" not in built


def test_realcode_llava_ov_1_5_through_pytest(llava_ov_1_5_real, dataset, pytester, tmp_path,
                                              monkeypatch):
    folder, has_weights = llava_ov_1_5_real
    out = tmp_path / "out"
    result = bench(pytester, monkeypatch, folder, dataset, out, env(tmp_path))
    say(f"LLaVA-OV-1.5 real code, transformers {transformers_major()}.x",
        outcome_lines(result))
    if TF5:
        output = result.stdout.str() + result.stderr.str()
        assert not has_weights and result.ret != 0
        assert INSTALL_TRANSFORMERS_4 in output and "modeling_attn_mask_utils" in output
        assert result.parseoutcomes().get("passed", 0) == 0
        return
    assert has_weights
    rows = records(out)
    qa = [r for r in rows if r["kind"] == "qa"]
    assert qa and all(r["status"] == "ok" and r["output"] == "B" and r["extracted"] == "B"
                      for r in qa), [(r["status"], r.get("error")) for r in qa]
    assert all(r["status"] == "n/a" for r in rows if r["kind"] == "mask")
    say("LLaVA-OV-1.5 outputs", [f"{r['id']}: {r['output']!r}" for r in qa])


def test_realcode_llava_ov_1_5_fails_where_its_standin_fails(llava_ov_1_5_real, tmp_path):
    """Past the removed module, the published code and the stand-in fail at the same points
    under transformers 5 (text config ``pad_token_id``, then ``ROPE_INIT_FUNCTIONS``), and at
    none under transformers 4."""
    from dynbench.tiny import build_tiny

    folder, _ = llava_ov_1_5_real
    standin = build_tiny("llava_ov_1_5", tmp_path / "standin")
    real = json.loads(run_module(["chain", "-", str(folder)], env(tmp_path)).splitlines()[-1])
    fake = json.loads(run_module(["chain", "-", str(standin)], env(tmp_path)).splitlines()[-1])
    say(f"failure chain under transformers {transformers_major()}.x",
        [f"real: {real}", f"stand-in: {fake}"])
    kinds = [f.split(":")[0] for f in real]
    assert kinds == [f.split(":")[0] for f in fake]
    if TF5:
        assert kinds == ["AttributeError", "KeyError"]
        assert "pad_token_id" in real[0] and "'default'" in real[1]
    else:
        assert real == []


# ---------------------------------------------------------------- UniPixel (remote-b)


@pytest.fixture(scope="module")
def unipixel_real(tmp_path_factory) -> tuple[Path, Path]:
    source = repo("UniPixel")
    tmp = tmp_path_factory.mktemp("unipixel-real")
    folder = tmp / "UniPixel-tiny"
    if TF5:  # the published package cannot even be imported: build nothing, load must say so
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps({
            "model_type": "pixel_qwen2_5_vl",
            "architectures": ["PixelQwen2_5_VLForConditionalGeneration"]}))
        return source, folder
    try:
        run_module(["unipixel", str(source), str(folder)], env(tmp, PYTHONPATH=str(source)))
    except AssertionError as exc:
        if "No module named" in str(exc):
            pytest.skip(f"UniPixel's imports are not installed (pip install "
                        f"'dynbench[unipixel]'): {str(exc).splitlines()[-1]}")
        raise
    return source, folder


def test_realcode_unipixel_through_pytest(unipixel_real, dataset, pytester, tmp_path,
                                          monkeypatch):
    source, folder = unipixel_real
    out = tmp_path / "out"
    path = os.pathsep.join(p for p in (str(source), os.environ.get("PYTHONPATH")) if p)
    result = bench(pytester, monkeypatch, folder, dataset, out, env(tmp_path, PYTHONPATH=path))
    say(f"UniPixel real code, transformers {transformers_major()}.x", outcome_lines(result))
    if TF5:
        output = result.stdout.str() + result.stderr.str()
        assert result.ret != 0 and INSTALL_TRANSFORMERS_4 in output
        assert "MODEL_FOR_VISION_2_SEQ_MAPPING_NAMES" in output and "git clone" not in output
        return
    rows = records(out)
    errors = [(r["id"], r["error"]) for r in rows if r["status"] == "error"]
    assert not errors, errors
    qa = [r for r in rows if r["kind"] == "qa"]
    masks = [r for r in rows if r["kind"] == "mask"]
    assert qa and all(r["output"] == "A<|seg|>" and r["extracted"] == "A" for r in qa)
    assert masks and all(len(r["per_frame_j"]) == len(r["frames"]) == 3 for r in masks)
    say("UniPixel outputs", [f"{r['id']}: {r['output']!r} J&F={r.get('jf')}"
                             for r in qa + masks])


def test_realcode_unipixel_mask_stack_on_cpu(unipixel_real, tmp_path):
    """The published model's raw output: one bool (1, T, H, W) per <|seg|>, on the CPU."""
    if TF5:
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
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, env=env(tmp_path, PYTHONPATH=str(source)), timeout=1200)
    assert done.returncode == 0, done.stderr[-4000:]
    line = done.stdout.strip().splitlines()[-1]
    say("UniPixel model.seg[0]", [line])
    assert line == "(1, 3, 48, 64) torch.bool cpu (3, 48, 64) bfloat16"


def test_realcode_unipixel_geometry_equals_standin(unipixel_real, tmp_path):
    """UniPixel's own smart_resize with the official budget == the stand-in's, on every size
    and frame count 1..200."""
    if TF5:
        pytest.skip("UniPixel's code needs transformers 4")
    source, _ = unipixel_real
    from tests.test_adapters_llava_unipixel import SIZES, official_frame_size

    script = f"""
import json
from unipixel.dataset.utils import smart_resize
from dynbench.adapters.unipixel import MIN_PIXELS, max_pixels
sizes = {SIZES!r}
print(json.dumps([[w, h, t, *smart_resize(h, w, min_pixels=MIN_PIXELS, max_pixels=max_pixels(t))]
                  for w, h in sizes for t in range(1, 201)]))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, env=env(tmp_path, PYTHONPATH=str(source)), timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(rows) == len(SIZES) * 200
    for w, h, t, real_h, real_w in rows:
        assert (real_w, real_h) == official_frame_size(w, h, t), (w, h, t)
    say("UniPixel geometry", [f"{len(rows)} (size, count) pairs equal to the official rule"])
