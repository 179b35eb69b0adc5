"""dynbench.runfolder: the one reader and writer of a run folder."""

from __future__ import annotations

import json

import pytest

from dynbench import runfolder


def _records() -> list[dict]:
    return [{"id": "qa/s/v/q1", "kind": "qa", "task": "qa", "output": "B", "status": "ok"},
            {"id": "objmask/s/v/obj1", "kind": "mask", "task": "objmask", "output": "",
             "status": "ok"},
            {"id": "qa/s/v/q0", "kind": "qa", "task": "qa", "output": None, "status": "error"}]


def test_written_folder_reads_back(tmp_path):
    summary = {"tasks": {}, "settings": {}, "model": {"name": "m"}}
    partial = runfolder.PartialSamples(tmp_path)
    for record in _records():
        partial.append(record)
    partial.close()
    assert len((tmp_path / runfolder.PARTIAL).read_text().splitlines()) == 3
    runfolder.write_run_files(tmp_path, _records(), summary)
    assert not (tmp_path / runfolder.PARTIAL).exists()  # finished: the log is gone
    ids = [json.loads(x)["id"] for x in (tmp_path / runfolder.SAMPLES).read_text().splitlines()]
    assert ids == sorted(ids) and len(ids) == 3
    answers = [json.loads(x) for x in (tmp_path / runfolder.ANSWERS).read_text().splitlines()]
    assert answers == [{"id": "qa/s/v/q1", "output": "B"}]  # no output: no answer line
    run = runfolder.load_run(tmp_path)
    assert run.summary == summary and run.label == "m" and run.folder == tmp_path
    assert [r["id"] for r in run.records] == ids
    runfolder.write_report(tmp_path, {"exitcode": 0, "dynbench": {**summary, "x": 1}})
    assert runfolder.load_run(tmp_path, samples=False).summary["x"] == 1  # report.json first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_paths_of_masks_and_thumbs(tmp_path):
    assert runfolder.mask_file(tmp_path, "objmask/s/v/obj2", 7) == \
        tmp_path / "masks" / "objmask" / "s" / "v" / "obj2" / "frame_0007.png"
    assert runfolder.thumb_file(tmp_path, "objmask/s/v/obj2") == \
        tmp_path / "thumbs" / "objmask" / "s" / "v" / "obj2.png"


def test_unreadable_runs_name_the_file(tmp_path):
    with pytest.raises(runfolder.RunFolderError, match="does not exist"):
        runfolder.load_run(tmp_path / "nope")
    with pytest.raises(runfolder.RunFolderError, match="holds no report.json"):
        runfolder.load_run(tmp_path)
    (tmp_path / "report.json").write_text(json.dumps({"dynbench": {"tasks": {}}}))
    with pytest.raises(runfolder.RunFolderError, match="samples.jsonl"):
        runfolder.load_run(tmp_path)
    (tmp_path / "samples.jsonl").write_text('{"id": 1}\n{broken\n')
    with pytest.raises(runfolder.RunFolderError, match="cannot read .*samples.jsonl"):
        runfolder.load_run(tmp_path)
    (tmp_path / "report.json").write_text("[1]")
    with pytest.raises(runfolder.RunFolderError, match="expected a JSON object"):
        runfolder.load_run(tmp_path, samples=False)
    (tmp_path / "report.json").write_text(json.dumps({"created": 1}))
    with pytest.raises(runfolder.RunFolderError, match="not a dynbench report"):
        runfolder.load_run(tmp_path, samples=False)


def test_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "summary.json"
    runfolder.atomic_write(target, "old")

    def boom(*_):
        raise OSError("disk full")

    monkeypatch.setattr(runfolder.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        runfolder.atomic_write(target, "new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == [target.name]
