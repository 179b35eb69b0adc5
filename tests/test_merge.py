"""--shard runs merged with ``dynbench merge`` give what one serial run gives.

Real pytest runs (chance baseline, generated data with uneven videos and broken files); the
serial run is the independent reference for every record, score, interval and gate verdict.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dynbench import cli, synth

ROOT = Path(__file__).resolve().parents[1]
VOLATILE = ("latency_s", "peak_gpu_mem_gb")  # measured, not computed


def bench(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    return proc


def make_data(root: Path) -> Path:
    """A generated dataset, made uneven (videos of 3..8 frames) and with broken files."""
    synth.generate(root, seed=5, scenes=9, frames=8, size=(48, 36))
    scenes = sorted((root / "frames").glob("*/*"))
    for n, folder in enumerate(scenes[:5]):
        for frame in sorted(folder.iterdir())[3 + n:]:
            frame.unlink()
    victim = sorted((root / "multi_json").glob("*/*_sceneqa.json"))[0]
    victim.write_text("{not json")  # a file-level error case
    shutil.rmtree(scenes[-1])  # a video whose frames are gone: its cases error
    return root


def records(folder: Path) -> dict[str, dict]:
    rows = [json.loads(x) for x in (folder / "samples.jsonl").read_text().splitlines()]
    return {r["id"]: {k: v for k, v in r.items() if k not in VOLATILE} for r in rows}


def summary(folder: Path) -> dict:
    return json.loads((folder / "report.json").read_text())["dynbench"]


def scores(s: dict) -> dict:
    """Everything a run's summary computes from its records."""
    return {k: v for k, v in s.items() if k not in ("model", "merge", "shard", "run")}


