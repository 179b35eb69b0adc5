"""report.json says what ran; warnings said once reach the terminal and the report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dynbench import __version__
from tests.builders import small_dataset

ROOT = Path(__file__).resolve().parents[1]
BENCH_TEST = (ROOT / "bench_tests" / "test_dynbench.py").read_text()
SAYS_ONCE = '''
import pytest
from dynbench.adapters.baseline import ChanceBaseline
from dynbench.adapters.loading import say_once

class FallbackBaseline(ChanceBaseline):
    """Says a loading decision once, and another one on every case."""
    def load(self):
        say_once("flash-attn is not installed; using SDPA attention instead")

    def answer(self, video, request):
        say_once("frames resized to 28-pixel multiples")
        return super().answer(video, request)

def pytest_configure(config):
    from dynbench.plugin import _state
    state = _state(config)
    state.create_adapter = lambda: FallbackBaseline(state.spec)
'''


@pytest.fixture
def bench(pytester, tmp_path):
    pytester.makepyfile(test_dynbench=BENCH_TEST)
    pytester.makeini("[pytest]\naddopts = --strict-markers -p no:cacheprovider\n")
    data = small_dataset(tmp_path / "d")

    def run(*args: str):
        out = tmp_path / "out"
        result = pytester.runpytest_subprocess("--data-dir", str(data), "--report-dir",
                                               str(out), *args)
        return result, json.loads((out / "report.json").read_text())

    return run


@pytest.mark.parametrize("workers", [[], ["-n", "2"]])
def test_said_once_warnings_reach_the_summary_and_the_report(bench, pytester, workers):
    pytester.makeconftest(SAYS_ONCE)
    result, report = bench(*workers)
    assert result.ret == 0
    text = result.stdout.str()
    for message in ("flash-attn is not installed; using SDPA attention instead",
                    "frames resized to 28-pixel multiples"):
        assert text.count(f"WARNING: {message}") == 1, text
        assert report["dynbench"]["warnings"].count(message) == 1


def test_report_holds_the_run_facts(bench):
    result, report = bench("-n", "2")
    assert result.ret == 0
    run = report["dynbench"]["run"]
    assert run["dynbench"] == __version__
    assert re.fullmatch(r"[0-9a-f]{40}", run["git"]["commit"])  # this checkout
    assert run["python"] and run["packages"]["torch"] and run["packages"]["transformers"]
    assert run["packages"]["accelerate"] and run["host"]
    assert run["xdist_workers"] == 2 and set(run["processes"]) == {"gw0", "gw1"}
    assert all("cuda_visible_devices" in p for p in run["processes"].values())
    assert run["started"] < run["finished"] and run["wall_s"] > 0
    assert run["cases_per_s"] == pytest.approx(7 / run["wall_s"], rel=0.01)
    assert run["id"] == "out"
    assert report["environment"]["dynbench"] == __version__  # json-report's own section
    assert report["dynbench"]["model"]["family"] == "baseline"
    assert f"{report['dynbench']['counts']['cases']} cases in" in result.stdout.str()

