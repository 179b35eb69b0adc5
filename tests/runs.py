"""Real benchmark runs for the gate and recompute tests: a generated dataset, saved
predictions with controlled changes (wrong answers, empty or shifted masks, missing
outputs), and pytest runs over them."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from dynbench import synth
from dynbench.data import read_dataset
from dynbench.media import list_frames, load_truth_masks

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class World:
    """A generated dataset, its cases by task and by video, and a baseline run."""

    tmp: Path
    data: Path
    base: Path
    ids: dict[str, list[str]] = field(default_factory=dict)  # task -> case ids, data order
    videos: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # task -> video -> ids

    def first_of_videos(self, task: str, videos: range | list[int]) -> list[str]:
        """The first case of each of these videos (by position in the task's video list)."""
        names = list(self.videos[task])
        return [self.videos[task][names[i]][0] for i in videos]

    def all_of_videos(self, task: str, videos: range | list[int]) -> list[str]:
        names = list(self.videos[task])
        return [i for v in videos for i in self.videos[task][names[v]]]


def make_world(tmp: Path, scenes: int, baseline_wrong: int = 3) -> World:
    data = tmp / "data"
    synth.generate(data, seed=3, scenes=scenes, quirks=False)
    world = World(tmp, data, tmp / "base")
    for case in read_dataset(data).cases:
        world.ids.setdefault(case.task, []).append(case.id)
        world.videos.setdefault(case.task, {}).setdefault(case.scene_key, []).append(case.id)
    write_predictions(data, tmp / "p0", wrong=world.first_of_videos("cameraqa",
                                                                    range(baseline_wrong)))
    proc = run_bench(data, tmp / "p0", world.base)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return world


def run_bench(data: Path, pred: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--data-dir", str(data), "--predictions", str(pred),
                           "--report-dir", str(out), *args],
                          cwd=ROOT, capture_output=True, text=True)


def write_predictions(data: Path, pred: Path, wrong=(), empty=(), missing=(),
                      shift: dict[str, int] | None = None) -> None:
    """The true letter (another option's for ``wrong``) and ground-truth masks (empty for
    ``empty``, rolled right by ``shift[id]`` pixels); ``missing`` outputs are left out (those
    cases error)."""
    wrong, empty, missing, shift = set(wrong), set(empty), set(missing), shift or {}
    lines = []
    for case in read_dataset(data).cases:
        if case.id in missing:
            continue
        if case.kind == "qa":
            letter = case.truth if case.id not in wrong else next(
                o.letter for o in case.options if o.letter != case.truth)
            lines.append(json.dumps({"id": case.id, "output": letter}))
        else:
            _write_masks(data, pred / "masks" / case.id, case, case.id in empty,
                         shift.get(case.id, 0))
    pred.mkdir(parents=True, exist_ok=True)
    (pred / "answers.jsonl").write_text("\n".join(lines) + "\n")


def _write_masks(data: Path, folder: Path, case, empty: bool, shift: int) -> None:
    frames = list_frames(data, case.source, case.scene)
    sizes = [Image.open(p).size for p in frames.paths]
    truth = load_truth_masks(data, case.source, case.scene, case.obj, list(frames.paths), sizes)
    folder.mkdir(parents=True, exist_ok=True)
    for index, mask in zip(frames.indices, truth, strict=True):
        mask = np.zeros_like(mask) if empty else np.roll(mask, shift, axis=1)
        Image.fromarray(mask.astype(np.uint8) * 255).save(folder / f"frame_{index:04d}.png")


def read_report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())["dynbench"]
