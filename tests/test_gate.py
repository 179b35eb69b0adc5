"""The regression gate: statistics against independent computations, verdict rules, and real
runs over a generated dataset with controlled prediction flips."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from fractions import Fraction
from math import comb
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import stats as sps

from dynbench import gate, synth
from dynbench.data import read_dataset
from dynbench.media import list_frames, load_truth_masks

ROOT = Path(__file__).resolve().parents[1]
BENCH_TEST = (ROOT / "bench_tests" / "test_dynbench.py").read_text()
TASKS = "cameraqa,objmask"

# --- statistics against independent computations -----------------------------------------


def brute_binomial_p(b: int, c: int) -> float:
    """Two-sided exact binomial test (p = 1/2): the probability of every outcome at most as
    likely as the observed one, in exact rational arithmetic."""
    n = b + c
    probs = [Fraction(comb(n, k), 2**n) for k in range(n + 1)]
    return float(min(Fraction(1), sum(p for p in probs if p <= probs[b])))


@pytest.mark.parametrize("b,c", [(b, c) for b in range(0, 13, 3) for c in range(0, 13, 2)]
                         + [(0, 25), (40, 17), (100, 130), (600, 540), (2400, 2600)])
def test_mcnemar_matches_brute_force_and_scipy(b, c):
    p = gate.mcnemar_exact(b, c)
    if b + c <= 400:
        assert p == pytest.approx(brute_binomial_p(b, c), rel=1e-12, abs=1e-300)
    if b + c:
        assert p == pytest.approx(sps.binomtest(b, b + c, 0.5).pvalue, rel=1e-9)
    assert gate.mcnemar_exact(b, c) == gate.mcnemar_exact(c, b)


def brute_sign_flip_p(diffs: list[float]) -> float:
    """Every sign pattern of every difference (zeros included), counted one by one."""
    observed = abs(sum(diffs))
    hits = sum(abs(sum(s * d for s, d in zip(signs, diffs, strict=True))) >= observed - 1e-12
               for signs in itertools.product((1, -1), repeat=len(diffs)))
    return hits / 2 ** len(diffs)


@pytest.mark.parametrize("seed", range(6))
def test_sign_flip_exact_matches_full_enumeration(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 11))
    diffs = list(np.round(rng.normal(-0.1, 0.2, n), 3)) + [0.0] * int(rng.integers(0, 3))
    p, method = gate.sign_flip_p(diffs)
    assert method == "exact"
    assert p == pytest.approx(brute_sign_flip_p(diffs), abs=1e-12)


def test_sign_flip_monte_carlo_is_close_to_exact_and_deterministic():
    rng = np.random.default_rng(11)
    diffs = list(rng.normal(-0.05, 0.2, 18))
    bits = (np.arange(2**18)[:, None] >> np.arange(18)) & 1
    exact = float(np.mean(np.abs((1 - 2 * bits) @ np.array(diffs)) >= abs(sum(diffs)) - 1e-12))
    p, method = gate.sign_flip_p(diffs)
    assert method.startswith("monte-carlo")
    assert p == pytest.approx(exact, abs=0.02)  # 10,000 permutations: s.e. < 0.005
    assert gate.sign_flip_p(diffs) == (p, method)
    assert gate.sign_flip_p([0.0, 0.0]) == (1.0, "exact")


@pytest.mark.parametrize("delta,p,n,verdict", [
    (-5.0, 0.01, 30, "regression"), (5.0, 0.01, 30, "improved"),
    (-5.0, 0.2, 30, "not significant"), (-1.9, 0.0001, 30, "ok"), (-2.0, 0.001, 30, "ok"),
    (0.0, 1.0, 30, "ok"), (0.0, 1.0, 0, "n/a"), (-5.0, 0.05, 30, "not significant")])
def test_verdict_rules(delta, p, n, verdict):
    assert gate.verdict(delta, p, n, max_drop=2.0, alpha=0.05) == verdict


# --- options, floors, comparability (pure) ------------------------------------------------


def test_parse_floors():
    floors = gate.parse_floors(["cameraqa=40,Inter-Object=35", "overall=30,cameraqa=41"])
    assert {f.name: (f.kind, f.score) for f in floors} == {
        "cameraqa": ("task", 41.0), "inter_object": ("dimension", 35.0),
        "overall": ("overall", 30.0)}
    for bad in ("cameraqa", "cameraqa=x", "cameraqa=101", "nope=3"):
        with pytest.raises(gate.GateUsageError):
            gate.parse_floors(bad)


def _summary(scores: dict[str, float | None], overall: float | None = None) -> dict:
    return {"tasks": {t: {"score": s} for t, s in scores.items()},
            "overall": {"score": overall}, "settings": {}}


def test_dimension_floor_applies_to_each_available_score():
    summary = _summary({"qa": 50.0, "objmask": 20.0, "cameraqa": None}, overall=35.0)
    rows = gate.check_floors(summary, gate.parse_floors("inter_object=35,camera_object=10,"
                                                        "overall=35,sceneqa=1"))
    assert [(r["name"], r["task"], r["verdict"]) for r in rows] == [
        ("inter_object", "qa", "ok"), ("inter_object", "objmask", "below"),
        ("camera_object", None, "not measured"), ("overall", None, "ok"),
        ("sceneqa", "sceneqa", "not measured")]


def _rec(case_id: str, value: float, chash: str = "h", status: str = "ok") -> dict:
    task = case_id.split("/")[0]
    rec = {"id": case_id, "task": task, "status": status, "content_hash": chash}
    if gate.TASKS[task].kind == "qa":
        rec.update(kind="qa", correct=bool(value))
    else:
        rec.update(kind="mask", jf=value)
    return rec


def _run(records: list[dict], **settings) -> gate.Run:
    base = {"protocol": "fair", "jf_mode": "davis", "bound_th": 0.008, "max_frames": None}
    return gate.Run(Path("/base"), {"settings": {**base, **settings}, "tasks": {},
                                    "model": {"name": "m"}}, records)


def test_paired_comparison_by_hand():
    base = [_rec(f"cameraqa/s/v/q{i}", 1) for i in range(10)] + \
        [_rec(f"objmask/s/v/obj{i}", 0.8) for i in range(8)] + [_rec("qa/s/v/q0", 1)]
    cur = [_rec(f"cameraqa/s/v/q{i}", i >= 7) for i in range(12)] + \
        [_rec(f"objmask/s/v/obj{i}", 0.8 - 0.1 * (i % 2)) for i in range(8)]
    summary = {"settings": dict(_run([]).summary["settings"]), "tasks": {}}
    result = gate.evaluate(gate.GateSetup(_run(base)), summary, cur)
    qa, mask = result["tasks"]["cameraqa"], result["tasks"]["objmask"]
    assert (qa["n_paired"], qa["broken"], qa["fixed"]) == (10, 7, 0)
    assert (qa["baseline"], qa["current"], qa["delta"]) == (100.0, 30.0, -70.0)
    assert qa["p_value"] == pytest.approx(2 / 2**7, abs=1e-6) and qa["verdict"] == "regression"
    assert mask["delta"] == pytest.approx(-5.0) and mask["p_value"] == pytest.approx(2 / 16)
    assert mask["verdict"] == "not significant"
    assert result["cases"] == {"paired": 18, "only_current": 2, "only_baseline": 1}
    assert result["overall"]["delta"] == pytest.approx(-37.5)
    assert result["status"] == "fail" and result["regressions"] == ["cameraqa"]
    assert any("regression" in line for line in gate.render_verdict(result))


def test_comparability_problems():
    base = _run([_rec("cameraqa/s/v/q0", 1, "aaa"), _rec("cameraqa/s/v/q1", 1, "bbb")])
    cur = [_rec("cameraqa/s/v/q0", 1, "aaa"), _rec("cameraqa/s/v/q1", 1, "ccc")]
    summary = {"settings": {**base.summary["settings"], "protocol": "reference"}}
    problems = gate.comparability_problems(summary, cur, base)
    assert any("protocol" in p for p in problems)
    assert any("1 common case(s)" in p and "cameraqa/s/v/q1" in p for p in problems)
    result = gate.evaluate(gate.GateSetup(base), summary, cur)
    assert result["status"] == "refused" and "--baseline-force" in result["message"]
    forced = gate.evaluate(gate.GateSetup(base, force=True), summary, cur)
    assert forced["status"] == "pass" and len(forced["warnings"]) == 2
    lone = gate.comparability_problems(base.summary, [_rec("qa/s/v/q0", 1)], base)
    assert lone == ["the runs have no case in common"]


@pytest.mark.parametrize("status,pytest_code,expected", [
    ("pass", 0, 0), ("fail", 0, 10), ("fail", 1, 1), ("refused", 0, 4), ("refused", 1, 4),
    ("fail", 2, 2)])
def test_exit_status(status, pytest_code, expected):
    assert gate.exit_status(pytest_code, {"status": status}) == expected
    assert gate.exit_status(pytest_code, None) == pytest_code


def test_load_run_errors(tmp_path):
    with pytest.raises(gate.GateUsageError, match="does not exist"):
        gate.load_run(tmp_path / "nope")
    (tmp_path / "report.json").write_text(json.dumps({"dynbench": {"tasks": {}}}))
    with pytest.raises(gate.GateUsageError, match="samples.jsonl"):
        gate.load_run(tmp_path)
    assert gate.load_run(tmp_path / "report.json", samples=False).summary == {"tasks": {}}


# --- end to end: real runs with controlled flips ------------------------------------------


def write_predictions(data: Path, pred: Path, wrong=(), empty=(), missing=()) -> None:
    """The true letter (another option's for ``wrong``) and ground-truth masks (empty ones
    for ``empty``); ``missing`` answers are left out (those cases error)."""
    lines = []
    for case in read_dataset(data).cases:
        if case.kind == "qa" and case.id not in missing:
            letter = case.truth if case.id not in wrong else next(
                o.letter for o in case.options if o.letter != case.truth)
            lines.append(json.dumps({"id": case.id, "output": letter}))
        elif case.kind == "mask":
            _write_masks(data, pred / "masks" / case.id, case, case.id in empty)
    pred.mkdir(parents=True, exist_ok=True)
    (pred / "answers.jsonl").write_text("\n".join(lines) + "\n")


def _write_masks(data: Path, folder: Path, case, empty: bool) -> None:
    frames = list_frames(data, case.source, case.scene)
    sizes = [Image.open(p).size for p in frames.paths]
    truth = load_truth_masks(data, case.source, case.scene, case.obj, list(frames.paths), sizes)
    folder.mkdir(parents=True, exist_ok=True)
    for index, mask in zip(frames.indices, truth, strict=True):
        mask = np.zeros_like(mask) if empty else mask
        Image.fromarray(mask.astype(np.uint8) * 255).save(folder / f"frame_{index:04d}.png")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A generated dataset and a baseline run (first 6 cameraqa answers wrong, rest right)."""
    tmp = tmp_path_factory.mktemp("gate")
    data = tmp / "data"
    synth.generate(data, seed=3, scenes=8, quirks=False)
    cases = read_dataset(data).cases
    ids = {t: [c.id for c in cases if c.task == t] for t in ("cameraqa", "objmask")}
    write_predictions(data, tmp / "p0", wrong=ids["cameraqa"][:6])
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--data-dir", str(data), "--predictions", str(tmp / "p0"),
                           "--report-dir", str(tmp / "base"), "--task", TASKS],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"tmp": tmp, "data": data, "base": tmp / "base", **ids}


