"""A dead xdist worker loses only its own case; the report is still written."""

from __future__ import annotations

import json
from pathlib import Path

from tests.builders import QUESTION, write_scene

ROOT = Path(__file__).resolve().parents[1]
CRASHING_CONFTEST = '''
import os
import pytest
from dynbench.adapters.baseline import ChanceBaseline

class CrashingBaseline(ChanceBaseline):
    """Kills its own process (as a segfault would) on one case."""
    def answer(self, video, request):
        if request.case_id == "qa/s/boom/q1":
            os._exit(139)
        return super().answer(video, request)

@pytest.fixture(scope="session")
def dynbench_adapter(pytestconfig):
    from dynbench.plugin import _state
    return CrashingBaseline(_state(pytestconfig).spec)
'''


def test_worker_crash_is_an_error_and_the_rest_is_kept(pytester, tmp_path):
    data = tmp_path / "d"
    for scene in ("a", "b", "boom", "c"):
        write_scene(data, "s", scene, qa={"qa": [QUESTION] * 3}, objects={})
    pytester.makepyfile(test_dynbench=(ROOT / "bench_tests/test_dynbench.py").read_text())
    pytester.makeconftest(CRASHING_CONFTEST)
    out = tmp_path / "out"
    result = pytester.runpytest_subprocess("-n", "2", "--data-dir", str(data),
                                           "--report-dir", str(out), "-p", "no:cacheprovider")
    assert result.ret == 1
    rows = {r["id"]: r for r in map(json.loads, (out / "samples.jsonl").read_text().splitlines())}
    assert len(rows) == 12  # 4 scenes x 3 questions
    crashed = rows["qa/s/boom/q1"]
    assert crashed["status"] == "error" and "crashed" in crashed["error"]
    assert all(r["status"] == "ok" for k, r in rows.items() if k != "qa/s/boom/q1")
    summary = json.loads((out / "report.json").read_text())["dynbench"]
    assert summary["counts"]["errors"] == 1
