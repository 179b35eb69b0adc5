"""Every published number recomputed from samples.jsonl alone, by the formulas in README,
with the literal implementations of tests/independent_stats.py: each task's score, ci95,
clusters and design_effect, and each gate row's p-value."""

from __future__ import annotations

import random

import pytest

from tests import independent_stats as literal
from tests.runs import read_report, run_bench, write_predictions


def _changes(world, seed: int) -> dict:
    """Seeded changes over every task: wrong answers, shifted and empty masks."""
    rng = random.Random(seed)
    pick = {t: [i for i in ids if rng.random() < share] for t, ids, share in (
        (t, world.ids[t], {"cameraqa": 0.4, "qa": 0.15, "sceneqa": 0.2}.get(t, 0.5))
        for t in world.ids)}
    shift = {i: rng.choice([1, 2, 4, 8]) for t in ("objmask", "cameramask") for i in pick[t]}
    return {"wrong": pick["cameraqa"] + pick["qa"] + pick["sceneqa"],
            "empty": pick["scenemask"][:6], "shift": shift}


@pytest.fixture(scope="module")
def runs(gate_world, tmp_path_factory):
    """A baseline with partial J&F and wrong answers, and a current run that changes every
    task (enough videos for both the exact and the Monte Carlo test) with one errored case."""
    w, tmp = gate_world, tmp_path_factory.mktemp("recompute")
    write_predictions(w.data, tmp / "pb", **_changes(w, 1))
    base = run_bench(w.data, tmp / "pb", tmp / "base")
    assert base.returncode == 0, base.stdout + base.stderr
    write_predictions(w.data, tmp / "pc", **_changes(w, 2), missing=w.ids["sceneqa"][:1])
    cur = run_bench(w.data, tmp / "pc", tmp / "cur", "--baseline", str(tmp / "base"))
    assert cur.returncode == 1, cur.stdout + cur.stderr  # the missing answer is an error
    return tmp / "base", tmp / "cur"


def _assert_tasks_recompute(folder) -> None:
    summary = read_report(folder)
    expected = literal.recompute_tasks(literal.read_samples(folder))
    assert set(summary["tasks"]) == set(expected)
    for task, want in expected.items():
        got = summary["tasks"][task]
        assert got["clusters"] == want["clusters"], task
        assert got["score"] == pytest.approx(want["score"], rel=1e-12, abs=1e-12), task
        assert got["design_effect"] == pytest.approx(want["design_effect"], rel=1e-9), task
        assert got["ci95"] == pytest.approx(want["ci95"], rel=1e-12, abs=1e-10), task


def test_task_numbers_recompute_from_samples(runs, gate_world):
    for folder in (*runs, gate_world.base):
        _assert_tasks_recompute(folder)


def test_gate_p_values_recompute_from_samples(runs):
    base, cur = runs
    gate = read_report(cur)["gate"]
    expected = literal.recompute_gate(literal.read_samples(cur), literal.read_samples(base))
    assert set(gate["tasks"]) == set(expected) == set(literal.QA_TASKS | literal.MASK_TASKS)
    methods = set()
    for task, want in expected.items():
        row = gate["tasks"][task]
        assert (row["n_paired"], row["videos_paired"]) == (want["n_paired"],
                                                           want["videos_paired"]), task
        assert row["p_value"] == pytest.approx(want["p_value"], abs=1e-12), task
        methods.add((task in literal.QA_TASKS, row["test"]))
    assert {m for _, m in methods} == {"video sign-flip exact",
                                       "video sign-flip monte-carlo (10000)"}


def test_json_carries_full_precision(runs):
    base, cur = runs
    summary = read_report(cur)
    scores = [t["score"] for t in summary["tasks"].values()]
    assert any(round(s, 4) != s for s in scores)  # not rounded to 4 decimals
    assert summary["overall"]["score"] == pytest.approx(sum(scores) / len(scores), rel=1e-15)
    row = summary["gate"]["tasks"]["objmask"]
    assert row["delta"] == pytest.approx(row["current"] - row["baseline"], rel=1e-15)