@pytest.fixture
def bench(pytester, world):
    pytester.makepyfile(test_dynbench=BENCH_TEST)
    pytester.makeini("[pytest]\naddopts = --strict-markers -p no:cacheprovider\n")

    def run(pred: Path, out: Path, *args: str):
        return pytester.runpytest_subprocess("--data-dir", str(world["data"]), "--predictions",
                                             str(pred), "--report-dir", str(out), "--task",
                                             TASKS, *args)

    return run


def gate_of(out: Path) -> dict:
    report = json.loads((out / "report.json").read_text())
    assert report["dynbench"]["gate"] == json.loads((out / "summary.json").read_text())["gate"]
    return report["dynbench"]["gate"]


def test_real_drop_exits_10_with_verdict_table(bench, world, tmp_path):
    pred, out = tmp_path / "p", tmp_path / "out"
    write_predictions(world["data"], pred, wrong=world["cameraqa"][:14],
                      empty=world["objmask"])
    result = bench(pred, out, "--baseline", str(world["base"]))
    assert result.ret == gate.EXIT_GATE
    result.stdout.fnmatch_lines(["*Dyn-Bench regression gate*", "task*baseline*current*delta*",
                                 "cameraqa*-40.0*mcnemar-exact*regression",
                                 "objmask*100.0*0.0*-100.0*sign-flip exact*regression",
                                 "GATE: FAIL (regression in cameraqa, objmask)*"])
    verdict = gate_of(out)
    qa = verdict["tasks"]["cameraqa"]
    assert (qa["broken"], qa["fixed"], qa["n_paired"]) == (8, 0, len(world["cameraqa"]))
    assert qa["p_value"] == pytest.approx(brute_binomial_p(8, 0), abs=1e-6)
    assert verdict["tasks"]["objmask"]["p_value"] == pytest.approx(2 / 2 ** len(world["objmask"]))
    assert verdict["status"] == "fail" and verdict["baseline"]["path"] == str(world["base"])
    assert json.loads((out / "report.json").read_text())["exitcode"] == gate.EXIT_GATE
    assert 'id="gate-status">GATE: FAIL' in (out / "report.html").read_text()
    # the same runs under a larger tolerance: a drop under --max-drop is not a regression
    result = bench(pred, tmp_path / "out2", "--baseline", str(world["base"] / "report.json"),
                   "--max-drop", "100")
    assert result.ret == 0
    assert {r["verdict"] for r in gate_of(tmp_path / "out2")["tasks"].values()} == {"ok"}


