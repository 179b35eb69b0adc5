"""The `dynbench` command line: check, families, download errors, generate, --help."""

from __future__ import annotations

import subprocess
import sys

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
