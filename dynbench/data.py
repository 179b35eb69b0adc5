"""Read a Dyn-Bench dataset folder (``frames/``, ``masks/``, ``multi_json/``) into cases.

Collection reads JSON only and never decodes an image, so building ten thousand cases stays
fast. Every problem found in a file becomes a *problem* attached to the affected case (or to
a file-level case when no case can be built), so one bad file never stops collection.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from dynbench.answers import Option, build_qa_prompt, parse_options
from dynbench.tasks import TASKS

DATA_ENV = "DYNBENCH_DATA"
SAMPLE_DATA = Path(__file__).parent / "sample_data"
SKIP_MARKER = "frame_sampling"
MASK_PROMPT = "{expression}"  # the bare question, as the official code sends it


class DataError(Exception):
    """A defect in the dataset; the message names the file and what to do."""


@dataclass(frozen=True)
class Case:
    """One benchmark case. ``truth`` is the ground-truth letter (QA) and never reaches a model."""

    id: str
    task: str
    source: str
    scene: str
    json_path: str  # relative to the data root
    index: int | None = None  # QA: position in the QA list
    obj: str | None = None  # mask: object number naming the mask files
    question: str = ""
    options: tuple[Option, ...] = ()
    truth: str | None = None
    problem: str | None = None  # a data defect found while reading; the case fails with it

    @property
    def kind(self) -> str:
        return TASKS[self.task].kind if self.task in TASKS else "data"

    @property
    def dimension(self) -> str | None:
        return TASKS[self.task].dimension if self.task in TASKS else None

    @property
    def scene_key(self) -> str:
        return f"{self.source}/{self.scene}"

    @property
    def prompt(self) -> str:
        if self.kind == "qa":
            return build_qa_prompt(self.question, self.options)
        return MASK_PROMPT.format(expression=self.question)


@dataclass
class Dataset:
    root: Path
    cases: list[Case] = field(default_factory=list)

    def by_kind(self, kind: str) -> list[Case]:
        return [c for c in self.cases if c.kind == kind]


def resolve_root(value: str | os.PathLike | None) -> Path:
    """``--data-dir``, else ``$DYNBENCH_DATA``, else the bundled sample data."""
    text = value or os.environ.get(DATA_ENV)
    root = Path(text).expanduser() if text else SAMPLE_DATA
    if not (root / "multi_json").is_dir():
        raise DataError(f"{root} is not a Dyn-Bench dataset: it has no multi_json/ folder "
                        "(expected frames/, masks/, multi_json/; see README 'Data layout')")
    return root


def split_stem(stem: str) -> tuple[str, str]:
    """``street_cross_02_cameraqa`` -> (``street_cross_02``, ``cameraqa``): the last '_'."""
    scene, sep, task = stem.rpartition("_")
    return (scene, task) if sep and scene else (stem, "")


def iter_task_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(source, path) of every task JSON, skipping frame-sampling files, ordered by
    (scene, task) so that all cases of a video are adjacent (frames decode once)."""
    base = root / "multi_json"
    for source in sorted(p.name for p in os.scandir(base) if p.is_dir()):
        names = [e.name for e in os.scandir(base / source)
                 if e.name.endswith(".json") and SKIP_MARKER not in e.name]
        for name in sorted(names, key=lambda n: split_stem(n[:-len(".json")])):
            yield source, base / source / name


def read_dataset(root: Path) -> Dataset:
    dataset = Dataset(root)
    seen: set[str] = set()
    for source, path in iter_task_files(root):
        for case in cases_of_file(root, source, path):
            dataset.cases.append(_unique(case, seen))
    return dataset


def _unique(case: Case, seen: set[str]) -> Case:
    """Case ids are a contract; a clash is a data defect, reported on the later case."""
    if case.id not in seen:
        seen.add(case.id)
        return case
    k = 2
    while f"{case.id}~{k}" in seen:
        k += 1
    new_id = f"{case.id}~{k}"
    seen.add(new_id)
    return replace(case, id=new_id, problem=f"{case.json_path}: duplicate case id "
                   f"{case.id!r}; object numbers must be unique within a file")


