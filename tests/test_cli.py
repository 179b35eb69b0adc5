"""The `dynbench` command line: check, families, download errors, generate, --help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dynbench.cli import main
from tests.test_plugin import _defective_dataset


def test_check_lists_every_problem(tmp_path, capsys):
    data = _defective_dataset(tmp_path / "d")
    assert main(["check", str(data)]) == 1
    out = capsys.readouterr().out
    for needle in ["frame_0001.png: cannot decode image", "frames/s/no_frames/: frame folder is "
                   "missing", "answer 'Z' is not among", "malformed JSON", "is empty",
                   "unknown task suffix 'weirdtask'", "no mask files for object 9",
                   "mask is 10x10 but its frame is 32x24", "holds no questions"]:
        assert needle in out, needle
    assert "problem(s)" in out.splitlines()[-1]


def test_check_bundled_sample_is_clean(capsys):
    assert main(["check"]) == 0
    assert "0 problem(s)" in capsys.readouterr().out


def test_check_not_a_dataset(tmp_path, capsys):
    assert main(["check", str(tmp_path)]) == 2
    assert "no multi_json/" in capsys.readouterr().err


def test_families_lists_every_family(capsys):
    from dynbench.adapters.registry import FAMILIES

    assert main(["families"]) == 0
    out = capsys.readouterr().out
    assert all(f.name in out for f in FAMILIES) and "tiny:" in out


def test_download_offline_says_what_to_do(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code = main(["download", "--model", "Qwen/Qwen2.5-VL-3B-Instruct", "--cache-dir",
                 str(tmp_path)])
    assert code == 1
    err = capsys.readouterr().err
    assert "failed:" in err and ("HF_HUB_OFFLINE" in err or "hub" in err)


def test_download_needs_something(capsys):
    assert main(["download"]) == 2


def test_generate_writes_a_dataset(tmp_path):
    assert main(["generate", str(tmp_path / "g"), "--scenes", "2", "--frames", "4",
                 "--size", "64x48"]) == 0
    assert main(["check", str(tmp_path / "g")]) == 0


def test_pytest_help_lists_the_options():
    out = subprocess.run([sys.executable, "-m", "pytest", "--help"], capture_output=True,
                         text=True).stdout
    for option in ["--data-dir=DIR", "--model=ID_OR_PATH", "--task=LIST", "--predictions=DIR",
                   "--max-frames=K", "--resume", "--baseline=PATH", "--protocol"]:
        assert option in out, option


@pytest.mark.parametrize("argv", [["--help"], ["check", "--help"]])
def test_cli_help(argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0


def test_version_and_top_level_help(capsys):
    from dynbench import __version__

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"dynbench {__version__}"
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "`" not in out and "dynbench run [pytest options]" in out


def test_generate_help_shows_its_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["generate", "--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0 and "usage: dynbench generate" in out
    assert all(opt in out for opt in ("--seed", "--scenes", "--frames", "--size"))


def test_families_capabilities_column(capsys):
    assert main(["families"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line}
    assert "capabilities" in rows["family"]
    assert "QA + mask" in rows["sa2va"] and "QA + mask" in rows["baseline"]
    assert "QA + logits" in rows["qwen2_5_vl"] and "logits" not in rows["llava_ov_1_5"]


def test_tiny_unknown_name_is_a_clean_error(capsys):
    assert main(["tiny", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "no tiny model 'nosuch'" in err and "qwen2_5_vl" in err and "Traceback" not in err


def _pytest(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})},
                          cwd=Path(__file__).resolve().parents[1])


@pytest.mark.parametrize("how", ["env", "option"])
def test_missing_data_dir_is_a_clean_usage_error(how, tmp_path):
    gone = tmp_path / "nonexistent"
    proc = _pytest(*([] if how == "env" else ["--data-dir", str(gone)]),
                   env={"DYNBENCH_DATA": str(gone)} if how == "env" else None)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 4, text
    source = "$DYNBENCH_DATA" if how == "env" else "--data-dir"
    assert f"dynbench: data dir {gone} ({source}) does not exist" in text
    assert "dynbench: dynbench:" not in text and "Traceback" not in text
    assert "multi_json" not in text


@pytest.mark.parametrize("args, needle", [
    (["--limit", "0"], "argument --limit: must be a positive integer, got '0'"),
    (["--limit=-1"], "argument --limit: must be a positive integer, got '-1'"),
    (["--max-frames", "0"], "argument --max-frames: must be a positive integer"),
    (["--gpus", "x"], "argument --gpus: 'x' is not a GPU id"),
    (["--gpus-per-worker", "0"], "argument --gpus-per-worker: must be a positive integer"),
    (["--bound-th", "-1"], "argument --bound-th: must be a number > 0"),
])
def test_bad_option_values_are_refused(args, needle):
    proc = _pytest(*args, "--co")
    assert proc.returncode == 4 and needle in proc.stderr, proc.stderr
