"""``dynbench download --dataset``: hub snapshot -> unpacked, checked, runnable folder.

The hub is replaced by a folder laid out like the published snapshot, written by the
generator (``generate --published``): ``huggingface_hub.snapshot_download`` is patched to
copy from it, so the suite's own call (repo id, repo type, local dir) is what is exercised.
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from dynbench.archives import ArchiveError, find_archives, unpack
from dynbench.check import NOTE, check_dataset
from dynbench.cli import main
from dynbench.data import DataError, read_dataset, resolve_root
from dynbench.download import DEFAULT_DATASET
from dynbench.synth import generate

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hub") / "yu2hi13--Dyn-Bench"
    generate(folder, seed=1, scenes=3, published=True)
    return folder


@pytest.fixture
def hub(monkeypatch, snapshot):
    """snapshot_download that copies the local snapshot; records every call."""
    import huggingface_hub

    calls = []

    def fake(repo_id, repo_type=None, local_dir=None, **kw):
        calls.append({"repo_id": repo_id, "repo_type": repo_type, "local_dir": local_dir, **kw})
        target = Path(local_dir)
        target.mkdir(parents=True, exist_ok=True)
        for src in snapshot.iterdir():
            dst = target / src.name
            if not (dst.is_file() and dst.stat().st_size == src.stat().st_size):
                shutil.copy2(src, dst)
        return str(target)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake)
    return calls


def tree(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns
            for p in folder.rglob("*") if p.is_file()}


def test_download_leaves_a_runnable_checked_folder(hub, tmp_path, capsys):
    target = tmp_path / "D"
    assert main(["download", "--dataset", "--local-dir", str(target)]) == 0
    assert hub[0]["repo_id"] == DEFAULT_DATASET and hub[0]["repo_type"] == "dataset"
    out = capsys.readouterr().out
    assert f"ready: pytest --data-dir {target}" in out and "0 with data errors" in out
    assert {"frames", "masks", "multi_json"} <= {p.name for p in target.iterdir()}
    n_cases = len(read_dataset(target).cases)
    report = tmp_path / "report"
    proc = subprocess.run([sys.executable, "-m", "pytest", "bench_tests", "-p",
                           "no:cacheprovider", "--data-dir", str(target), "--report-dir",
                           str(report), "--progress-every", "0"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:]
    summary = json.loads((report / "summary.json").read_text())
    assert summary["counts"]["cases"] == n_cases > 0 and summary["counts"]["errors"] == 0

    before = tree(target)
    assert main(["download", "--dataset", "--local-dir", str(target)]) == 0
    out = capsys.readouterr().out
    assert out.count("already unpacked (nothing to do)") == 3
    assert tree(target) == before  # a second download rewrites nothing


def test_interrupted_unpack_resumes_without_redoing_finished_files(snapshot, tmp_path, capsys):
    target = tmp_path / "D"
    assert main(["download", "--dataset", str(snapshot), "--local-dir", str(target)]) == 0
    frames = sorted(p for p in (target / "frames").rglob("*") if p.is_file())
    shutil.rmtree(target / ".dynbench")  # as if killed before the stamps were written
    for p in frames[::2]:
        p.unlink()
    (frames[1].with_name(frames[1].name + ".part")).write_bytes(b"half")
    kept = {p: p.stat().st_mtime_ns for p in frames[1::2]}
    capsys.readouterr()
    assert main(["download", "--dataset", str(snapshot), "--local-dir", str(target)]) == 0
    out = capsys.readouterr().out
    assert f"frames.zip: {len(frames[::2])} file(s) written, {len(kept)} already there" in out
    assert all(p.stat().st_mtime_ns == t for p, t in kept.items())


def test_data_dir_on_a_snapshot_says_what_to_run(snapshot):
    with pytest.raises(DataError, match="not unpacked; run `dynbench download --dataset"):
        resolve_root(snapshot)
    cache = snapshot.parent / "datasets--yu2hi13--Dyn-Bench"
    (cache / "snapshots").mkdir(parents=True, exist_ok=True)
    if not (cache / "snapshots" / "abc").exists():
        (cache / "snapshots" / "abc").symlink_to(snapshot)
    with pytest.raises(DataError, match="holds the published archives"):
        resolve_root(cache)


def _zip(path: Path, members: list[tuple[str, bytes, int]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


REG = stat.S_IFREG | 0o644


def test_hostile_members_are_refused_and_nothing_leaves_the_target(tmp_path):
    archive = _zip(tmp_path / "evil.zip", [
        ("../escape.json", b"x", REG),
        ("/abs_qa.json", b"x", REG),
        ("C:/win_qa.json", b"x", REG),
        ("frames/a/../../../up.jpg", b"x", REG),
        ("frames/s/x/frame_0000.jpg", b"/etc/passwd", stat.S_IFLNK | 0o777),
        ("frames/s/x/frame_0001.jpg", b"", stat.S_IFIFO | 0o644),
        ("frames/s/x/frame_0002.jpg", b"good", REG),
    ])
    dest = tmp_path / "inner" / "D"
    result = unpack(archive, dest)
    reasons = " | ".join(result.refused)
    for needle in ("../escape.json: '..'", "/abs_qa.json: absolute", "C:/win_qa.json: absolute",
                   "up.jpg: '..'", "frame_0000.jpg: symlink entry", "frame_0001.jpg: special"):
        assert needle in reasons
    assert result.written == 1 and (dest / "frames/s/x/frame_0002.jpg").read_bytes() == b"good"
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != archive]
    assert all(dest in p.parents for p in written), written
    assert not any(p.is_symlink() for p in dest.rglob("*"))


def test_an_existing_symlink_in_the_target_cannot_redirect_writes(tmp_path):
    archive = _zip(tmp_path / "frames.zip", [("frames/s/x/frame_0000.jpg", b"img", REG)])
    elsewhere, dest = tmp_path / "elsewhere", tmp_path / "D"
    elsewhere.mkdir()
    dest.mkdir()
    (dest / "frames").symlink_to(elsewhere)
    result = unpack(archive, dest)
    assert result.written == 0 and "outside" in result.refused[0]
    assert not list(elsewhere.rglob("*.jpg"))


def test_members_are_placed_by_their_path_and_content(tmp_path):
    archive = _zip(tmp_path / "anything.zip", [
        ("Dyn-Bench/frames/davis/bear/frame_0000.jpg", b"f", REG),  # wrapper folder
        ("davis/bear/frame_0001.jpg", b"f", REG),  # no role folder: by content
        ("davis/bear/frame_0001_obj2.png", b"m", REG),
        ("export/davis/bear_qa.json", b"[]", REG),
        ("export/davis/bear_frame_sampling.json", b"{}", REG),
        ("videos/davis/bear.mp4", b"v", REG),
        ("__MACOSX/davis/._bear_qa.json", b"", REG),
        ("notes.txt", b"t", REG),
    ])
    result = unpack(archive, tmp_path / "D")
    got = sorted(p.relative_to(tmp_path / "D").as_posix() for p in (tmp_path / "D").rglob("*")
                 if p.is_file() and ".dynbench" not in p.parts)
    assert got == ["frames/davis/bear/frame_0000.jpg", "frames/davis/bear/frame_0001.jpg",
                   "masks/davis/bear/frame_0001_obj2.png",
                   "multi_json/davis/bear_frame_sampling.json", "multi_json/davis/bear_qa.json"]
    assert result.skipped["video (the benchmark reads frames/)"] == 1
    assert result.skipped["macOS metadata"] == 1


def test_unusable_archives_are_explained(tmp_path, monkeypatch):
    (tmp_path / "frames.zip.001").write_bytes(b"x")
    (tmp_path / "masks.tar.gz").write_bytes(b"x")
    (tmp_path / "multi_json.zip").write_bytes(b"not a zip")
    archives, others = find_archives(tmp_path)
    assert "split zip" in others[0] and "not a zip archive" in others[1]
    with pytest.raises(ArchiveError, match="not a readable zip archive"):
        unpack(archives[0], tmp_path / "D")
    good = _zip(tmp_path / "g.zip", [("frames/s/x/frame_0000.jpg", b"x" * 1000, REG)])
    monkeypatch.setattr(shutil, "disk_usage", lambda p: type("Usage", (), {"free": 10})())
    with pytest.raises(ArchiveError, match=r"g.zip: needs 1000 B, .* has 10 B free"):
        unpack(good, tmp_path / "D2")


def test_parquet_tables_are_cross_checked_against_multi_json(snapshot, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    target = tmp_path / "D"
    assert main(["download", "--dataset", str(snapshot), "--local-dir", str(target)]) == 0
    assert not [p for p in check_dataset(target)[1] if p.severity == NOTE]
    rows = pq.read_table(target / "qa_tasks.parquet").to_pylist()
    rows[0]["question"] = "an edited question?"
    pq.write_table(pa.Table.from_pylist(rows), target / "qa_tasks.parquet")
    notes = [p.message for p in check_dataset(target)[1] if p.severity == NOTE]
    assert any("1 row(s) match no multi_json/ case" in n for n in notes)
    assert any("1 multi_json/ case(s) have no matching row" in n for n in notes)
    pq.write_table(pa.Table.from_pylist([{"clip": "x"}]), target / "mask_tasks.parquet")
    notes = [p.message for p in check_dataset(target)[1] if p.severity == NOTE]
    assert any("cannot cross-check" in n and "scene" in n for n in notes)
