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

from dynbench import safefs
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
        raise DataError(_not_a_dataset(root))
    return root


def _not_a_dataset(root: Path) -> str:
    """What to do with a folder that is not (yet) a dataset: a hub snapshot still holding
    its archives, a hub cache folder, a parent folder, or something else."""
    if not root.is_dir():
        return f"{root}: no such folder (expected a Dyn-Bench dataset: frames/ masks/ multi_json/)"
    snapshots = sorted(root.glob("snapshots/*/"))
    if snapshots:
        root = snapshots[-1]
    archives = sorted(p.name for p in root.glob("*.zip"))
    if archives:
        return (f"{root} holds the published archives ({', '.join(archives)}) but they are not "
                f"unpacked; run `dynbench download --dataset {root} --local-dir {root}` "
                "(unpacks safely, then checks the data) and pass the folder it prints")
    inner = sorted(p.parent.parent for p in root.glob("*/multi_json/"))
    if inner:
        return f"{root} is not a Dyn-Bench dataset, but {inner[0]} is: use --data-dir {inner[0]}"
    return (f"{root} is not a Dyn-Bench dataset: it has no multi_json/ folder (expected "
            "frames/, masks/, multi_json/; see README 'Data layout'; `dynbench download "
            "--dataset` fetches the published data)")


def split_stem(stem: str) -> tuple[str, str]:
    """``street_cross_02_cameraqa`` -> (``street_cross_02``, ``cameraqa``): the last '_'."""
    scene, sep, task = stem.rpartition("_")
    return (scene, task) if sep and scene else (stem, "")


@dataclass(frozen=True)
class TaskFile:
    """One task JSON under ``multi_json/<source>/``, or a listing problem found there."""

    source: str
    name: str
    path: str | Path
    problem: str | None = None


def iter_task_files(root: Path) -> Iterator[TaskFile]:
    """Every task JSON, skipping frame-sampling files, ordered by (source, scene, task) so
    that all cases of a video are adjacent (frames decode once). Entries that cannot be
    listed or read come back with a ``problem`` instead of stopping the walk."""
    base = root / "multi_json"
    try:
        sources = sorted(os.scandir(base), key=lambda e: e.name)
    except OSError as exc:
        yield TaskFile("multi_json", "-", base, f"multi_json/: cannot be listed ({exc.strerror})")
        return
    for entry in sources:
        if not entry.is_symlink() and not entry.is_dir(follow_symlinks=False):
            continue  # stray files beside the source folders are not tasks
        rel = f"multi_json/{safefs.printable(entry.name)}"
        problem = safefs.name_problem(entry.name) or safefs.kind_problem(
            Path(entry.path), root, rel, "dir", entry)
        if problem:
            yield TaskFile(safefs.printable(entry.name), "-", Path(entry.path), problem)
            continue
        yield from _source_files(root, entry.name, Path(entry.path))


def _source_files(root: Path, source: str, folder: Path) -> Iterator[TaskFile]:
    try:
        entries = [e for e in os.scandir(folder) if e.name.lower().endswith(".json")
                   and SKIP_MARKER not in e.name]
    except OSError as exc:
        yield TaskFile(source, "-", folder, f"multi_json/{source}/: cannot be listed "
                       f"({exc.strerror})")
        return
    for entry in sorted(entries, key=lambda e: split_stem(e.name[:-len(".json")])):
        rel = f"multi_json/{source}/{safefs.printable(entry.name)}"
        problem = safefs.name_problem(entry.name) or safefs.kind_problem(
            entry.path, root, rel, "file", entry)
        yield TaskFile(source, safefs.printable(entry.name), entry.path, problem)


def read_dataset(root: Path) -> Dataset:
    dataset = Dataset(root)
    seen: set[str] = set()
    for item in iter_task_files(root):
        for case in _cases_of_item(root, item):
            dataset.cases.append(_unique(case, seen))
    return dataset