def cases_of_file(root: Path, source: str, path: Path) -> list[Case]:
    scene, task = split_stem(path.stem)
    rel = path.relative_to(root).as_posix()
    base = {"task": task, "source": source, "scene": scene, "json_path": rel}
    if task not in TASKS:
        return [_file_problem(base, "data", f"{rel}: unknown task suffix {task!r} (expected one "
                              f"of {', '.join(TASKS)}); rename or remove the file")]
    try:
        payload = _load_json(path)
    except DataError as exc:
        return [_file_problem(base, task, f"{rel}: {exc}")]
    reader = _qa_cases if TASKS[task].kind == "qa" else _mask_cases
    return reader(base, payload)


def _file_problem(base: dict, task: str, message: str) -> Case:
    return Case(**{**base, "task": task}, id=f"{task}/{base['source']}/{base['scene']}/file",
                problem=message)


def _load_json(path: Path):
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot be read ({exc})") from None
    if not text.strip():
        raise DataError("is empty; regenerate or remove it")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"malformed JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
                        "fix or remove the file") from None


def _qa_cases(base: dict, payload) -> list[Case]:
    if not isinstance(payload, list):
        return [_file_problem(base, base["task"], f"{base['json_path']}: a QA file must hold a "
                              f"JSON list of questions, found {type(payload).__name__}")]
    if not payload:
        return [_file_problem(base, base["task"], f"{base['json_path']}: holds no questions")]
    prefix = f"{base['task']}/{base['source']}/{base['scene']}/q"
    return [Case(**base, id=f"{prefix}{i}", index=i, **_qa_fields(base, i, item))
            for i, item in enumerate(payload)]


def _qa_fields(base: dict, i: int, item) -> dict:
    """question, options, truth, or the problem that stops the case."""
    where = f"{base['json_path']} question {i}"
    if not isinstance(item, dict):
        return {"problem": f"{where}: expected an object, found {item!r:.60}"}
    question, options, answer = item.get("question"), item.get("options"), item.get("answer")
    if not isinstance(question, str) or not question.strip():
        return {"problem": f"{where}: missing 'question' text"}
    if not isinstance(options, list) or len(options) < 2 or not all(
            isinstance(o, str) for o in options):
        return {"question": question,
                "problem": f"{where}: 'options' must be a list of at least 2 strings"}
    try:
        parsed = parse_options(options)
    except ValueError as exc:
        return {"question": question, "problem": f"{where}: {exc}"}
    letters = [o.letter for o in parsed]
    truth = _truth_letter(answer)
    if truth not in letters:
        return {"question": question, "options": parsed,
                "problem": f"{where}: answer {answer!r} is not among the option letters "
                           f"{', '.join(letters)}"}
    return {"question": question, "options": parsed, "truth": truth}


ANSWER_LETTER = re.compile(r"^\(?([A-Za-z])\)?(?:[.):]\s*.*)?$", re.DOTALL)


def _truth_letter(answer) -> str | None:
    """The ground-truth letter from "B", "b", "(B)", "B." or "B. the option text"."""
    if not isinstance(answer, str):
        return None
    m = ANSWER_LETTER.match(answer.strip())
    return m.group(1).upper() if m else None


OBJ_NUMBER = re.compile(r"(\d+)$")


def _mask_cases(base: dict, payload) -> list[Case]:
    if not isinstance(payload, dict):
        return [_file_problem(base, base["task"], f"{base['json_path']}: a mask file must hold "
                              "a JSON object of {obj_id: {question, ...}}, found "
                              f"{type(payload).__name__}")]
    if not payload:
        return [_file_problem(base, base["task"], f"{base['json_path']}: holds no objects")]
    return [_mask_case(base, str(key), item) for key, item in payload.items()]


def _mask_case(base: dict, obj_id: str, item) -> Case:
    number = OBJ_NUMBER.search(obj_id.rpartition("_")[2])
    obj = str(int(number.group(1))) if number else obj_id
    case_id = f"{base['task']}/{base['source']}/{base['scene']}/obj{obj}"
    where = f"{base['json_path']} object {obj_id!r}"
    question = item.get("question") if isinstance(item, dict) else None
    if not number:
        problem = (f"{where}: cannot read an object number after the last '_' of the key "
                   "(expected e.g. 'obj_3')")
    elif not isinstance(question, str) or not question.strip():
        problem = f"{where}: missing 'question' text"
    else:
        return Case(**base, id=case_id, obj=obj, question=question)
    return Case(**base, id=case_id, obj=obj, problem=problem)
