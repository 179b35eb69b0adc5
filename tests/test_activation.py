"""dynbench joins only dynbench sessions, and runs from any folder with `dynbench run`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import small_dataset

ROOT = Path(__file__).resolve().parents[1]
BENCH_TEST = (ROOT / "bench_tests" / "test_dynbench.py").read_text()
OTHER_CONFTEST = '''
import pytest

def pytest_addoption(parser):
    parser.addoption("--model", default="none")
    parser.addoption("--seed", type=int, default=0)

@pytest.fixture
def model(request):
    return request.config.getoption("--model"), request.config.getoption("--seed")
'''
OTHER_TEST = '''
def test_own_options(model):
    assert model == ("resnet", 7)
'''


def other_project(pytester) -> None:
    pytester.makeconftest(OTHER_CONFTEST)
    pytester.makepyfile(test_other=OTHER_TEST)
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")


def test_unrelated_project_keeps_its_own_options(pytester):
    other_project(pytester)
    result = pytester.runpytest_subprocess("--model", "resnet", "--seed", "7")
    result.assert_outcomes(passed=1)
    assert "dynbench: data" not in result.stdout.str()  # no benchmark header
    helptext = pytester.runpytest_subprocess("--help").stdout.str()
    assert "Dyn-Bench" not in helptext and "--data-dir" not in helptext


def test_unrelated_project_with_space_form_paths(pytester):
    """A path after an option pytest does not know yet is still just that project's."""
    other_project(pytester)
    sub = pytester.mkdir("sub")
    (sub / "test_more.py").write_text("def test_more():\n    assert True\n")
    result = pytester.runpytest_subprocess("--model", "resnet", "--seed", "7", "test_other.py",
                                           "sub")
    result.assert_outcomes(passed=2)


def test_benchmark_module_makes_a_dynbench_session(pytester, tmp_path):
    data, out = small_dataset(tmp_path / "d"), tmp_path / "out"
    pytester.makepyfile(test_dynbench=BENCH_TEST)
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    result = pytester.runpytest_subprocess("--data-dir", str(data), "--report-dir", str(out),
                                           "--task", "cameraqa")
    result.assert_outcomes(passed=2)
    assert f"rootdir: {pytester.path}" in result.stdout.str()
    assert "warning" not in result.stdout.str().lower()  # no assert-rewrite or other noise
    assert (out / "report.json").is_file()


def test_no_dynbench_turns_it_off(pytester):
    pytester.makepyfile(test_dynbench=BENCH_TEST)
    result = pytester.runpytest_subprocess("-p", "no:dynbench", "--model", "baseline")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "unrecognized arguments: --model" in result.stderr.str()


def test_ini_addopts_plugin_with_space_form_options(pytester, tmp_path):
    """A project of one's own: `-p dynbench.plugin` in its ini, tests in a subfolder."""
    data, out = small_dataset(tmp_path / "d"), tmp_path / "out"
    pytester.makeini("[pytest]\naddopts = -p dynbench.plugin -p no:cacheprovider\n"
                     "testpaths = bench\n")
    bench = pytester.mkdir("bench")
    (bench / "test_cases.py").write_text(BENCH_TEST)
    result = pytester.runpytest_subprocess("--data-dir", str(data), "--report-dir", str(out),
                                           "--task", "qa")
    result.assert_outcomes(passed=1)
    assert "configfile: tox.ini" in result.stdout.str()