def merge(*args, capsys) -> tuple[int, str, str]:
    code = cli.main(["merge", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Data, a baseline run, a serial run gated against it, and three shards (one -n 2)."""
    tmp = tmp_path_factory.mktemp("merge")
    data = make_data(tmp / "data")
    common = ["--data-dir", str(data), "--save-masks"]
    base = bench(*common, "--seed", "1", "--report-dir", str(tmp / "base"))
    assert base.returncode == 1, base.stdout  # the broken files error
    serial = bench(*common, "--baseline", str(tmp / "base"), "--report-dir", str(tmp / "serial"))
    assert serial.returncode == 1, serial.stdout
    runs = {}
    for i, extra in enumerate([[], ["-n", "2"], []]):
        runs[i] = bench(*common, "--shard", f"{i}/3", *extra, "--report-dir",
                        str(tmp / f"shard{i}"))
        assert runs[i].returncode in (0, 1), runs[i].stdout + runs[i].stderr
    return {"tmp": tmp, "data": data, "common": common, "runs": runs,
            "shards": [tmp / f"shard{i}" for i in range(3)]}


def test_shards_split_the_selection_video_by_video(world):
    docs = [json.loads((s / "shard.json").read_text()) for s in world["shards"]]
    ids = [i for d in docs for i in d["cases"]]
    assert sorted(ids) == sorted(records(world["tmp"] / "serial"))  # exact cover
    assert all(d["plan"] == docs[0]["plan"] for d in docs)  # every process: the same plan
    for n, d in enumerate(docs):
        assert d["index"] == n and d["count"] == 3 and d["source"] == f"--shard {n}/3"
        assert d["cases"] == d["plan"][n] and set(records(world["shards"][n])) == set(d["cases"])
        videos = {i.split("/")[1] + "/" + i.split("/")[2] for i in d["cases"]}
        assert all(not videos & {i.split("/")[1] + "/" + i.split("/")[2] for i in o["cases"]}
                   for o in docs if o is not d)
        assert summary(world["shards"][n])["shard"]["selection_fingerprint"] == \
            docs[0]["selection_fingerprint"]
    assert "shard 1/3: " in world["runs"][1].stdout and "--shard 1/3" in world["runs"][1].stdout


def test_merged_equals_serial_run(world, capsys):
    out = world["tmp"] / "merged"
    code, text, _ = merge(*world["shards"], "--out", out, "--baseline", world["tmp"] / "base",
                          capsys=capsys)
    serial = world["tmp"] / "serial"
    assert code == 1  # the same exit code as the serial run: cases errored
    assert records(out) == records(serial)
    merged, reference = summary(out), summary(serial)
    assert scores(merged) == scores(reference)  # tasks, intervals, dimensions, overall, gate
    assert merged["gate"]["status"] == reference["gate"]["status"] and merged["gate"]["tasks"]
    assert merged["merge"]["missing"] == [] and len(merged["merge"]["shards"]) == 3
    assert json.loads((out / "summary.json").read_text()) == merged
    assert (out / "answers.jsonl").read_text() == (serial / "answers.jsonl").read_text()
    for sub in ("masks", "thumbs"):
        files = sorted(p.relative_to(serial / sub) for p in (serial / sub).rglob("*.png"))
        assert files and files == sorted(p.relative_to(out / sub)
                                         for p in (out / sub).rglob("*.png"))
    assert "GATE" in text and re.search(r"cases \d+ +errors [1-9]", text)
    assert 'data-js="pending"' in (out / "report.html").read_text()


def test_merged_report_is_a_pytest_json_report(world, capsys):
    out = world["tmp"] / "merged-doc"
    merge(*world["shards"], "--out", out, capsys=capsys)
    doc = json.loads((out / "report.json").read_text())
    serial = json.loads((world["tmp"] / "serial" / "report.json").read_text())
    assert set(serial) <= set(doc) and doc["exitcode"] == 1
    assert isinstance(doc["created"], float) and doc["duration"] > 0
    assert doc["summary"] == serial["summary"]

    def nodeids(d):
        return sorted(re.sub(r"@.*$", "", t["nodeid"]) for t in d["tests"])

    assert nodeids(doc) == nodeids(serial)
    assert {t["outcome"] for t in doc["tests"]} == {"passed", "failed"}


def test_gate_on_merge_has_run_exit_codes(world, capsys):
    clean = world["tmp"] / "clean"  # shards of only the cases that do not error
    code, text, _ = merge(*world["shards"], "--out", world["tmp"] / "floors", "--fail-under",
                          "overall=99", capsys=capsys)
    assert code == 1 and "GATE: FAIL" in text  # errors win over the gate, as in a run
    ok = bench(*world["common"], "--task", "cameraqa", "--shard", "0/1", "--report-dir",
               str(clean))
    assert ok.returncode in (0, 1)
    errors = summary(clean)["counts"]["errors"]
    code, text, _ = merge(clean, "--out", world["tmp"] / "floors2", "--fail-under",
                          "overall=99", capsys=capsys)
    assert code == (1 if errors else 10)
    code, _, err = merge(clean, "--out", world["tmp"] / "floors3", "--fail-under", "nope=3",
                         capsys=capsys)
    assert code == 4 and "unknown name 'nope'" in err
    assert not (world["tmp"] / "floors3").exists()  # refused before writing anything


def test_floor_on_an_unmeasured_task_fails_unless_allowed(world, capsys):
    only = world["tmp"] / "cameraqa-only"
    assert bench(*world["common"], "--task", "cameraqa", "--shard", "0/1", "--report-dir",
                 str(only)).returncode in (0, 1)
    errored = 1 if summary(only)["counts"]["errors"] else 0
    code, text, _ = merge(only, "--out", world["tmp"] / "missing", "--fail-under", "sceneqa=10",
                          capsys=capsys)
    assert code == (errored or 10) and "sceneqa not measured" in text
    code, text, _ = merge(only, "--out", world["tmp"] / "allowed", "--fail-under", "sceneqa=10",
                          "--allow-missing", capsys=capsys)
    assert code == errored and "GATE: PASS" in text


def test_missing_shard_is_exactly_its_cases_not_run(world, capsys):
    out = world["tmp"] / "partial"
    absent = world["tmp"] / "shard-never-ran"
    code, text, _ = merge(world["shards"][0], absent, world["shards"][2], "--out", out,
                          capsys=capsys)
    assert code == 1
    missing = json.loads((world["shards"][1] / "shard.json").read_text())["cases"]
    merged = summary(out)
    not_run = {e["id"] for e in merged["errors"] if e["message"].startswith("not run")}
    assert not_run == set(missing)
    serial_errors = {e["id"]: e["message"] for e in summary(world["tmp"] / "serial")["errors"]}
    others = {e["id"]: e["message"] for e in merged["errors"] if e["id"] not in not_run}
    assert others == {k: v for k, v in serial_errors.items() if k not in not_run}
    assert merged["counts"]["cases"] == len(records(world["tmp"] / "serial"))
    assert merged["merge"]["missing"] == [1]
    assert f"{absent} does not exist" in text and f"MISSING shard 1/3: its {len(missing)}" in text
    # the rerun shard completes it: merging again into the same folder is allowed
    code, _, _ = merge(*world["shards"], "--out", out, capsys=capsys)
    assert code == 1 and records(out) == records(world["tmp"] / "serial")


def test_case_missing_from_a_shard_is_not_run(world, capsys, tmp_path):
    cut = tmp_path / "cut"
    shutil.copytree(world["shards"][2], cut)
    lines = (cut / "samples.jsonl").read_text().splitlines()
    dropped = json.loads(lines[0])["id"]
    (cut / "samples.jsonl").write_text("\n".join(lines[1:]) + "\n")
    code, _, _ = merge(world["shards"][0], world["shards"][1], cut, "--out", tmp_path / "m",
                       capsys=capsys)
    assert code == 1
    errors = {e["id"]: e["message"] for e in summary(tmp_path / "m")["errors"]}
    assert errors[dropped] == f"not run: missing from shard 2/3 ({cut})"


def test_unfinished_shard_counts_as_missing(world, capsys, tmp_path):
    killed = tmp_path / "killed"
    shutil.copytree(world["shards"][1], killed)
    (killed / "report.json").unlink()
    code, text, _ = merge(world["shards"][0], killed, world["shards"][2], "--out",
                          tmp_path / "m", capsys=capsys)
    assert code == 1 and "holds no finished report" in text and "MISSING shard 1/3" in text


def test_refusals_name_the_difference(world, capsys, tmp_path):
    """Different model, scoring settings or data, a shard twice, a duplicated case: exit 4."""
    tmp, shard0, shard2 = world["tmp"], world["shards"][0], world["shards"][2]
    other_model = bench(*world["common"], "--predictions", str(tmp / "serial"), "--shard",
                        "1/3", "--report-dir", str(tmp_path / "pred"))
    assert other_model.returncode in (0, 1), other_model.stdout
    code, _, err = merge(shard0, tmp_path / "pred", shard2, "--out", tmp_path / "m",
                         capsys=capsys)
    assert code == 4 and "differ in model family: 'baseline' vs 'predictions'" in err
    assert "model predictions: None vs" in err and not (tmp_path / "m").exists()

    other_settings = bench(*world["common"], "--bound-th", "2", "--shard", "1/3",
                           "--report-dir", str(tmp_path / "bound"))
    assert other_settings.returncode in (0, 1)
    code, _, err = merge(shard0, tmp_path / "bound", "--out", tmp_path / "m", capsys=capsys)
    assert code == 4 and "setting bound_th: 0.008 vs 2.0" in err

    changed = tmp_path / "data"
    shutil.copytree(world["data"], changed)
    qa = sorted((changed / "multi_json").glob("*/*_cameraqa.json"))[0]
    qa.write_text(qa.read_text().replace("camera", "kamera", 1))
    other_data = bench("--data-dir", str(changed), "--save-masks", "--shard", "1/3",
                       "--report-dir", str(tmp_path / "data-run"))
    assert other_data.returncode in (0, 1)
    code, _, err = merge(shard0, tmp_path / "data-run", "--out", tmp_path / "m", capsys=capsys)
    assert code == 4 and "differ in data (case content" in err
    assert "setting data_dir" not in err  # machines may mount the data elsewhere

    twice = tmp_path / "again"
    shutil.copytree(shard0, twice)
    code, _, err = merge(shard0, twice, "--out", tmp_path / "m", capsys=capsys)
    assert code == 4 and f"shard 0/3 given twice: {shard0} and {twice}" in err

    sneaky = tmp_path / "sneaky"
    shutil.copytree(world["shards"][1], sneaky)
    stolen = (shard0 / "samples.jsonl").read_text().splitlines()[0]
    with open(sneaky / "samples.jsonl", "a") as f:
        f.write(stolen + "\n")
    code, _, err = merge(shard0, sneaky, "--out", tmp_path / "m", capsys=capsys)
    assert code == 4 and f"duplicated case {json.loads(stolen)['id']}" in err

    code, _, err = merge(tmp / "serial", "--out", tmp_path / "m", capsys=capsys)
    assert code == 4 and "not a shard's report folder" in err
    code, _, err = merge(shard0, "--out", tmp / "serial", capsys=capsys)
    assert code == 4 and "not an earlier merge" in err
    code, _, err = merge(shard0, "--out", shard0, capsys=capsys)
    assert code == 4 and "is one of the shard folders" in err


def test_empty_shard_still_reports(world, capsys, tmp_path):
    args = [*world["common"], "--task", "cameraqa", "--limit", "7"]
    first = bench(*args, "--shard", "0/12", "--report-dir", str(tmp_path / "s0"))
    assert first.returncode in (0, 1)
    plan = json.loads((tmp_path / "s0" / "shard.json").read_text())["plan"]
    # --task and --limit select before sharding: the plan holds the first 7 cameraqa cases
    from dynbench.data import read_dataset

    chosen = [c.id for c in read_dataset(world["data"]).cases if c.task == "cameraqa"][:7]
    assert sorted(i for part in plan for i in part) == sorted(chosen)
    code, _, err = merge(tmp_path / "s0", world["shards"][1], "--out", tmp_path / "x",
                         capsys=capsys)
    assert code == 4 and "shard count: 12 vs 3" in err and "case selection" in err
    assert "setting limit: 7 vs None" in err
    empty = next(i for i, part in enumerate(plan) if not part)  # more shards than videos
    run = bench(*args, "--shard", f"{empty}/12", "--report-dir", str(tmp_path / "empty"))
    assert run.returncode == 0, run.stdout
    assert json.loads((tmp_path / "empty" / "shard.json").read_text())["cases"] == []
    code, text, _ = merge(tmp_path / "s0", tmp_path / "empty", "--out", tmp_path / "m",
                          capsys=capsys)
    assert code == 1
    not_run = {e["id"] for e in summary(tmp_path / "m")["errors"]
               if e["message"].startswith("not run")}
    assert not_run == {i for n, part in enumerate(plan) if n not in (0, empty) for i in part}


def test_shard_with_resume(world, tmp_path):
    args = [*world["common"], "--shard", "2/3", "--resume", "--resume-dir",
            str(tmp_path / "resume")]
    first = bench(*args, "--report-dir", str(tmp_path / "a"))
    second = bench(*args, "--report-dir", str(tmp_path / "b"))
    assert first.returncode == second.returncode == world["runs"][2].returncode
    again = records(tmp_path / "b")
    assert set(again) == set(records(world["shards"][2]))
    assert all(r.get("resumed") for r in again.values() if r["status"] == "ok")
    strip = {k: {f: v for f, v in r.items() if f != "resumed"} for k, r in again.items()}
    assert strip == records(world["shards"][2])