def test_as_many_fixed_as_broken_is_not_a_regression(bench, world, tmp_path):
    pred, out = tmp_path / "p", tmp_path / "out"
    write_predictions(world["data"], pred, wrong=world["cameraqa"][6:12])  # 6 fixed, 6 broken
    result = bench(pred, out, "--baseline", str(world["base"]), "--max-drop", "0")
    assert result.ret == 0, result.stdout.str()
    qa = gate_of(out)["tasks"]["cameraqa"]
    assert (qa["broken"], qa["fixed"], qa["delta"], qa["p_value"]) == (6, 6, 0.0, 1.0)
    result.stdout.fnmatch_lines(["GATE: PASS"])


def test_small_insignificant_drop_passes(bench, world, tmp_path):
    pred, out = tmp_path / "p", tmp_path / "out"
    write_predictions(world["data"], pred, wrong=world["cameraqa"][:8])  # 2 broken
    assert bench(pred, out, "--baseline", str(world["base"])).ret == 0
    assert gate_of(out)["tasks"]["cameraqa"]["verdict"] == "not significant"


def test_fail_under_floors(bench, world, tmp_path):
    pred = tmp_path / "p"
    write_predictions(world["data"], pred, empty=world["objmask"])
    result = bench(pred, tmp_path / "a", "--fail-under", "cameraqa=90", "--fail-under",
                   "inter_object=35,overall=40")
    assert result.ret == gate.EXIT_GATE
    result.stdout.fnmatch_lines(["floor cameraqa >= 90: 100.0 ok",
                                 "floor inter_object (objmask) >= 35: 0.0 below",
                                 "floor overall >= 40: 50.0 ok",
                                 "GATE: FAIL (below floor: inter_object:objmask<35)*"])
    bad = bench(pred, tmp_path / "c", "--fail-under", "camera=3")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*unknown name 'camera'*"])