def test_dynbench_run_from_an_empty_folder(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    dynbench = Path(sys.executable).with_name("dynbench")
    proc = subprocess.run([str(dynbench), "run", "--report-dir", "R", "--task", "cameraqa",
                           "-q"], cwd=empty, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((empty / "R" / "report.json").read_text())
    assert report["dynbench"]["tasks"]["cameraqa"]["n"] == 21  # the bundled sample
    assert {p.name for p in empty.iterdir()} - {".pytest_cache"} == {"R"}


def _borrowed_site_dirs() -> list[str]:
    """This environment's package folders: a new venv lists them after its own, so its own
    dynbench comes first (and this one's editable finder, a .pth hook, is not run)."""
    return [e for e in sys.path if Path(e).name in ("site-packages", "dist-packages")
            and Path(e).is_dir()]


def _copy_worktree(target: Path) -> None:
    """Tracked and new (not ignored) files of this checkout, as `pip install <checkout>`
    would see a clone of it."""
    names = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard",
                            "-z"], capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, names):
        source = ROOT / name.decode()
        if source.is_file():
            (target / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name.decode())


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to export the checkout")
def test_fresh_venv_install_runs_anywhere_and_disturbs_nothing(tmp_path):
    """`pip install <checkout>` into a new venv (heavy packages borrowed from this one):
    `dynbench run` from an empty folder scores the bundled sample, and a project with its
    own --model option passes its tests."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path("
                           "'purelib'))"], capture_output=True, text=True, check=True)
    Path(site.stdout.strip(), "_borrowed.pth").write_text("\n".join(_borrowed_site_dirs()) +
                                                         "\n")
    checkout = tmp_path / "checkout"
    _copy_worktree(checkout)
    install = subprocess.run([str(py), "-m", "pip", "install", "-qq", "--no-deps",
                              str(checkout)], capture_output=True, text=True, timeout=600)
    if install.returncode != 0 and "setuptools" in install.stderr:
        pytest.skip(f"cannot build here (no setuptools>=77 for the build): "
                    f"{install.stderr[-300:]}")
    assert install.returncode == 0, install.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONPATH"))}
    empty = tmp_path / "empty"
    empty.mkdir()
    run = subprocess.run([str(venv / "bin" / "dynbench"), "run", "--report-dir", "R",
                          "--task", "qa", "-q"], cwd=empty, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    summary = json.loads((empty / "R" / "report.json").read_text())["dynbench"]
    assert "<!DOCTYPE html>" in (empty / "R" / "report.html").read_text()  # templates shipped
    assert summary["tasks"]["qa"]["n"] == 21 and summary["run"]["git"] is None
    assert summary["settings"]["data_dir"].startswith(str(venv))  # the installed sample
    other = tmp_path / "other"
    other.mkdir()
    (other / "conftest.py").write_text(OTHER_CONFTEST)
    (other / "test_other.py").write_text(OTHER_TEST)
    mine = subprocess.run([str(py), "-m", "pytest", "-p", "no:cacheprovider", "--model",
                           "resnet", "--seed", "7"], cwd=other, env=env, capture_output=True,
                          text=True, timeout=300)
    assert mine.returncode == 0, mine.stdout + mine.stderr
    assert "1 passed" in mine.stdout


NO_TORCH = """
import sys
import pytest

code = pytest.main(sys.argv[1:])
heavy = sorted(m for m in ("torch", "transformers", "accelerate") if m in sys.modules)
print("heavy modules imported:", heavy)
raise SystemExit(code)
"""


def test_scoring_saved_predictions_imports_no_torch(tmp_path):
    """--predictions, the gate and the report need neither torch nor transformers, so they
    can run on a CPU box without them."""
    data = small_dataset(tmp_path / "d")
    script = tmp_path / "run.py"
    script.write_text(NO_TORCH)
    first = subprocess.run([sys.executable, str(script), "-q", "-p", "no:cacheprovider",
                            "--data-dir", str(data), "--report-dir", str(tmp_path / "a"),
                            "--save-masks"],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout
    again = subprocess.run([sys.executable, str(script), "-q", "-p", "no:cacheprovider",
                            "--data-dir", str(data), "--predictions", str(tmp_path / "a"),
                            "--baseline", str(tmp_path / "a"), "--report-dir",
                            str(tmp_path / "b")], cwd=ROOT, capture_output=True, text=True,
                           timeout=300)
    # 7 cases are too few for the paired test: the gate runs and refuses (exit 4)
    assert again.returncode == 4, again.stdout
    assert "heavy modules imported: []" in again.stdout
    assert "Dyn-Bench regression gate" in again.stdout
    assert "no task has enough paired cases" in again.stdout
