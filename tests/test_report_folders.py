"""Report folders never collide or vanish; a full or read-only disk loses nothing computed."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from dynbench import exitcodes, runfolder
from dynbench.synth import generate
from tests.builders import small_dataset

ROOT = Path(__file__).resolve().parents[1]
BENCH_TEST = (ROOT / "bench_tests" / "test_dynbench.py").read_text()


def project(tmp: Path) -> Path:
    folder = tmp / "project"
    folder.mkdir()
    (folder / "test_dynbench.py").write_text(BENCH_TEST)
    (folder / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    return folder


def pytest_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", *args]


def run(folder: Path, *args: str, umask: int | None = None) -> subprocess.CompletedProcess:
    preexec = (lambda: os.umask(umask)) if umask is not None else None
    return subprocess.run(pytest_cmd(*args), cwd=folder, capture_output=True, text=True,
                          timeout=600, preexec_fn=preexec)


@contextlib.contextmanager
def tmpfs(where: Path, options: str):
    """A small or read-only file system of our own (root only; else the test is skipped)."""
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()[:80]})")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def records(path: Path) -> list[dict]:
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass  # a line the full disk cut
    return out


# --- naming --------------------------------------------------------------------------------


def test_runs_in_the_same_second_get_their_own_folders(tmp_path):
    base = tmp_path / "reports" / "m"
    first = runfolder.claim_new(base, "20250101-120000")
    second = runfolder.claim_new(base, "20250101-120000")
    third = runfolder.claim_new(base, "20250101-120000")
    assert [p.name for p in (first, second, third)] == \
        ["20250101-120000", "20250101-120000-2", "20250101-120000-3"]
    for p in (first, third):
        (p / "summary.json").write_text("{}")
    assert runfolder.resolve_run(base) == third  # no latest link: the newest finished run
    runfolder.point_latest(first)
    assert runfolder.resolve_run(base) == first.resolve()
    assert runfolder.resolve_run(first) == first


def test_concurrent_runs_latest_and_baseline_by_model_folder(tmp_path):
    data, folder = tmp_path / "d", project(tmp_path)
    generate(data, seed=5, scenes=9, frames=4, size=(48, 36))  # enough cases for the gate
    procs = [subprocess.Popen(pytest_cmd("--data-dir", str(data)), cwd=folder,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    runs = sorted(p for p in (folder / "reports" / "baseline").iterdir()
                  if p.name != runfolder.LATEST)
    assert len(runs) == 2 and all((r / "report.json").is_file() for r in runs)
    latest = folder / "reports" / "baseline" / runfolder.LATEST
    assert latest.is_symlink() and latest.resolve() in runs
    gated = run(folder, "--data-dir", str(data), "--baseline", "reports/baseline")
    assert gated.returncode == 0, gated.stdout
    third = next(p for p in (folder / "reports" / "baseline").iterdir()
                 if p.name != runfolder.LATEST and p not in runs)
    gate = json.loads((third / "summary.json").read_text())["gate"]
    assert Path(gate["baseline"]["path"]).resolve() in runs
    assert gate["status"] == "pass"
    assert latest.resolve() == third  # the newest finished run


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_report_files_follow_the_umask(tmp_path, umask, mode):
    data, folder, out = small_dataset(tmp_path / "d"), project(tmp_path), tmp_path / "out"
    assert run(folder, "--data-dir", str(data), "--report-dir", str(out), "--task", "qa",
               umask=umask).returncode == 0
    for name in ("report.json", "summary.json", "samples.jsonl", "answers.jsonl",
                 "report.html"):
        assert stat.S_IMODE((out / name).stat().st_mode) == mode, name


# --- faults ------------------------------------------------------------------------------


def test_read_only_report_folder_is_refused_before_any_case(tmp_path):
    data, folder = small_dataset(tmp_path / "d"), project(tmp_path)
    with tmpfs(tmp_path / "ro", "ro,size=64k") as ro:
        result = run(folder, "--data-dir", str(data), "--report-dir", str(ro / "out"))
    assert result.returncode == exitcodes.USAGE, result.stdout + result.stderr
    assert f"report folder {ro / 'out'} cannot be written (Read-only file system)" in \
        result.stderr
    assert "--report-dir DIR" in result.stderr and "INTERNALERROR" not in result.stderr
    assert "passed" not in result.stdout


@pytest.mark.parametrize("size, in_folder", [("48k", True), ("12k", False)])
def test_full_report_folder_keeps_every_result(tmp_path, size, in_folder):
    """48k: samples.partial.jsonl took every case, the final files did not fit; 12k: the
    partial file filled up mid-run too, so the records went to a file in the temp dir."""
    data, folder = tmp_path / "data", project(tmp_path)
    generate(data, seed=2, scenes=6, frames=4, size=(48, 32))
    with tmpfs(tmp_path / "full", f"size={size}") as full:
        result = run(folder, "--data-dir", str(data), "--report-dir", str(full / "out"),
                     "--task", "cameraqa,qa,sceneqa")
        text = result.stdout + result.stderr
        assert result.returncode == exitcodes.REPORT_NOT_WRITTEN, text
        assert "INTERNALERROR" not in text and "No space left on device" in text
        line = next(x for x in text.splitlines() if "the report could not be written" in x)
        kept = Path(line.rsplit(" are in ", 1)[1])
        assert (kept.parent == full / "out") is in_folder
        partial = full / "out" / "samples.partial.jsonl"
        saved = records(kept) + (records(partial) if kept != partial and partial.exists()
                                 else [])
    n = int(line.split("the ", 2)[2].split(" case results")[0])
    assert n == 47 and len({r["id"] for r in saved}) == n  # every computed case, on disk
    assert all(r["status"] == "ok" for r in saved)


def test_full_resume_cache_costs_the_cache_not_the_results(tmp_path):
    data, folder, out = tmp_path / "data", project(tmp_path), tmp_path / "out"
    generate(data, seed=2, scenes=6, frames=4, size=(48, 32))
    with tmpfs(tmp_path / "full", "size=16k") as full:
        result = run(folder, "--data-dir", str(data), "--report-dir", str(out), "--task",
                     "cameraqa,qa,sceneqa", "--resume", "--resume-dir", str(full))
    assert result.returncode == 0, result.stdout + result.stderr
    rows = records(out / "samples.jsonl")
    assert len(rows) > 30 and all(r["status"] == "ok" for r in rows)
    summary = json.loads((out / "summary.json").read_text())
    assert any("resume cache" in w and "cannot be written" in w for w in summary["warnings"])
    assert "WARNING: resume cache" in result.stdout
