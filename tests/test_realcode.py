"""Opt-in: the families' REAL public code, in tiny random-weight checkpoints, through pytest.

Skipped unless ``DYNBENCH_REALCODE`` names a folder of fetched public repositories (README,
"Real-code checks"). Per checkpoint (``tests/realcode/<family>.py``): build it from the real
files, run ``pytest --model <folder>`` on a small dataset in a child process (also under
the pretend-CUDA shim where the family needs a GPU), and check the outcome the installed
transformers must give: the cases pass, or the run stops at load with the expected message.
Each run prints one ``REALCODE`` line with what happened.

The second part feeds the paper's own input functions (``Thinking-in-Dynamics/utils``) and
the adapters the same frames, and compares what would reach the model.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers

from tests.builders import small_dataset
from tests.realcode import internvl, sa2va
from tests.realcode.common import ENV, realcode_root, repo

pytestmark = pytest.mark.skipif(realcode_root() is None,
                                reason=f"opt-in: set {ENV} (see README, 'Real-code checks')")
ROOT = Path(__file__).resolve().parents[1]
MAJOR = int(transformers.__version__.split(".")[0])
CHECKPOINTS = {**sa2va.CHECKPOINTS, **internvl.CHECKPOINTS}
RUNS = [(name, shim) for name, cp in sorted(CHECKPOINTS.items())
        for shim in ((False, True) if cp.shim_too else (False,))]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("hf-home")
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "HF_HOME": str(home), "PYTHONPATH": os.pathsep.join([str(ROOT),
                                                                 os.environ.get("PYTHONPATH", "")])}


@pytest.fixture(scope="module")
def built(tmp_path_factory, env):
    """``built(name)`` -> (folder, build failure or None), each checkpoint built once."""
    root = tmp_path_factory.mktemp("realcode")
    cache: dict[str, tuple[Path, str | None]] = {}

    def get(name: str):
        if name not in cache:
            folder = root / name
            with pytest.MonkeyPatch.context() as mp:
                for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HOME"):
                    mp.setenv(key, env[key])
                cache[name] = (folder, CHECKPOINTS[name].build(folder))
        return cache[name]

    return get


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return small_dataset(tmp_path_factory.mktemp("realcode-data"))


def child_run(folder: Path, out: Path, data: Path, env: dict, extra: tuple[str, ...]):
    cmd = [sys.executable, "-m", "pytest", "--model", str(folder), "--data-dir", str(data),
           "--report-dir", str(out), "--task", "cameraqa,cameramask", "--limit", "1",
           "-p", "no:cacheprovider", "-q", *extra]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)


def rows_of(out: Path) -> list[dict]:
    path = out / "samples.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize("name, shim", RUNS, ids=[f"{n}{'-pretend-cuda' if s else ''}"
                                                   for n, s in RUNS])
def test_real_code_through_pytest(name, shim, built, dataset, env, tmp_path):
    checkpoint = CHECKPOINTS[name]
    folder, build_error = built(name)
    extra = (*checkpoint.child_args, *(("-p", "tests.pretend_cuda") if shim else ()))
    start = time.perf_counter()
    proc = child_run(folder, tmp_path / "out", dataset, env, extra)
    text = proc.stdout + proc.stderr
    rows = rows_of(tmp_path / "out")
    outcome, expected = checkpoint.expect(MAJOR, shim)
    answers = [r.get("output") for r in rows if r.get("kind") == "qa"]
    load_lines = [line.strip() for line in text.splitlines()
                  if line.strip().startswith("cause:")]  # the fail-fast block (exit 11)
    print(f"\nREALCODE {name}{' (pretend CUDA)' if shim else ''} transformers "
          f"{transformers.__version__}: exit {proc.returncode} in "
          f"{time.perf_counter() - start:.0f}s; build: {build_error or 'ok'}; "
          f"cases: {[(r['id'], r['status']) for r in rows]}; qa outputs: {answers!r}; "
          f"load errors: {load_lines}")
    if outcome == "answers":
        assert proc.returncode == 0, text[-4000:]
        assert answers and all(isinstance(a, str) for a in answers)
        assert all(r["status"] in ("ok", "n/a") for r in rows)
    else:
        assert proc.returncode != 0
        assert not any(r.get("status") == "ok" for r in rows)
        for piece in expected:
            assert piece in text, text[-4000:]


# ---------------------------------------------------------------- the paper's input functions


def official(module: str) -> types.ModuleType:
    """A module of ``Thinking-in-Dynamics/utils``, imported without its package __init__."""
    utils = repo("Thinking-in-Dynamics") / "utils"
    if "dyn_official" not in sys.modules:
        package = types.ModuleType("dyn_official")
        package.__path__ = [str(utils)]
        sys.modules["dyn_official"] = package
    if "colorama" not in sys.modules and importlib.util.find_spec("colorama") is None:
        stub = types.ModuleType("colorama")
        stub.Fore = types.SimpleNamespace(RED="", YELLOW="", GREEN="")
        stub.init = lambda **kw: None
        sys.modules["colorama"] = stub  # the official code only prints in colour
    return importlib.import_module(f"dyn_official.{module}")


SIZES = [(160, 120), (640, 480), (854, 480), (1280, 720), (1920, 1080), (480, 854)]


def frames_on_disk(folder: Path, sizes) -> list[Path]:
    from PIL import Image

    paths = []
    for i, (w, h) in enumerate(sizes):
        rng = np.random.default_rng(i)
        arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        arr[h // 4: h // 2, w // 4: w // 2] = (255, 0, 0)
        path = folder / f"frame_{i:04d}.jpg"
        Image.fromarray(arr).save(path, quality=90)
        paths.append(path)
    return paths


class Recorder:
    """Stands in for a model object: records what the input code hands it."""

    device = torch.device("cpu")
    dtype = torch.bfloat16

    def __init__(self) -> None:
        self.calls: list[tuple[tuple, dict]] = []

    def chat(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return "A"

    def predict_forward(self, **kwargs):
        self.calls.append(((), kwargs))
        return {"prediction": "A<|im_end|>", "prediction_masks": []}


def decoded(paths: list[Path]):
    from dynbench.adapters.base import Video
    from dynbench.media import decode_image

    frames = [decode_image(p, p.parent, "RGB") for p in paths]  # the suite's frame decoder
    return Video("s/v", frames, list(range(len(paths))), paths)


@pytest.mark.parametrize("sizes", [SIZES, [(640, 480)] * 40], ids=["six-sizes", "40-frames"])
def test_internvl_chat_inputs_equal_the_official_code(tmp_path, sizes):
    from dynbench.adapters.base import QARequest
    from dynbench.adapters.internvl import InternVLChatAdapter
    from dynbench.answers import build_qa_prompt, parse_options
    from dynbench.modelspec import ModelSpec

    paths = frames_on_disk(tmp_path, sizes)
    question, options = "Where does the box go?", ["A. left", "B. right", "C. up"]
    theirs = Recorder()
    official("run_qa_task").run_qa_task({"model": theirs, "model_type": "internvl3",
                                         "tokenizer": "tok", "processor": None,
                                         "device": "cpu"}, [str(p) for p in paths], question,
                                        options)
    ours = Recorder()
    adapter = InternVLChatAdapter(ModelSpec(name="OpenGVLab/InternVL3-8B"))
    adapter.model, adapter.tokenizer, adapter.image_size = ours, "tok", 448
    prompt = build_qa_prompt(question, parse_options(options))
    adapter.answer(decoded(paths), QARequest("qa/s/v/q0", question, tuple(options), prompt))
    (t_args, t_kw), (o_args, o_kw) = theirs.calls[0], ours.calls[0]
    assert torch.equal(t_args[1], o_args[1]) and t_args[1].dtype == torch.bfloat16
    assert t_args[0] == o_args[0] and t_args[2] == o_args[2] and t_args[3] == o_args[3]
    assert t_kw == o_kw


@pytest.mark.parametrize("task, qwen", [("qa", False), ("qa", True), ("mask", False),
                                        ("mask", True)])
def test_sa2va_call_equals_the_official_code(tmp_path, task, qwen):
    from dynbench.adapters.base import MaskRequest, QARequest
    from dynbench.adapters.sa2va import Sa2VAAdapter
    from dynbench.answers import build_qa_prompt, parse_options
    from dynbench.data import MASK_PROMPT
    from dynbench.modelspec import ModelSpec

    paths = frames_on_disk(tmp_path, SIZES[:3])
    model_type = "sa2va_qwen2_5" if qwen else "sa2va"
    key = "processor" if qwen else "tokenizer"
    theirs = Recorder()
    model_dict = {"model": theirs, "model_type": model_type, "tokenizer": None,
                  "processor": None, "device": "cuda", key: "pre"}
    question, options = "Which object moves?", ["A. box", "B. ball"]
    adapter = Sa2VAAdapter(ModelSpec(name="ByteDance/Sa2VA-4B"))
    adapter.model, adapter.preprocessor, adapter.uses_processor = Recorder(), "pre", qwen
    adapter.device = "cpu"
    video = decoded(paths)
    if task == "qa":
        official("run_qa_task").run_qa_task(model_dict, [str(p) for p in paths], question,
                                            options)
        prompt = build_qa_prompt(question, parse_options(options))
        adapter.answer(video, QARequest("qa/s/v/q0", question, tuple(options), prompt))
    else:
        answer, masks = official("run_mask_task").run_mask_task(model_dict,
                                                                [str(p) for p in paths],
                                                                question)
        adapter.segment(video, MaskRequest("objmask/s/v/obj1", question,
                                           MASK_PROMPT.format(expression=question)))
        assert answer == "A" and masks == []
    t_kw, o_kw = theirs.calls[0][1], adapter.model.calls[0][1]
    assert set(t_kw) == set(o_kw) and key in o_kw
    assert [np.asarray(f).tolist() == np.asarray(g).tolist()
            for f, g in zip(t_kw["video"], o_kw["video"], strict=True)] == [True] * 3
    assert {k: v for k, v in t_kw.items() if k != "video"} == \
        {k: v for k, v in o_kw.items() if k != "video"}


# ---------------------------------------------------------------- Sa2VA-8B's pre-4.50 LLM

OLD_PYTHON = "DYNBENCH_PYTHON_TRANSFORMERS_449"  # a Python whose transformers is 4.49.x
GENERATION_SCRIPT = """
import os, sys
import torch
from PIL import Image
from transformers import AutoModel, AutoTokenizer
sys.path.insert(0, {root!r})
from tests.pretend_cuda import PretendCuda
model = AutoModel.from_pretrained({folder!r}, trust_remote_code=True, torch_dtype=torch.bfloat16)
tok = AutoTokenizer.from_pretrained({folder!r}, trust_remote_code=True, use_fast=False)
llm = model.language_model
if {restore}:
    from dynbench.adapters import legacy_generation
    legacy_generation.restore(llm)