def _cases_of_item(root: Path, item: TaskFile) -> list[Case]:
    """The file's cases; any failure at all becomes the file's failing case."""
    scene, task = split_stem(item.name[:-len(".json")]) if item.name.endswith(".json") \
        else (item.name, "")
    base = {"task": task, "source": item.source, "scene": scene,
            "json_path": f"multi_json/{item.source}/{item.name}"}
    if item.problem:
        return [_file_problem(base, task if task in TASKS else "data", item.problem)]
    try:
        return _file_cases(base, item.path)
    except Exception as exc:  # noqa: BLE001 - one hostile file must never stop collection
        return [_file_problem(base, task if task in TASKS else "data",
                              f"{base['json_path']}: cannot be read ({type(exc).__name__}: "
                              f"{str(exc)[:200]})")]


def free_id(case_id: str, seen: set[str]) -> str:
    """``case_id``, or the first free ``case_id~2``, ``~3``, ...; added to ``seen``."""
    new_id, k = case_id, 2
    while new_id in seen:
        new_id, k = f"{case_id}~{k}", k + 1
    seen.add(new_id)
    return new_id


def _unique(case: Case, seen: set[str]) -> Case:
    """Case ids are a contract; a clash is a data defect, reported on the later case."""
    new_id = free_id(case.id, seen)
    if new_id == case.id:
        return case
    problem = case.problem or (f"{case.json_path}: duplicate case id {case.id!r}; object "
                               "numbers must be unique within a file")
    return replace(case, id=new_id, problem=problem)


def cases_of_file(root: Path, source: str, path: Path) -> list[Case]:
    scene, task = split_stem(path.stem)
    rel = path.relative_to(root).as_posix()
    return _file_cases({"task": task, "source": source, "scene": scene, "json_path": rel}, path)


def _file_cases(base: dict, path: str | Path) -> list[Case]:
    task, rel = base["task"], base["json_path"]
    if task not in TASKS:
        return [_file_problem(base, "data", f"{rel}: unknown task suffix {task!r} (expected one "
                              f"of {', '.join(TASKS)}); rename or remove the file")]
    try:
        payload = load_json(path, rel)
    except DataError as exc:
        return [_file_problem(base, task, f"{rel}: {exc}")]
    reader = _qa_cases if TASKS[task].kind == "qa" else _mask_cases
    return reader(base, payload)


def _file_problem(base: dict, task: str, message: str) -> Case:
    return Case(**{**base, "task": task}, id=f"{task}/{base['source']}/{base['scene']}/file",
                problem=message)


MAX_JSON_BYTES = 64 << 20  # no Dyn-Bench task file comes near this


def load_json(path: Path, rel: str):
    """A JSON file's content (UTF-8, a BOM tolerated); DataError says why not."""
    try:
        data = safefs.read_capped(path, MAX_JSON_BYTES, rel)
    except OSError as exc:
        raise DataError(f"cannot be read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise DataError(str(exc).removeprefix(f"{rel}: ")) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"is not UTF-8 text (byte {exc.start}: {data[exc.start:exc.start + 1]!r}"
                        "); re-save it as UTF-8") from None
    if not text.strip():
        raise DataError("is empty; regenerate or remove it")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"malformed JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
                        "fix or remove the file") from None
    except RecursionError:
        raise DataError("nests JSON too deeply to be a Dyn-Bench file") from None
    except ValueError as exc:  # e.g. an integer with thousands of digits
        raise DataError(f"holds a value that cannot be read ({str(exc)[:120]})") from None


def _qa_cases(base: dict, payload) -> list[Case]:
    if not isinstance(payload, list):
        return [_file_problem(base, base["task"], f"{base['json_path']}: a QA file must hold a "
                              f"JSON list of questions, found {type(payload).__name__}")]
    if not payload:
        return [_file_problem(base, base["task"], f"{base['json_path']}: holds no questions")]
    prefix = f"{base['task']}/{base['source']}/{base['scene']}/q"
    return [Case(**base, id=f"{prefix}{i}", index=i, **_guarded_qa_fields(base, i, item))
            for i, item in enumerate(payload)]


def _guarded_qa_fields(base: dict, i: int, item) -> dict:
    try:
        return _qa_fields(base, i, item)
    except Exception as exc:  # noqa: BLE001 - one odd question never costs the others
        return {"problem": f"{base['json_path']} question {i}: cannot be read "
                           f"({type(exc).__name__}: {str(exc)[:120]})"}


