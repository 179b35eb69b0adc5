"""The Slurm and Kubernetes examples in docs/: valid syntax, and their commands run locally.

Slurm: ``submit.sh`` runs as written, against a stand-in ``sbatch`` that runs each array
task (with the environment Slurm gives it) and then the dependent merge job. Kubernetes: the
manifests load as YAML, hold a consistent Indexed Job, and their container scripts run with
each JOB_COMPLETION_INDEX. Both on a generated dataset with the chance baseline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dynbench import synth

ROOT = Path(__file__).resolve().parents[1]
SLURM = ROOT / "docs" / "slurm"
K8S = ROOT / "docs" / "kubernetes"
SHELL_FILES = [SLURM / "dynbench-array.sbatch", SLURM / "dynbench-merge.sbatch",
               SLURM / "submit.sh", K8S / "run.sh"]

# A stand-in for sbatch: runs the script at once, an array task by task, with the variables
# Slurm sets, and logs each job (id, options, exit status) for the test to check.
FAKE_SBATCH = """#!{python}
import json, os, subprocess, sys
log = os.environ["FAKE_SLURM_LOG"]
jobs = [json.loads(x) for x in open(log)] if os.path.exists(log) else []
job_id = str(5000 + len(jobs))
opts, args = {{}}, sys.argv[1:]
while args[0].startswith("--"):
    key, _, value = args.pop(0)[2:].partition("=")
    opts[key] = value
script = args[0]
tasks = [None]
if "array" in opts:
    low, _, high = opts["array"].partition("-")
    tasks = list(range(int(low), int(high or low) + 1))
codes = []
gpus = os.environ.get("FAKE_GPUS_ON_NODE", "1").split(",")  # per task, cycled
for n, task in enumerate(tasks):
    env = dict(os.environ, SLURM_JOB_ID=job_id, SLURM_GPUS_ON_NODE=gpus[n % len(gpus)])
    if task is not None:
        env.update(SLURM_ARRAY_JOB_ID=job_id, SLURM_ARRAY_TASK_ID=str(task),
                   SLURM_ARRAY_TASK_MIN=str(tasks[0]), SLURM_ARRAY_TASK_MAX=str(tasks[-1]),
                   SLURM_ARRAY_TASK_COUNT=str(len(tasks)))
    name = f"slurm-{{job_id}}" + ("" if task is None else f"_{{task}}") + ".out"
    with open(name, "w") as out:
        codes.append(subprocess.run(["bash", script], env=env, stdout=out,
                                    stderr=subprocess.STDOUT).returncode)
with open(log, "a") as f:
    f.write(json.dumps({{"id": job_id, "opts": opts, "script": script, "codes": codes}}) + "\\n")
print(job_id + ";cluster0" if "parsable" in opts else f"Submitted batch job {{job_id}}")
"""


@pytest.mark.parametrize("path", SHELL_FILES, ids=lambda p: p.name)
def test_shell_syntax(path):
    proc = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def manifests() -> dict[str, dict]:
    docs = [d for f in ("dynbench-shards.yaml", "dynbench-merge.yaml")
            for d in yaml.safe_load_all((K8S / f).read_text())]
    return {d["metadata"]["name"]: d for d in docs}


def container(job: dict) -> dict:
    return job["spec"]["template"]["spec"]["containers"][0]


def env_of(job: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(job)["env"]}


def test_kubernetes_manifests_are_consistent():
    jobs = manifests()
    shards, merge = jobs["dynbench-shards"], jobs["dynbench-merge"]
    assert shards["kind"] == merge["kind"] == "Job"
    spec, env = shards["spec"], env_of(shards)
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] == int(env["SHARDS"])
    assert container(shards)["resources"]["limits"]["nvidia.com/gpu"] == int(env["GPUS"])
    assert env["OUT"] == env_of(merge)["OUT"]
    assert '--shard "auto/$SHARDS"' in container(shards)["args"][0]
    for job in jobs.values():
        claims = {v["persistentVolumeClaim"]["claimName"]
                  for v in job["spec"]["template"]["spec"]["volumes"]
                  if "persistentVolumeClaim" in v}
        mounts = {m["name"] for m in container(job)["volumeMounts"]}
        assert claims and mounts <= {v["name"] for v in job["spec"]["template"]["spec"]
                                     ["volumes"]}
        script = container(job)["args"][0]
        proc = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cluster") / "data"
    synth.generate(root, seed=2, scenes=6, frames=5, size=(48, 36))
    return root


def local_env(**extra: str) -> dict[str, str]:
    """The job's environment on this machine: our interpreter first on PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return {**os.environ, "PATH": path, "HF_HUB_OFFLINE": "1", **extra}


def merged(out: Path) -> dict:
    return json.loads((out / "merged" / "report.json").read_text())["dynbench"]


