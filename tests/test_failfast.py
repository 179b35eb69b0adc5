"""A model that cannot load stops the run once, before any case, with one clear message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dynbench import exitcodes
from dynbench.adapters.base import LoadError
from dynbench.loadcheck import LoadFailure, explain
from tests.builders import small_dataset

ROOT = Path(__file__).resolve().parents[1]
BENCH_TEST = (ROOT / "bench_tests" / "test_dynbench.py").read_text()
FAILING_LOAD = '''
from dynbench.adapters.base import LoadError
from dynbench.adapters.baseline import ChanceBaseline

class NeedsNewerTransformers(ChanceBaseline):
    def load(self):
        raise LoadError("this family needs transformers>=5 (found 4.57); "
                        "pip install 'transformers>=5'")

def pytest_configure(config):
    from dynbench.plugin import _state
    state = _state(config)
    state.create_adapter = lambda: NeedsNewerTransformers(state.spec)
'''


@pytest.fixture
def bench(pytester, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    pytester.makepyfile(test_dynbench=BENCH_TEST)
    pytester.makeini("[pytest]\naddopts = --strict-markers -p no:cacheprovider\n")
    data = small_dataset(tmp_path / "d")

    def run(*args: str):
        out = tmp_path / "out"
        result = pytester.runpytest_subprocess("--data-dir", str(data), "--report-dir",
                                               str(out), *args)
        return result, out

    return run


def assert_stopped_once(result, out: Path, *needles: str) -> dict:
    text = result.stdout.str() + result.stderr.str()
    assert result.ret == exitcodes.LOAD_FAILED, text
    assert len(text.splitlines()) < 40, text
    for needle in needles:
        assert needle in text, needle
    assert "Traceback" not in text and "PASSED" not in text and "FAILED" not in text
    assert text.count("cannot load") <= 2  # the summary block and pytest's stop line
    summary = json.loads((out / "report.json").read_text())["dynbench"]
    assert summary["status"] == "load_failed" and summary["counts"]["cases"] == 0
    assert summary["load_error"]["cause"] and summary["load_error"]["traceback"]
    assert not (out / "samples.jsonl").exists()
    return summary


def test_offline_hub_model(bench):
    result, out = bench("--model", "Qwen/Qwen2.5-VL-7B")
    summary = assert_stopped_once(result, out, "Qwen/Qwen2.5-VL-7B", "HF_HUB_OFFLINE",
                                  "dynbench download --model Qwen/Qwen2.5-VL-7B",
                                  f"exit code {exitcodes.LOAD_FAILED}", "no case ran (7 selected)")
    assert summary["load_error"]["model"] == "model Qwen/Qwen2.5-VL-7B (family qwen2_5_vl)"


def test_offline_hub_model_under_xdist(bench):
    result, out = bench("--model", "Qwen/Qwen2.5-VL-7B", "-n", "2")
    assert_stopped_once(result, out, "Qwen/Qwen2.5-VL-7B", "not in the local Hugging Face cache")


def test_missing_predictions_folder(bench, tmp_path):
    missing = tmp_path / "does" / "not" / "exist"
    result, out = bench("--predictions", str(missing))
    assert_stopped_once(result, out, f"predictions folder {missing}", "does not exist",
                        "Saved predictions")


def test_family_without_logits(bench):
    result, out = bench("--qa-mode", "logits")
    assert_stopped_once(result, out, "family baseline does not support --qa-mode logits",
                        "--qa-mode generate")


def test_bad_device(bench):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result, out = bench("--model", "tiny:qwen2_5_vl", "--device", "cuda", "-n", "2")
    assert_stopped_once(result, out, "--device cuda: no CUDA GPU is visible", "--device cpu")


def test_adapter_load_error_message_is_kept(bench, pytester):
    pytester.makeconftest(FAILING_LOAD)
    result, out = bench()
    summary = assert_stopped_once(result, out, "needs transformers>=5",
                                  "pip install 'transformers>=5'")
    assert summary["load_error"]["error_type"] == "LoadError"


# --- explanations of exceptions (no pytest run) ----------------------------------------------


def _raised(make) -> BaseException:
    try:
        make()
    except BaseException as exc:  # noqa: BLE001
        return exc
    raise AssertionError("nothing raised")


def test_explain_names_cause_and_fix():
    def gated():
        class GatedRepoError(Exception):
            pass
        try:
            raise GatedRepoError("401 Client Error: access to model is restricted")
        except GatedRepoError as exc:
            raise OSError("You are trying to access a gated repo.") from exc

    cases = {
        "gated": (_raised(gated), "gated or private", "HF_TOKEN"),
        "import": (_raised(lambda: __import__("no_such_package_xyz")),
                   "No module named 'no_such_package_xyz'", "pip install no_such_package_xyz"),
        "oom": (RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"),
                "out of memory", "device_map: auto"),
        "adapter": (LoadError("needs flash-attn: pip install flash-attn"), "needs flash-attn",
                    None),
        "other": (ValueError("weird"), "ValueError: weird", "report.json"),
    }
    for name, (exc, cause, fix) in cases.items():
        failure = explain(exc, "model m (family f)", "org/m")
        assert isinstance(failure, LoadFailure)
        assert cause in failure.cause, name
        assert (fix is None and failure.fix is None) or fix in failure.fix, name
        assert failure.lines()[0] == "cannot load model m (family f)"


def test_explain_clips_a_huge_message():
    failure = explain(RuntimeError("x" * 100_000), "model m")
    assert len(failure.cause) < 700
