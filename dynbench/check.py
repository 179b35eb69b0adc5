"""``dynbench check``: every data problem of a dataset, without loading a model.

It walks the same reading code the benchmark uses, case by case, so what it reports is
exactly what would make cases fail in a run (*errors*), and every place where the run reads
the data by a fallback rule that it notes in the case's record (*notes*: mask numbering,
``.png`` over ``.jpg``, frames of mixed sizes, JPEG masks, unnumbered frames). When the
folder also holds the published parquet tables, they are cross-checked against
``multi_json/`` (notes: the run reads ``multi_json/``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dynbench.data import Case, DataError, read_dataset
from dynbench.media import decode_image, frame_notes, list_frames, load_truth_masks, truth_notes

ERROR, NOTE = "error", "note"


@dataclass(frozen=True)
class Problem:
    where: str  # case id, or a table / folder name
    message: str
    severity: str = ERROR


def check_dataset(root: Path, tables: bool = True) -> tuple[int, list[Problem]]:
    """(number of cases, findings) of the dataset at ``root``: one finding per affected case."""
    cases = read_dataset(root).cases
    problems = [Problem(c.id, c.problem) for c in cases if c.problem]
    scenes: dict[str, list[Case]] = {}
    for case in cases:
        if not case.problem:
            scenes.setdefault(case.scene_key, []).append(case)
    for scene_cases in scenes.values():
        problems.extend(_check_scene(root, scene_cases))
    if tables:
        from dynbench.published import cross_check

        problems.extend(Problem(where, message, NOTE) for where, message in
                        cross_check(root, cases))
    return len(cases), problems


def _check_scene(root: Path, cases: list[Case]) -> Iterator[Problem]:
    first = cases[0]
    try:
        frames = list_frames(root, first.source, first.scene)
        sizes = [decode_image(path, root, "RGB").size for path in frames.paths]
        notes = frame_notes(root, first.source, first.scene, sizes)
    except DataError as exc:
        yield from (Problem(c.id, str(exc)) for c in cases)
        return
    for case in cases:
        yield from (Problem(case.id, note, NOTE) for note in notes)
        if case.kind != "mask":
            continue
        try:
            load_truth_masks(root, case.source, case.scene, case.obj, list(frames.paths), sizes)
        except DataError as exc:
            yield Problem(case.id, str(exc))
            continue
        yield from (Problem(case.id, note, NOTE) for note in
                    truth_notes(root, case.source, case.scene, case.obj))


def grouped(problems: list[Problem]) -> list[tuple[str, str, list[str]]]:
    """(severity, message, places) with one entry per distinct message, in first-seen order."""
    groups: dict[tuple[str, str], list[str]] = {}
    for p in problems:
        groups.setdefault((p.severity, p.message), []).append(p.where)
    return [(sev, msg, where) for (sev, msg), where in groups.items()]


def render(problems: list[Problem]) -> list[str]:
    lines = []
    for severity, message, where in grouped(problems):
        more = f" (+{len(where) - 1} more case(s))" if len(where) > 1 else ""
        lines.append(f"{severity}: {where[0]}{more}: {message}")
    return lines


def main(root: Path) -> int:
    try:
        n, problems = check_dataset(root)
    except DataError as exc:
        print(f"error: {exc}")
        return 2
    for line in render(problems):
        print(line)
    errors = sum(p.severity == ERROR for p in problems)
    failing = len({p.where for p in problems if p.severity == ERROR})
    notes = len({p.where for p in problems if p.severity == NOTE})
    print(f"{n} cases checked in {root}: {errors} problem(s) failing {failing} case(s); "
          f"{notes} case(s) or table(s) with notes")
    return 1 if errors else 0