def test_errors_keep_exit_1_even_with_a_regression(bench, world, tmp_path):
    pred, out = tmp_path / "p", tmp_path / "out"
    write_predictions(world["data"], pred, wrong=world["cameraqa"][:16],
                      missing=world["cameraqa"][16:17])
    result = bench(pred, out, "--baseline", str(world["base"]))
    assert result.ret == 1
    assert gate_of(out)["status"] == "fail"


def test_changed_data_is_refused_unless_forced(bench, world, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(world["data"], data)
    qa_file = next((data / "multi_json").rglob("*_cameraqa.json"))
    items = json.loads(qa_file.read_text())
    items[0]["question"] += " (reworded)"
    qa_file.write_text(json.dumps(items))
    pred = tmp_path / "p"
    write_predictions(data, pred)
    args = ("--data-dir", str(data), "--baseline", str(world["base"]))
    refused = bench(pred, tmp_path / "r", *args)
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stdout.fnmatch_lines(["GATE REFUSED: refusing to compare*1 common case(s) have "
                                  "different data*--baseline-force*"])
    assert gate_of(tmp_path / "r")["status"] == "refused"
    forced = bench(pred, tmp_path / "f", *args, "--baseline-force")
    assert forced.ret == 0
    forced.stdout.fnmatch_lines(["warning (--baseline-force): 1 common case(s)*"])


def test_different_scoring_settings_refused_before_running(bench, world, tmp_path):
    pred = tmp_path / "p"
    write_predictions(world["data"], pred)
    result = bench(pred, tmp_path / "r", "--baseline", str(world["base"]), "--bound-th", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*refusing to compare*bound_th: baseline 0.008, this run 2.0*"])
    assert not (tmp_path / "r").exists()  # refused before any case ran
