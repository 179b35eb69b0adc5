"""--resume: a run killed with SIGKILL and resumed equals an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from dynbench.synth import generate
from tests.builders import SLOW_CONFTEST

ROOT = Path(__file__).resolve().parents[1]
VOLATILE = {"latency_s", "resumed"}


def setup_project(tmp: Path) -> Path:
    project = tmp / "project"
    project.mkdir()
    (project / "test_dynbench.py").write_text((ROOT / "bench_tests/test_dynbench.py").read_text())
    (project / "conftest.py").write_text(SLOW_CONFTEST)
    (project / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    return project


def command(data: Path, cache: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "--data-dir", str(data), "--task",
            "cameraqa,qa,sceneqa", "--resume", "--resume-dir", str(cache), "--report-dir",
            str(out), *extra]


def run(project: Path, cmd: list[str], slow: float = 0.0) -> subprocess.CompletedProcess:
    env = {**os.environ, "SLOW_S": str(slow)}
    return subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=300)


def read_rows(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]


def samples(out: Path) -> dict[str, dict]:
    return {r["id"]: {k: v for k, v in r.items() if k not in VOLATILE} for r in read_rows(out)}


def cached_lines(cache: Path) -> int:
    return sum(len(p.read_text().splitlines()) for p in cache.rglob("*.jsonl"))


def kill_midway(project: Path, cmd: list[str], after: int, cache: Path) -> None:
    env = {**os.environ, "SLOW_S": "0.1"}
    proc = subprocess.Popen(cmd, cwd=project, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while cached_lines(cache) < after and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_killed_run_resumes_to_the_same_report(tmp_path):
    data = tmp_path / "data"
    generate(data, seed=3, scenes=4, frames=6, size=(64, 48))
    project = setup_project(tmp_path)
    full_out, full_cache = tmp_path / "full", tmp_path / "cache_full"
    assert run(project, command(data, full_cache, full_out)).returncode == 0
    reference = samples(full_out)
    assert len(reference) > 20

    cache, out = tmp_path / "cache", tmp_path / "resumed"
    kill_midway(project, command(data, cache, tmp_path / "killed"), after=8, cache=cache)
    finished = cached_lines(cache)
    assert 8 <= finished < len(reference), "the kill must land mid-run"

    result = run(project, command(data, cache, out))
    assert result.returncode == 0, result.stdout[-3000:]
    rows = read_rows(out)
    assert sum(bool(r.get("resumed")) for r in rows) == finished  # nothing finished recomputed
    assert samples(out) == reference
    final = json.loads((out / "summary.json").read_text())
    assert final["tasks"] == json.loads((full_out / "summary.json").read_text())["tasks"]


def test_changed_model_settings_invalidate_the_cache(tmp_path):
    data = tmp_path / "data"
    generate(data, seed=4, scenes=2, frames=4, size=(64, 48))
    project = setup_project(tmp_path)
    cache = tmp_path / "cache"
    assert run(project, command(data, cache, tmp_path / "a")).returncode == 0
    again = run(project, command(data, cache, tmp_path / "b"))
    rows = read_rows(tmp_path / "b")
    assert again.returncode == 0 and all(r.get("resumed") for r in rows)
    changed = run(project, command(data, cache, tmp_path / "c", "--seed", "5"))
    rows = read_rows(tmp_path / "c")
    assert changed.returncode == 0 and not any(r.get("resumed") for r in rows)
    rescored = run(project, command(data, cache, tmp_path / "d", "--protocol", "reference"))
    rows = read_rows(tmp_path / "d")
    assert rescored.returncode == 0 and not any(r.get("resumed") for r in rows)


def test_changed_case_content_is_recomputed(tmp_path):
    data = tmp_path / "data"
    generate(data, seed=5, scenes=2, frames=4, size=(64, 48))
    project = setup_project(tmp_path)
    cache = tmp_path / "cache"
    assert run(project, command(data, cache, tmp_path / "a")).returncode == 0
    qa_file = sorted((data / "multi_json").rglob("*_qa.json"))[0]
    items = json.loads(qa_file.read_text())
    items[0]["question"] += " (edited)"
    qa_file.write_text(json.dumps(items))
    assert run(project, command(data, cache, tmp_path / "b")).returncode == 0
    rows = read_rows(tmp_path / "b")
    fresh = [r["id"] for r in rows if not r.get("resumed")]
    scene = qa_file.name.rsplit("_", 1)[0]
    assert fresh == [f"qa/{qa_file.parent.name}/{scene}/q0"]


def test_foreign_lines_are_skipped_with_a_warning(tmp_path):
    data = tmp_path / "data"
    generate(data, seed=4, scenes=2, frames=4, size=(64, 48))
    project = setup_project(tmp_path)
    cache = tmp_path / "cache"
    assert run(project, command(data, cache, tmp_path / "a")).returncode == 0
    own = next(cache.rglob("*.jsonl"))
    with own.open("a") as f:  # someone else's lines, then a kill's torn last line
        f.write('{"note": "not a case"}\n[1, 2]\n"text"\n{"id": 3}\n{"id": "x", "st')
    again = run(project, command(data, cache, tmp_path / "b"))
    assert again.returncode == 0, again.stdout[-3000:]
    rows = read_rows(tmp_path / "b")
    assert rows and all(r.get("resumed") for r in rows)  # the real records still count
    assert f"WARNING: resume cache {own}: skipped 4 line(s)" in again.stdout
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert any("skipped 4 line(s)" in w for w in summary["warnings"])


def test_key_covers_the_dynbench_version_and_the_scoring_code(monkeypatch):
    import dynbench
    from dynbench import resume

    scoring = {"protocol": "fair", "jf_mode": "davis", "bound_th": 0.008}
    base = resume.scoring_key(scoring)
    monkeypatch.setattr(dynbench, "__version__", "99.0")
    assert resume.scoring_key(scoring) != base
    monkeypatch.undo()
    monkeypatch.setattr(resume, "scoring_code_version", lambda: "edited")
    assert resume.scoring_key(scoring) != base
    monkeypatch.undo()
    assert resume.scoring_key(scoring) == base


def test_resume_with_save_masks_makes_a_complete_predictions_folder(tmp_path):
    data = tmp_path / "data"
    generate(data, seed=6, scenes=2, frames=4, size=(64, 48))
    project = setup_project(tmp_path)
    cache = tmp_path / "cache"

    def cmd(out: Path, *extra: str) -> list[str]:
        return [sys.executable, "-m", "pytest", "-q", "--data-dir", str(data), "--resume",
                "--resume-dir", str(cache), "--report-dir", str(out), *extra]

    assert run(project, cmd(tmp_path / "plain")).returncode == 0  # cached without masks
    first = run(project, cmd(tmp_path / "masks1", "--save-masks"))
    assert first.returncode == 0, first.stdout[-2000:]
    second = run(project, cmd(tmp_path / "masks2", "--save-masks"))
    assert second.returncode == 0, second.stdout[-2000:]
    rows = read_rows(tmp_path / "masks2")
    masks = [r for r in rows if r["kind"] == "mask" and r.get("mask_produced")]
    assert masks and all(r.get("resumed") for r in rows)
    for out in (tmp_path / "masks1", tmp_path / "masks2"):
        for r in masks:
            saved = sorted(p.name for p in (out / "masks" / r["id"]).iterdir())
            assert saved == [f"frame_{i:04d}.png" for i in r["frames"]], (out, r["id"])
            assert (out / "thumbs" / f"{r['id']}.png").is_file()
    rescored = subprocess.run([sys.executable, "-m", "pytest", "-q", "--data-dir", str(data),
                               "--predictions", str(tmp_path / "masks2"), "--report-dir",
                               str(tmp_path / "rescored")], cwd=project, capture_output=True,
                              text=True, timeout=300)
    assert rescored.returncode == 0, rescored.stdout[-2000:]
    again = {r["id"]: r for r in read_rows(tmp_path / "rescored")}
    for r in masks:
        assert again[r["id"]]["jf"] == r["jf"]
