"""``dynbench check``: every data problem of a dataset, without loading a model.

It walks the same reading code the benchmark uses, so what it reports is exactly what
would make cases fail in a run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dynbench.data import Case, DataError, read_dataset
from dynbench.media import decode_image, list_frames, load_truth_masks


@dataclass(frozen=True)
class Problem:
    where: str  # case id or scene key
    message: str


def check_dataset(root: Path) -> tuple[int, list[Problem]]:
    """(number of cases, problems) of the dataset at ``root``."""
    cases = read_dataset(root).cases
    problems = [Problem(c.id, c.problem) for c in cases if c.problem]
    scenes: dict[str, list[Case]] = {}
    for case in cases:
        if not case.problem:
            scenes.setdefault(case.scene_key, []).append(case)
    for key, scene_cases in scenes.items():
        problems.extend(_check_scene(root, key, scene_cases))
    return len(cases), problems


def _check_scene(root: Path, key: str, cases: list[Case]) -> Iterator[Problem]:
    first = cases[0]
    try:
        frames = list_frames(root, first.source, first.scene)
    except DataError as exc:
        yield Problem(key, str(exc))
        return
    sizes, broken = [], False
    for path in frames.paths:
        try:
            sizes.append(decode_image(path, root, "RGB").size)
        except DataError as exc:
            broken = True
            yield Problem(key, str(exc))
    if broken:
        return
    for case in cases:
        if case.kind == "mask":
            try:
                load_truth_masks(root, case.source, case.scene, case.obj, list(frames.paths),
                                 sizes)
            except DataError as exc:
                yield Problem(case.id, str(exc))


def main(root: Path) -> int:
    try:
        n, problems = check_dataset(root)
    except DataError as exc:
        print(f"error: {exc}")
        return 2
    for p in problems:
        print(f"{p.where}: {p.message}")
    print(f"{n} cases checked, {len(problems)} problem(s) in {root}")
    return 1 if problems else 0
