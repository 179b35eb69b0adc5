"""The regression gate: the by-video test and its verdicts on hand-made records, the
refusals of baselines that would fool it, and real runs over a generated dataset with
controlled prediction changes."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from dynbench import gate, stats
from tests import independent_stats
from tests.runs import ROOT, read_report, run_bench, write_predictions

BENCH_TEST = (ROOT / "bench_tests" / "test_dynbench.py").read_text()
TASKS = "cameraqa,objmask"


@pytest.mark.parametrize("delta,p,n,verdict", [
    (-5.0, 0.01, 30, "regression"), (5.0, 0.01, 30, "improved"),
    (-5.0, 0.2, 30, "not significant"), (-1.9, 0.0001, 30, "ok"), (-2.0, 0.001, 30, "ok"),
    (0.0, 1.0, 30, "ok"), (0.0, 1.0, 0, "n/a"), (-5.0, 0.05, 30, "not significant"),
    (-2.0000000000000284, 0.001, 30, "ok")])
def test_verdict_rules(delta, p, n, verdict):
    assert gate.verdict(delta, p, n, max_drop=2.0, alpha=0.05) == verdict
    if n:
        assert gate.verdict(delta, p, n, 2.0, 0.05, testable=False) == "insufficient"


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


def _summary_like(run: gate.Run) -> dict:
    return {"settings": dict(run.summary["settings"]), "tasks": {}}


def test_paired_comparison_by_hand():
    """cameraqa: 12 videos of 3 questions; 7 videos lose one answer each. objmask: 8 videos of
    one object each; every other one drops by 0.1."""
    qa_ids = [f"cameraqa/s/v{v:02d}/q{i}" for v in range(12) for i in range(3)]
    base = [_rec(i, 1) for i in qa_ids] + \
        [_rec(f"objmask/s/v{v}/obj1", 0.8) for v in range(8)] + [_rec("qa/s/v/q0", 1)]
    cur = [_rec(i, not (i.endswith("q0") and int(i.split("/")[2][1:]) < 7)) for i in qa_ids] + \
        [_rec(f"objmask/s/v{v}/obj1", 0.8 - 0.1 * (v % 2)) for v in range(8)] + \
        [_rec("cameraqa/s/v99/q0", 1)]
    result = gate.evaluate(gate.GateSetup(_run(base)), _summary_like(_run(base)), cur)
    qa, mask = result["tasks"]["cameraqa"], result["tasks"]["objmask"]
    assert (qa["n_paired"], qa["videos_paired"], qa["videos_changed"]) == (36, 12, 7)
    assert (qa["broken"], qa["fixed"]) == (7, 0)
    assert qa["delta"] == pytest.approx(-700 / 36, rel=1e-12)
    assert qa["p_value"] == 2 / 2**7 and qa["test"] == "video sign-flip exact"
    assert qa["verdict"] == "regression" and qa["insufficient"] is None
    assert mask["delta"] == pytest.approx(-5.0, rel=1e-12)
    assert mask["p_value"] == 2 / 16 and mask["verdict"] == "insufficient"  # 8 cases < 10
    assert "fewer than 10" in mask["insufficient"]
    assert result["cases"] == {"paired": 44, "only_current": 1, "only_baseline": 1}
    assert result["overall"]["delta"] == pytest.approx((-700 / 36 - 5.0) / 2, rel=1e-12)
    assert result["status"] == "fail" and result["regressions"] == ["cameraqa"]
    assert result["insufficient"] == ["objmask"]
    lines = gate.render_verdict(result)
    assert any("regression" in line and "video sign-flip exact" in line for line in lines)
    assert any("insufficient: 8 paired case(s)" in line for line in lines)


def test_same_drop_spread_or_concentrated():
    """Nine lost answers: over nine videos a regression, in three videos (all their
    questions) noise; treating cases as independent would call both a regression."""
    ids = [f"qa/s/v{v:02d}/q{i}" for v in range(20) for i in range(3)]
    base = _run([_rec(i, 1) for i in ids])
    spread = [_rec(i, not (i.endswith("q0") and int(i.split("/")[2][1:]) < 9)) for i in ids]
    packed = [_rec(i, int(i.split("/")[2][1:]) >= 3) for i in ids]
    rows = {name: gate.evaluate(gate.GateSetup(base), _summary_like(base), recs)["tasks"]["qa"]
            for name, recs in (("spread", spread), ("packed", packed))}
    assert rows["spread"]["delta"] == rows["packed"]["delta"] == pytest.approx(-15.0)
    assert rows["spread"]["p_value"] == 2 / 2**9 and rows["spread"]["verdict"] == "regression"
    assert rows["packed"]["p_value"] == 2 / 2**3
    assert rows["packed"]["verdict"] == "not significant"
    assert independent_stats.mcnemar(9, 0) < 0.05  # the case-level test would have failed it


@pytest.mark.parametrize("seed", range(12))
def test_one_case_per_video_is_todays_test(seed):
    """Singleton videos: QA is the exact McNemar test (up to 16 discordant pairs), masks the
    case-level sign-flip test, both through the same function."""
    import random

    rng = random.Random(seed)
    n = rng.randint(10, 40)
    qa_base = [_rec(f"qa/s/v{i:03d}/q0", rng.random() < 0.7) for i in range(n)]
    qa_cur = [_rec(r["id"], rng.random() < 0.6) for r in qa_base]
    jf = [round(rng.random(), 3) for _ in range(n)]
    m_base = [_rec(f"objmask/s/v{i:03d}/obj1", v) for i, v in enumerate(jf)]
    m_cur = [_rec(r["id"], min(1.0, max(0.0, r["jf"] + rng.choice([0, 0.1, -0.2]))))
             for r in m_base]
    base = _run(qa_base + m_base)
    result = gate.evaluate(gate.GateSetup(base), _summary_like(base), qa_cur + m_cur)
    qa, mask = result["tasks"]["qa"], result["tasks"]["objmask"]
    assert qa["videos_paired"] == qa["n_paired"] == n
    if qa["broken"] + qa["fixed"] <= 16:
        assert qa["p_value"] == pytest.approx(
            independent_stats.mcnemar(qa["broken"], qa["fixed"]), abs=1e-12)
    else:
        assert qa["p_value"] == pytest.approx(
            independent_stats.mcnemar(qa["broken"], qa["fixed"]), abs=0.015)
    diffs = [c["jf"] - b["jf"] for b, c in zip(m_base, m_cur, strict=True)]
    assert mask["p_value"] == stats.sign_flip_test(diffs).p
    assert mask["p_value"] == pytest.approx(independent_stats.sign_flip(diffs), abs=1e-12)


def test_insufficient_tasks_never_read_ok():
    ids = [f"qa/s/v{v}/q{i}" for v in range(5) for i in range(4)]  # 20 cases in 5 videos
    base = _run([_rec(i, 1) for i in ids] + [_rec(f"cameraqa/s/v{v}/q0", 1) for v in range(30)])
    cur = [_rec(i, 1) for i in ids] + [_rec(f"cameraqa/s/v{v}/q0", 1) for v in range(30)]
    result = gate.evaluate(gate.GateSetup(base), _summary_like(base), cur)
    row = result["tasks"]["qa"]
    assert row["delta"] == 0.0 and row["verdict"] == "insufficient"
    assert "5 paired video(s)" in row["insufficient"]
    assert result["tasks"]["cameraqa"]["verdict"] == "ok"
    assert result["status"] == "pass"
    assert gate.status_line(result) == "GATE: PASS (not tested, insufficient: qa)"
    strict = gate.evaluate(gate.GateSetup(base, alpha=0.01), _summary_like(base), cur)
    assert strict["tasks"]["qa"]["verdict"] == "insufficient"  # 2/2^C < 0.01 needs C >= 8


def test_smallest_p_and_minimum():
    assert [gate.smallest_p(c) for c in (0, 1, 5, 6, 16)] == [1.0, 1.0, 2 / 32, 2 / 64,
                                                               2 / 2**16]
    assert gate.smallest_p(17) == 1 / 10001
    assert gate.insufficient_reason(9, 9, 0.05).startswith("9 paired case(s)")
    assert gate.insufficient_reason(10, 5, 0.05) is not None
    assert gate.insufficient_reason(10, 6, 0.05) is None


# --- baselines that would fool the gate ---------------------------------------------------


def _qa_and_mask(value_qa=1, value_mask=0.9, status="ok") -> list[dict]:
    return [_rec(f"cameraqa/s/v{v:02d}/q{i}", value_qa, status=status)
            for v in range(12) for i in range(2)] + \
        [_rec(f"objmask/s/v{v:02d}/obj1", value_mask, status=status) for v in range(12)]


def _drop() -> list[dict]:
    return _qa_and_mask(value_qa=0, value_mask=0.1)


def _refused(base: gate.Run, cur: list[dict], **setup) -> dict:
    result = gate.evaluate(gate.GateSetup(base, **setup), _summary_like(base), cur)
    assert result["status"] == "refused", result
    assert gate.exit_status(0, result) == gate.EXIT_USAGE
    assert gate.render_verdict(result)[0].startswith("GATE REFUSED")
    return result


def test_nan_baseline_scores_are_refused_even_when_forced():
    records = _qa_and_mask()
    for r in records:
        if r["task"] == "objmask":
            r["jf"] = math.nan
    base = _run(records)
    for force in (False, True):
        result = _refused(base, _drop(), force=force)
        assert "12 case(s) with a missing or non-finite score" in result["message"]
        assert "objmask/s/v00/obj1" in result["message"]
    with pytest.raises(gate.GateUsageError, match="non-finite"):
        gate.preflight(gate.GateSetup(base), base.summary["settings"])


@pytest.mark.parametrize("bad", [None, "0.5", float("inf"), -0.1, 1.5, True])
def test_malformed_mask_scores_are_refused(bad):
    records = _qa_and_mask()
    records[-1]["jf"] = bad
    _refused(_run(records), _drop())


def test_missing_qa_correctness_is_refused():
    records = _qa_and_mask()
    del records[0]["correct"]
    assert "missing or non-finite" in _refused(_run(records), _drop())["message"]


def test_all_not_applicable_baseline_is_refused():
    records = [{**r, "status": "n/a"} for r in _qa_and_mask()]
    result = _refused(_run(records), _drop())
    assert "scored no case (36 records, 36 not applicable)" in result["message"]


def test_baseline_that_errored_everywhere_is_refused():
    records = [{**r, "status": "error", "error": "out of GPU memory on it", "correct": False,
                "jf": 0.0} for r in _qa_and_mask()]
    result = _refused(_run(records), _drop(), force=True)
    assert "errored on every case it scored (36" in result["message"]
    assert "out of GPU memory" in result["message"]


def test_baseline_that_errored_on_a_whole_task_is_refused():
    records = [{**r, "status": "error", "error": "OOM", "jf": 0.0} if r["task"] == "objmask"
               else r for r in _qa_and_mask()]
    result = _refused(_run(records), _qa_and_mask())
    assert "errored on all 12 paired objmask case(s)" in result["message"]
    assert result["tasks"]["objmask"]["verdict"] == "improved"  # what it would have said


def test_some_baseline_errors_are_a_note():
    records = _qa_and_mask()
    records[0].update(status="error", error="x", correct=False)
    base = _run(records)
    result = gate.evaluate(gate.GateSetup(base), _summary_like(base), _qa_and_mask())
    assert result["status"] == "pass"
    assert result["notes"] == ["the baseline errored on 1 of 24 paired cameraqa case(s), "
                               "scored 0 there: a gain on them may only be a fixed error"]


def test_no_testable_task_is_refused():
    records = _qa_and_mask()[:5]
    result = _refused(_run(records), records)
    assert "no task has enough paired cases to test" in result["message"]


def test_no_case_scored_by_both_is_refused():
    base = _run(_qa_and_mask())
    cur = [{**r, "status": "n/a"} for r in _qa_and_mask()]
    assert "no case was scored by both runs" in _refused(base, cur, force=True)["message"]


def test_duplicate_baseline_ids_are_refused():
    records = _qa_and_mask()
    assert "more than once" in _refused(_run(records + records[:2]), _drop())["message"]


def test_samples_that_are_not_records_are_refused(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps({"tasks": {}, "settings": {}}))
    (tmp_path / "samples.jsonl").write_text('{"id": "qa/s/v/q0"}\n[1, 2]\n')
    with pytest.raises(gate.GateUsageError, match="record 2 is not a case record"):
        gate.load_run(tmp_path)


def test_floors_on_unmeasured_scores_fail_unless_allowed():
    summary = {"tasks": {"qa": {"score": 50.0}}, "overall": {"score": 50.0}}
    floors = gate.parse_floors("qa=40,sceneqa=10,object_scene=5")
    result = gate.evaluate(gate.GateSetup(floors=floors), summary, [])
    assert result["status"] == "fail"
    assert result["floor_violations"] == ["sceneqa not measured", "object_scene not measured"]
    assert "floor on a score not measured: sceneqa not measured, object_scene not measured " \
           "(--allow-missing accepts that)" in gate.status_line(result)
    allowed = gate.evaluate(gate.GateSetup(floors=floors, allow_missing=True), summary, [])
    assert allowed["status"] == "pass"


def test_comparability_problems():
    base = _run([_rec("cameraqa/s/v/q0", 1, "aaa"), _rec("cameraqa/s/v/q1", 1, "bbb")] +
                _qa_and_mask())
    cur = [_rec("cameraqa/s/v/q0", 1, "aaa"), _rec("cameraqa/s/v/q1", 1, "ccc")] + \
        _qa_and_mask()
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




# --- end to end: real runs with controlled changes ----------------------------------------


@pytest.fixture
def bench(pytester, gate_world):
    pytester.makepyfile(test_dynbench=BENCH_TEST)
    pytester.makeini("[pytest]\naddopts = --strict-markers -p no:cacheprovider\n")

    def run(pred: Path, out: Path, *args: str, tasks: str = TASKS):
        return pytester.runpytest_subprocess("--data-dir", str(gate_world.data),
                                             "--predictions", str(pred), "--report-dir",
                                             str(out), "--task", tasks, *args)

    return run


def gate_of(out: Path) -> dict:
    report = json.loads((out / "report.json").read_text())
    assert report["dynbench"]["gate"] == json.loads((out / "summary.json").read_text())["gate"]
    return report["dynbench"]["gate"]


def _baseline_wrong(world) -> list[str]:
    return world.first_of_videos("cameraqa", range(3))


def test_real_drop_exits_10_with_verdict_table(bench, gate_world, tmp_path):
    w = gate_world
    pred, out = tmp_path / "p", tmp_path / "out"
    write_predictions(w.data, pred, wrong=w.first_of_videos("cameraqa", range(20)),
                      empty=w.ids["objmask"])
    result = bench(pred, out, "--baseline", str(w.base))
    assert result.ret == gate.EXIT_GATE, result.stdout.str()
    result.stdout.fnmatch_lines([
        "*Dyn-Bench regression gate*", "*tests by video",
        "task*baseline*current*delta*n*videos*p-value*test*verdict",
        "cameraqa*-19.5*87*32*0.0001*video sign-flip monte-carlo (10000)*regression",
        "objmask*100.0*0.7*-99.3*28*21*0.0001*video sign-flip monte-carlo (10000)*regression",
        "GATE: FAIL (regression in cameraqa, objmask)*"])
    verdict = gate_of(out)
    qa = verdict["tasks"]["cameraqa"]
    assert (qa["broken"], qa["fixed"], qa["videos_changed"]) == (17, 0, 17)
    assert qa["p_value"] == 1 / 10001  # no random pattern is as extreme as 17 of 17
    assert verdict["status"] == "fail" and verdict["baseline"]["path"] == str(w.base)
    assert verdict["not_compared"] == ["cameramask", "qa", "scenemask", "sceneqa"]
    assert json.loads((out / "report.json").read_text())["exitcode"] == gate.EXIT_GATE
    assert 'id="gate-status">GATE: FAIL' in (out / "report.html").read_text()
    # the same runs under a larger tolerance: a drop under --max-drop is not a regression
    result = bench(pred, tmp_path / "out2", "--baseline", str(w.base / "report.json"),
                   "--max-drop", "100")
    assert result.ret == 0
    assert {r["verdict"] for r in gate_of(tmp_path / "out2")["tasks"].values()} == {"ok"}


def test_as_many_fixed_as_broken_is_not_a_regression(bench, gate_world, tmp_path):
    w = gate_world
    pred, out = tmp_path / "p", tmp_path / "out"
    write_predictions(w.data, pred, wrong=w.first_of_videos("cameraqa", range(3, 6)))
    result = bench(pred, out, "--baseline", str(w.base), "--max-drop", "0")
    assert result.ret == 0, result.stdout.str()
    qa = gate_of(out)["tasks"]["cameraqa"]
    assert (qa["broken"], qa["fixed"], qa["delta"], qa["p_value"]) == (3, 3, 0.0, 1.0)
    result.stdout.fnmatch_lines(["GATE: PASS"])


def test_drop_in_a_few_videos_is_noise(bench, gate_world, tmp_path):
    """Every question of three videos lost: 9 broken answers would be 'significant' case by
    case (McNemar p = 0.004); by video it is 3 of 32 videos, p = 0.25."""
    w = gate_world
    lost = w.all_of_videos("cameraqa", range(5, 8))
    pred, out = tmp_path / "p", tmp_path / "out"
    write_predictions(w.data, pred, wrong=[*_baseline_wrong(w), *lost])
    result = bench(pred, out, "--baseline", str(w.base))
    assert result.ret == 0, result.stdout.str()
    qa = gate_of(out)["tasks"]["cameraqa"]
    assert qa["broken"] == len(lost) and qa["delta"] < -2.0
    assert independent_stats.mcnemar(len(lost), 0) < 0.05
    assert qa["p_value"] == 2 / 8 and qa["verdict"] == "not significant"


def test_floors(bench, gate_world, tmp_path):
    w = gate_world
    pred = tmp_path / "p"
    write_predictions(w.data, pred, empty=w.ids["objmask"])
    result = bench(pred, tmp_path / "a", "--fail-under", "cameraqa=90", "--fail-under",
                   "inter_object=35,overall=40")
    assert result.ret == gate.EXIT_GATE
    result.stdout.fnmatch_lines(["floor cameraqa >= 90: 100.0 ok",
                                 "floor inter_object (objmask) >= 35: 0.7 below",
                                 "floor overall >= 40: 50.4 ok",
                                 "GATE: FAIL (below floor: inter_object:objmask<35)*"])
    missing = bench(pred, tmp_path / "b", "--fail-under", "sceneqa=10", tasks="cameraqa")
    assert missing.ret == gate.EXIT_GATE
    missing.stdout.fnmatch_lines(["floor sceneqa >= 10: - not measured",
                                  "GATE: FAIL (floor on a score not measured: sceneqa not "
                                  "measured (--allow-missing accepts that))*"])
    allowed = bench(pred, tmp_path / "c", "--fail-under", "sceneqa=10", "--allow-missing",
                    tasks="cameraqa")
    assert allowed.ret == 0
    bad = bench(pred, tmp_path / "d", "--fail-under", "camera=3")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*unknown name 'camera'*"])


def test_errors_keep_exit_1_even_with_a_regression(bench, gate_world, tmp_path):
    w = gate_world
    pred, out = tmp_path / "p", tmp_path / "out"
    write_predictions(w.data, pred, wrong=w.first_of_videos("cameraqa", range(20)),
                      missing=w.first_of_videos("cameraqa", [25]))
    result = bench(pred, out, "--baseline", str(w.base))
    assert result.ret == 1
    assert gate_of(out)["status"] == "fail"


def test_changed_data_is_refused_unless_forced(bench, gate_world, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(gate_world.data, data)
    qa_file = next((data / "multi_json").rglob("*_cameraqa.json"))
    items = json.loads(qa_file.read_text())
    items[0]["question"] += " (reworded)"
    qa_file.write_text(json.dumps(items))
    pred = tmp_path / "p"
    write_predictions(data, pred)
    args = ("--data-dir", str(data), "--baseline", str(gate_world.base))
    refused = bench(pred, tmp_path / "r", *args)
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stdout.fnmatch_lines(["GATE REFUSED: refusing to compare*1 common case(s) have "
                                  "different data*--baseline-force*"])
    assert gate_of(tmp_path / "r")["status"] == "refused"
    forced = bench(pred, tmp_path / "f", *args, "--baseline-force")
    assert forced.ret == 0
    forced.stdout.fnmatch_lines(["warning (--baseline-force): 1 common case(s)*"])


def test_different_scoring_settings_refused_before_running(bench, gate_world, tmp_path):
    pred = tmp_path / "p"
    write_predictions(gate_world.data, pred)
    result = bench(pred, tmp_path / "r", "--baseline", str(gate_world.base), "--bound-th", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*refusing to compare*bound_th: baseline 0.008, this run 2.0*"])
    assert not (tmp_path / "r").exists()  # refused before any case ran


def _edited_baseline(world, tmp_path: Path, edit) -> Path:
    folder = tmp_path / "edited"
    shutil.copytree(world.base, folder)
    records = [json.loads(line) for line in (folder / "samples.jsonl").read_text().splitlines()]
    (folder / "samples.jsonl").write_text("".join(json.dumps(edit(r)) + "\n" for r in records))
    return folder


@pytest.mark.parametrize(("edit", "reason"), [
    (lambda r: {**r, "jf": float("nan")} if r["kind"] == "mask" else r, "non-finite score"),
    (lambda r: {**r, "status": "n/a"}, "scored no case"),
])
def test_fooling_baselines_are_refused_before_running(bench, gate_world, tmp_path, edit,
                                                      reason):
    w = gate_world
    base = _edited_baseline(w, tmp_path, edit)
    pred = tmp_path / "p"
    write_predictions(w.data, pred, empty=w.ids["objmask"])  # a real drop
    result = bench(pred, tmp_path / "r", "--baseline", str(base), "--baseline-force")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*refusing baseline*{reason}*use a clean run*"])
    assert not (tmp_path / "r").exists()


def test_out_of_memory_baseline_is_refused(bench, gate_world, tmp_path):
    """A baseline run whose every case errored (here: no predictions at all)."""
    w = gate_world
    empty = tmp_path / "nothing"
    empty.mkdir()
    proc = run_bench(w.data, empty, tmp_path / "broken", "--task", TASKS)
    assert proc.returncode == 1
    counts = read_report(tmp_path / "broken")["counts"]
    assert counts["errors"] == counts["cases"] > 0
    pred = tmp_path / "p"
    write_predictions(w.data, pred, empty=w.ids["objmask"])
    result = bench(pred, tmp_path / "r", "--baseline", str(tmp_path / "broken"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*refusing baseline*errored on every case it scored*"])


def test_baseline_without_masks_is_refused_after_the_run(bench, gate_world, tmp_path):
    w = gate_world
    pred = tmp_path / "p0"
    write_predictions(w.data, pred)
    shutil.rmtree(pred / "masks")
    proc = run_bench(w.data, pred, tmp_path / "nomask", "--task", TASKS)
    assert proc.returncode == 1
    write_predictions(w.data, tmp_path / "p")
    result = bench(tmp_path / "p", tmp_path / "r", "--baseline", str(tmp_path / "nomask"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["GATE REFUSED: refusing baseline*errored on all 28 paired "
                                 "objmask case(s)*"])
    assert gate_of(tmp_path / "r")["tasks"]["objmask"]["verdict"] == "improved"


def test_too_few_cases_is_refused(bench, gate_world, tmp_path):
    pred = tmp_path / "p"
    write_predictions(gate_world.data, pred)
    result = bench(pred, tmp_path / "r", "--baseline", str(gate_world.base), "--limit", "3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["GATE REFUSED: *no task has enough paired cases to test*"])