def computed(samples: str) -> list[dict]:
    drop = ("latency_s", "resumed")
    return [{k: v for k, v in json.loads(x).items() if k not in drop}
            for x in samples.splitlines()]


def test_slurm_example_runs_as_written(data, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sbatch = bin_dir / "sbatch"
    sbatch.write_text(FAKE_SBATCH.format(python=sys.executable))
    sbatch.chmod(0o755)
    out, log = tmp_path / "out", tmp_path / "jobs.jsonl"
    env = local_env(DYNBENCH_HOME=str(ROOT), MODEL="baseline", DATA=str(data), OUT=str(out),
                    SHARDS="3", EXTRA_ARGS="--task cameraqa -p no:cacheprovider",
                    PYTHON=sys.executable, FAKE_SLURM_LOG=str(log),
                    FAKE_GPUS_ON_NODE="0,1,0")  # -n 1 (xdist) on task 1; -n 0 keeps it quick
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    proc = subprocess.run(["bash", str(SLURM / "submit.sh")], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    array, merge = [json.loads(x) for x in log.read_text().splitlines()]
    assert array["opts"]["array"] == "0-2" and array["codes"] == [0, 0, 0]
    assert merge["opts"]["dependency"] == f"afterany:{array['id']}" and merge["codes"] == [0]
    task_log = (tmp_path / f"slurm-{array['id']}_1.out").read_text()
    assert "shard 1/3 (Slurm job array: SLURM_ARRAY_TASK_ID=1, SLURM_ARRAY_TASK_COUNT=3)" in \
        task_log
    assert "created: 1/1 worker" in task_log  # -n = the node's GPUs
    assert "created:" not in (tmp_path / f"slurm-{array['id']}_0.out").read_text()
    summary = merged(out)
    shards = json.loads((out / "shards" / "0" / "shard.json").read_text())
    assert summary["counts"]["cases"] == shards["selected_cases"] > 0
    assert summary["merge"]["missing"] == [] and summary["counts"]["errors"] == 0
    assert set(summary["tasks"]) == {"cameraqa"}
    assert any((out / "resume").rglob("*.jsonl"))  # the shared resume cache was used
    assert f"{out}/merged" in proc.stdout
    first = (out / "merged" / "samples.jsonl").read_text()

    # a lost shard: it shows as not run, and resubmitting its task alone restores it
    shutil.rmtree(out / "shards" / "1")
    rerun = [str(SLURM / "dynbench-merge.sbatch")]
    subprocess.run(["sbatch", *rerun], cwd=tmp_path, env=env, check=True)
    lost = merged(out)
    assert lost["merge"]["missing"] == [1] and json.loads(log.read_text().splitlines()[-1])[
        "codes"] == [1]
    subprocess.run(["sbatch", "--array=1", str(SLURM / "dynbench-array.sbatch")], cwd=tmp_path,
                   env={**env, "FAKE_GPUS_ON_NODE": "0"}, check=True, capture_output=True)
    task = json.loads(log.read_text().splitlines()[-1])
    assert task["codes"] == [0]
    assert "SLURM_ARRAY_TASK_ID=1 as the index (the array has 1 task(s), not 3)" in (
        tmp_path / f"slurm-{task['id']}_1.out").read_text()
    subprocess.run(["sbatch", *rerun], cwd=tmp_path, env=env, check=True)
    again = (out / "merged" / "samples.jsonl").read_text()
    assert '"resumed": true' in again  # the resubmitted task reused the shared cache
    assert computed(again) == computed(first)
    assert merged(out)["merge"]["missing"] == [] and merged(out)["counts"]["errors"] == 0


def test_kubernetes_example_runs_its_commands(data, tmp_path):
    jobs = manifests()
    out = tmp_path / "out"
    overrides = {"DYNBENCH_HOME": str(ROOT), "MODEL": "baseline", "DATA": str(data),
                 "OUT": str(out), "SHARDS": "3", "GPUS": "0",
                 "EXTRA_ARGS": "--task cameraqa -p no:cacheprovider"}
    shards, merge = jobs["dynbench-shards"], jobs["dynbench-merge"]
    for index in range(3):
        env = local_env(**{**env_of(shards), **overrides, "HF_HOME": str(tmp_path / "hf"),
                           "JOB_COMPLETION_INDEX": str(index)})
        proc = subprocess.run([*container(shards)["command"], container(shards)["args"][0]],
                              env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"shard {index}/3 (Kubernetes Indexed Job: JOB_COMPLETION_INDEX={index}" in \
            proc.stdout
    env = local_env(**{**env_of(merge), "OUT": str(out)})
    proc = subprocess.run([*container(merge)["command"], container(merge)["args"][0]], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "merged 3 of 3 shards" in proc.stdout and merged(out)["counts"]["errors"] == 0
