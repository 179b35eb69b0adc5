"""Every family through pytest on a small dataset, via its real loading code (tiny models).

QA cases must produce text and a parsed-or-unparsed letter; segmentation families must
return masks aligned with exactly the frames they were shown; QA-only families skip mask
cases as not applicable.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dynbench.adapters.compat import INSTALL_TRANSFORMERS_4, transformers_major
from dynbench.tiny import ADAPTER_OF, tiny_names
from tests.builders import small_dataset

ROOT = Path(__file__).resolve().parents[1]
SEGMENTING = {"sa2va", "sa2va_qwen", "unipixel"}
# Sa2VA's code needs CUDA, as the real one does: its child run pretends a GPU (pretend_cuda.py)
CHILD_ARGS = {"sa2va": ("-p", "tests.pretend_cuda"), "sa2va_qwen": ("-p", "tests.pretend_cuda")}
# families whose published code needs transformers 4: under 5.x the run stops at load
NEEDS_TRANSFORMERS_4 = {"sa2va", "sa2va_qwen", "internvl", "internvl3_5", "llava_ov_1_5",
                        "unipixel"}
# read at import: pytester drops modules first imported inside a test, and torch cannot be
# imported twice in one process
TRANSFORMERS_MAJOR = transformers_major()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return small_dataset(tmp_path_factory.mktemp("e2e-data"))


@pytest.fixture(scope="module", autouse=True)
def tiny_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DYNBENCH_TINY_CACHE", str(tmp_path_factory.mktemp("tiny-cache")))
        mp.setenv("HF_HUB_OFFLINE", "1")
        yield


@pytest.mark.parametrize("name", tiny_names())
def test_family_runs_end_to_end(name, dataset, pytester, tmp_path, monkeypatch):
    pytester.makepyfile(test_dynbench=(ROOT / "bench_tests/test_dynbench.py").read_text())
    out = tmp_path / "out"
    # short answers: a random model never stops, and 512 tokens per case take minutes on a CPU
    config = tmp_path / "model.yaml"
    config.write_text(f"model:\n  name: tiny:{name}\n  generation: {{max_new_tokens: 16}}\n")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the child can import tests.pretend_cuda
    # one process per model, as in real use
    result = pytester.runpytest_subprocess("--model-config", str(config), "--data-dir",
                                           str(dataset), "--report-dir", str(out),
                                           "--max-frames", "3", "-p", "no:cacheprovider",
                                           *CHILD_ARGS.get(name, ()))
    if name in NEEDS_TRANSFORMERS_4 and TRANSFORMERS_MAJOR >= 5:
        output = result.stdout.str() + result.stderr.str()
        assert result.ret != 0 and INSTALL_TRANSFORMERS_4 in output
        assert result.parseoutcomes().get("passed", 0) == 0
        return
    rows = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    errors = [r["error"] for r in rows if r["status"] == "error"]
    assert not errors, errors
    summary = json.loads((out / "report.json").read_text())["dynbench"]
    assert summary["model"]["kind"] == "smoke"
    assert summary["model"]["family"] == ADAPTER_OF.get(name, name).split("_qwen")[0]
    model = summary["model"]  # run facts: what was loaded, how, from which files
    assert model["dtype"] and "attention" in model and model["device"]
    assert len(model["revision"]["fingerprint"]) == 16
    assert summary["run"]["processes"]["main"]["device"] == model["device"]
    qa = [r for r in rows if r["kind"] == "qa"]
    assert qa and all(isinstance(r["output"], str) and r["frames"] == [0, 2, 3] or
                      r["frames"] == [0, 1, 3] for r in qa)
    assert all(r["extracted"] is not None or r["unparsed"] for r in qa)
    masks = [r for r in rows if r["kind"] == "mask"]
    if name in SEGMENTING:
        assert masks and all(r["status"] == "ok" and len(r["per_frame_j"]) == len(r["frames"])
                             == 3 for r in masks)
    else:
        assert masks and all(r["status"] == "n/a" for r in masks)
        assert all(summary["tasks"][t]["score"] is None for t in ("objmask", "cameramask"))
    result.assert_outcomes(passed=len(qa) + (len(masks) if name in SEGMENTING else 0),
                           skipped=0 if name in SEGMENTING else len(masks))