torch.manual_seed(0)
with torch.no_grad():
    llm.output.weight.normal_(0, 0.5)  # the built checkpoint stops at once; this one talks
seen = {{}}
generate = llm.generate
def capped(*args, **kwargs):  # the real code asks for 2048 new tokens
    out = generate(*args, **{{**kwargs, "max_new_tokens": 64}})
    seen["seq"] = out.sequences
    seen["hid"] = torch.stack([h[-1][0, -1].float() for h in out.hidden_states])
    return out
llm.generate = capped
frames = [Image.new("RGB", (64, 48), (40 * i, 200 - 30 * i, 90)) for i in range(3)]
with PretendCuda():
    out = model.predict_forward(video=frames, text="<image>Please segment the box.",
                                tokenizer=tok)
torch.save({{"seq": seen["seq"], "hid": seen["hid"], "text": out["prediction"]}}, {out!r})
"""


def test_sa2va_internlm2_generates_as_under_transformers_4_49(built, env, tmp_path):
    """The restored generation of Sa2VA-8B's real InternLM2 code under the installed 4.57
    equals that code's own generation under transformers 4.49 (its last release that runs it
    unchanged): same tokens, same last-layer hidden state at every step (what [SEG] reads)."""
    old = os.environ.get(OLD_PYTHON)
    if MAJOR >= 5 or not old:
        pytest.skip(f"needs transformers 4.57 here and {OLD_PYTHON}=<python with 4.49>")
    folder, build_error = built("sa2va_internlm2")
    assert build_error is None, build_error
    runs = {}
    for name, python, restore in (("4.49", old, False), ("installed", sys.executable, True)):
        out = tmp_path / f"{name}.pt"
        script = GENERATION_SCRIPT.format(root=str(ROOT), folder=str(folder), restore=restore,
                                          out=str(out))
        proc = subprocess.run([python, "-c", script], env=env, capture_output=True, text=True,
                              timeout=1800)
        assert proc.returncode == 0, proc.stderr[-4000:]
        runs[name] = torch.load(out)
    a, b = runs["4.49"], runs["installed"]
    diff = (a["hid"] - b["hid"]).abs().max().item()
    print(f"\nREALCODE sa2va_internlm2 generation: transformers 4.49 vs "
          f"{transformers.__version__} restored: {a['seq'].shape[1]} tokens, equal "
          f"{torch.equal(a['seq'], b['seq'])}; hidden states max |diff| {diff}")
    assert torch.equal(a["seq"], b["seq"]) and a["text"] == b["text"]
    assert diff == 0.0