def _qa_fields(base: dict, i: int, item) -> dict:
    """question, options, truth, or the problem that stops the case."""
    where = f"{base['json_path']} question {i}"
    if not isinstance(item, dict):
        return {"problem": f"{where}: expected an object, found {type(item).__name__}"}
    question, options, answer = item.get("question"), item.get("options"), item.get("answer")
    if not isinstance(question, str) or not question.strip():
        return {"problem": f"{where}: missing 'question' text"}
    if not isinstance(options, list) or len(options) < 2 or not all(
            isinstance(o, str) for o in options):
        return {"question": question,
                "problem": f"{where}: 'options' must be a list of at least 2 strings"}
    if any(safefs.has_bad_bytes(t) for t in (question, *options)):
        return {"problem": f"{where}: holds a lone surrogate escape (e.g. \\ud800), which "
                           "is not text; fix the string"}
    try:
        parsed = parse_options(options)
    except ValueError as exc:
        return {"question": question, "problem": f"{where}: {exc}"}
    letters = [o.letter for o in parsed]
    truth = _truth_letter(answer)
    if truth not in letters:
        return {"question": question, "options": parsed,
                "problem": f"{where}: answer {_short(answer)} is not among the option letters "
                           f"{', '.join(letters)}"}
    return {"question": question, "options": parsed, "truth": truth}


def _short(value) -> str:
    text = repr(value) if isinstance(value, str | int | float | bool | type(None)) \
        else type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


ANSWER_LETTER = re.compile(r"^\(?([A-Za-z])\)?(?:[.):]\s*.*)?$", re.DOTALL)


def _truth_letter(answer) -> str | None:
    """The ground-truth letter from "B", "b", "(B)", "B." or "B. the option text"."""
    if not isinstance(answer, str):
        return None
    m = ANSWER_LETTER.match(answer.strip())
    return m.group(1).upper() if m else None


OBJ_NUMBER = re.compile(r"(\d+)$")
MAX_NUMBER_DIGITS = 18  # object and frame numbers longer than this are not numbers


def _mask_cases(base: dict, payload) -> list[Case]:
    if not isinstance(payload, dict):
        return [_file_problem(base, base["task"], f"{base['json_path']}: a mask file must hold "
                              "a JSON object of {obj_id: {question, ...}}, found "
                              f"{type(payload).__name__}")]
    if not payload:
        return [_file_problem(base, base["task"], f"{base['json_path']}: holds no objects")]
    return [_mask_case(base, i, str(key), item) for i, (key, item) in enumerate(payload.items())]


def number_text(digits: str) -> str:
    """A decimal number as canonical text (``0007`` -> ``7``) without converting it to int,
    so a key with thousands of digits is a readable defect, not a crash."""
    return digits.lstrip("0") or "0"


def _mask_case(base: dict, position: int, obj_id: str, item) -> Case:
    where = f"{base['json_path']} object {_short(obj_id)}"
    number = OBJ_NUMBER.search(obj_id.rpartition("_")[2])
    prefix = f"{base['task']}/{base['source']}/{base['scene']}/"
    digits = number_text(number.group(1)) if number else ""
    if safefs.has_bad_bytes(obj_id) or len(digits) > MAX_NUMBER_DIGITS or (
            not number and len(obj_id) > 64):
        detail = f"its number has {len(digits)} digits" if len(digits) > MAX_NUMBER_DIGITS \
            else "too long or not text"
        return Case(**base, id=f"{prefix}key{position}", problem=f"{where}: unusable object "
                    f"key ({detail}); expected e.g. 'obj_3'")
    obj = digits or obj_id
    case_id = f"{prefix}obj{obj}"
    question = item.get("question") if isinstance(item, dict) else None
    if not number:
        problem = (f"{where}: cannot read an object number after the last '_' of the key "
                   "(expected e.g. 'obj_3')")
    elif not isinstance(question, str) or not question.strip():
        problem = f"{where}: missing 'question' text"
    elif safefs.has_bad_bytes(question):
        problem = f"{where}: 'question' holds a lone surrogate escape, which is not text"
    else:
        return Case(**base, id=case_id, obj=obj, question=question)
    return Case(**base, id=case_id, obj=obj, problem=problem)
