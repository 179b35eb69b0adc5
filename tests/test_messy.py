"""A dataset holding every layout variant and fault (``generate --messy``), run end to end.

Perfect predictions come from the generator's scene model (``--oracle``), so a case that the
suite reads right scores exactly 100 and any misreading scores less. Each variant's expected
outcome is the table ``dynbench.synth.messy.VARIANTS``; ``dynbench check`` must name the same
errors, and the same notes, as the run records.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dynbench.check import ERROR, NOTE, check_dataset
from dynbench.safefs import printable
from dynbench.synth import generate
from dynbench.synth.messy import SOURCE, VARIANTS

ROOT = Path(__file__).resolve().parents[1]
SCORING_NOTES = ("prediction resized",)  # notes the scoring adds, not the data reading


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    base = tmp_path_factory.mktemp("messy")
    generate(base / "data", seed=3, scenes=1, messy=True, oracle=base / "oracle")
    return base


def run(base: Path, name: str, *extra: str) -> tuple[subprocess.CompletedProcess, Path]:
    out = base / name
    proc = subprocess.run([sys.executable, "-m", "pytest", "bench_tests", "-p",
                           "no:cacheprovider", "--data-dir", str(base / "data"),
                           "--predictions", str(base / "oracle"), "--report-dir", str(out),
                           "--progress-every", "0", *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    return proc, out


@pytest.fixture(scope="module")
def serial(messy):
    return run(messy, "serial")


def records(out: Path) -> dict[str, dict]:
    lines = (out / "samples.jsonl").read_text(encoding="utf-8").splitlines()
    return {r["id"]: r for r in map(json.loads, lines)}


def perfect(r: dict) -> bool:
    return r["correct"] is True if r["kind"] == "qa" else r["jf"] == pytest.approx(1.0)


def assert_outcomes(proc: subprocess.CompletedProcess, out: Path) -> None:
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "INTERNALERROR" not in proc.stdout + proc.stderr
    assert (out / "report.json").is_file() and (out / "report.html").is_file()
    recs = records(out)
    assert not [r for r in recs.values() if "not run" in (r.get("error") or "")]
    named = {e["id"] for e in json.loads((out / "summary.json").read_text())["errors"]}
    for variant in VARIANTS:
        mine = [r for r in recs.values() if r.get("source") == SOURCE
                and r.get("scene") == printable(variant.name)]
        for kind, expect in (("qa", variant.qa), ("mask", variant.mask)):
            cases = [r for r in mine if r["kind"] == kind]
            assert (expect == "none") == (not cases), (variant.name, kind)
            for r in cases:
                if expect == "error":
                    assert r["status"] == "error" and variant.needle in r["error"], r
                    assert r["id"] in named
                else:
                    assert r["status"] == "ok" and perfect(r), (variant.name, r)
                    if expect == "note":
                        assert any(variant.needle in n for n in r["notes"]), r
        for case_id, needle in variant.extra:
            assert recs[case_id]["status"] == "error" and needle in recs[case_id]["error"]
            assert case_id in named
    regular = [r for r in recs.values() if r.get("source") != SOURCE and r["status"] != "error"]
    assert regular and all(perfect(r) for r in regular)
    assert all(r["status"] == "ok" for r in recs.values() if r.get("source") != SOURCE
               and not r["id"].startswith("data/"))


def test_every_fault_is_named_and_every_readable_case_scores_100(serial):
    assert_outcomes(*serial)


def test_the_same_with_two_workers(messy, serial):
    proc, out = run(messy, "xdist", "-n", "2")
    assert_outcomes(proc, out)
    strip = ("latency_s", "resumed")
    same = {k: {f: v for f, v in r.items() if f not in strip} for k, r in records(out).items()}
    assert same == {k: {f: v for f, v in r.items() if f not in strip}
                    for k, r in records(serial[1]).items()}


def test_check_names_exactly_what_the_run_trips_on(messy, serial):
    n, findings = check_dataset(messy / "data")
    recs = records(serial[1])
    assert n == len(recs)
    errors = {p.where: p.message for p in findings if p.severity == ERROR}
    run_errors = {k: r["error"].removeprefix("data error: ") for k, r in recs.items()
                  if r["status"] == "error"}
    assert errors == run_errors
    notes: dict[str, set[str]] = {}
    for p in findings:
        if p.severity == NOTE:
            notes.setdefault(p.where, set()).add(p.message)
    for case_id, r in recs.items():
        data_notes = {x for x in r["notes"] if not x.startswith(SCORING_NOTES)}
        assert data_notes == notes.get(case_id, set()), case_id
    assert any(notes.values())


def test_check_command_exits_1_and_groups_the_findings(messy):
    proc = subprocess.run([sys.executable, "-m", "dynbench.cli", "check", str(messy / "data")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert "symlink loop" in proc.stdout and "note: " in proc.stdout
    assert "+2 more case(s)" in proc.stdout  # one line per distinct problem


def test_readme_table_lists_every_variant():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for v in VARIANTS:
        name = v.name.replace("\n", "\\n")
        assert f"| {v.title} | `{name}` |" in readme, v.name
