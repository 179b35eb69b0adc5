"""An independent, literal statement of the official evaluation rules (Thinking-in-Dynamics
``eval.py`` + ``utils/``), written from their definitions for the suite's tests.

It shares no code with ``dynbench.reference``: plain loops, full-frame scipy morphology, no
caching. Given a dataset folder and a ``--predictions`` folder it returns what the official
code would compute if a model had produced exactly those outputs: per case id the QA accuracy
or J, F, J&F, and per task the score in percent. An entry the official code would crash on
(a QA entry that is not an object, ...) has no official number: ``CrashingData`` is raised.
"""

from __future__ import annotations

import glob
import json
import re
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

SUFFIXES = ("cameraqa", "cameramask", "qa", "objmask", "sceneqa", "scenemask")
MASK_SUFFIXES = ("cameramask", "objmask", "scenemask")
INSTRUCTION = "Answer with the option's letter from the given choices directly."


class CrashingData(Exception):
    """The official code would stop the whole evaluation on this dataset."""


class ModelFailure(Exception):
    """What makes the official per-task ``try`` score 0 (a model or scoring exception)."""


# --------------------------------------------------------------------------- discovery


def list_tasks(root: Path) -> list[dict]:
    tasks = []
    multi = root / "multi_json"
    for source_dir in sorted(multi.iterdir()):
        if not source_dir.is_dir():
            continue
        for json_file in sorted(source_dir.glob("*.json")):
            if "frame_sampling" in json_file.name:
                continue
            pieces = json_file.stem.rsplit("_", 1)
            if len(pieces) != 2 or pieces[1] not in SUFFIXES:
                continue
            scene, suffix = pieces
            frames_dir = root / "frames" / source_dir.name / scene
            if not frames_dir.exists():
                continue
            frames = []
            for pattern in ("frame_*.jpg", "frame_*.png", "*.jpg", "*.png"):
                frames = sorted(glob.glob(str(frames_dir / pattern)))
                if frames:
                    break
            if not frames:
                continue
            try:
                with open(json_file, encoding="utf-8") as f:
                    data = json.load(f)
            except Exception:  # noqa: BLE001
                continue
            common = {"source": source_dir.name, "scene": scene, "task": suffix,
                      "frames": frames, "mask_dir": root / "masks" / source_dir.name / scene}
            if suffix in MASK_SUFFIXES:
                if not isinstance(data, dict):
                    raise CrashingData(json_file)
                for key, obj in data.items():
                    if not isinstance(obj, dict):
                        raise CrashingData(json_file)
                    tasks.append({**common, "kind": "mask", "key": key,
                                  "question": obj.get("question", "")})
            else:
                if not isinstance(data, (list, dict, str)):
                    raise CrashingData(json_file)
                for i, item in enumerate(data):
                    if not isinstance(item, dict):
                        raise CrashingData(json_file)
                    tasks.append({**common, "kind": "qa", "index": i,
                                  "question": item.get("question", ""),
                                  "options": item.get("options", []),
                                  "answer": item.get("answer", "")})
    return with_ids(tasks)


def with_ids(tasks: list[dict]) -> list[dict]:
    """The suite's case-id contract: q<i>, obj<N> (N the key's trailing number), ~k on
    clashes. Each task needs task, source, scene, kind and index (qa) or key (mask)."""
    seen: set[str] = set()
    for t in tasks:
        if t["kind"] == "qa":
            name = f"q{t['index']}"
        else:
            m = re.search(r"(\d+)$", t["key"].rpartition("_")[2])
            name = f"obj{int(m.group(1))}" if m else f"obj{t['key']}"
        case_id = f"{t['task']}/{t['source']}/{t['scene']}/{name}"
        if case_id in seen:
            k = 2
            while f"{case_id}~{k}" in seen:
                k += 1
            case_id = f"{case_id}~{k}"
        seen.add(case_id)
        t["id"] = case_id
    return tasks


def qa_prompt(question, options):
    if options:
        return f"{question}\n" + "\n".join(options) + "\n" + INSTRUCTION
    return question


# --------------------------------------------------------------------------- predictions


def frame_numbers(frames: list[str]) -> list[int]:
    names = [Path(f).name for f in frames]
    numbers = []
    for n in names:
        m = re.fullmatch(r"frame_(\d+)\.(jpg|png)", n)
        numbers.append(int(m.group(1)) if m else None)
    if None in numbers or len(set(numbers)) != len(numbers):
        return list(range(len(frames)))
    return numbers


def read_predicted_masks(folder: Path, frames: list[str]) -> list[np.ndarray]:
    if not folder.is_dir():
        raise ModelFailure("no prediction folder")
    files = [folder / f"frame_{n:04d}.png" for n in frame_numbers(frames)]
    masks = []
    for i, f in enumerate(files):
        if not f.is_file():
            if any(g.is_file() for g in files[i:]):
                raise ModelFailure("gap")
            break
        try:
            masks.append(np.array(Image.open(f).convert("L")))
        except Exception as exc:  # noqa: BLE001
            raise ModelFailure("undecodable") from exc
    if not masks and any(folder.iterdir()):
        raise ModelFailure("files for other frames only")
    return masks


def open_frames(frames: list[str]) -> None:
    """The model call opens every frame; one that cannot be opened fails the task."""
    for f in frames:
        try:
            Image.open(f).convert("RGB")
        except Exception as exc:  # noqa: BLE001
            raise ModelFailure(f) from exc


# --------------------------------------------------------------------------- scoring


def first_token(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    return text.split()[0].rstrip(".,;:!?").upper()


def ground_truth(mask_dir: Path, key: str, n: int) -> list[np.ndarray]:
    suffix = "obj" + key.split("_")[-1]
    out: list[np.ndarray] = []
    for i in range(n):
        found = None
        for ext in ("png", "jpg"):
            candidate = mask_dir / f"frame_{i:04d}_{suffix}.{ext}"
            if candidate.exists():
                found = candidate
                break
        mask = None
        if found is not None:
            try:
                mask = np.array(Image.open(found).convert("L"))
            except Exception:  # noqa: BLE001
                mask = None
        if mask is None:
            mask = np.zeros_like(out[-1]) if out else np.zeros((480, 640), dtype=np.uint8)
        out.append(mask)
    return out


def iou(p: np.ndarray, g: np.ndarray) -> float:
    union = np.logical_or(p, g).sum()
    inter = np.logical_and(p, g).sum()
    if union == 0:
        return 1.0 if inter == 0 else 0.0
    return inter / union


def boundary_f(p: np.ndarray, g: np.ndarray) -> float:
    pb = p ^ ndimage.binary_erosion(p, iterations=2)
    gb = g ^ ndimage.binary_erosion(g, iterations=2)
    if pb.sum() == 0 and gb.sum() == 0:
        return 1.0
    if pb.sum() == 0 or gb.sum() == 0:
        return 0.0
    precision = np.logical_and(pb, ndimage.binary_dilation(gb, iterations=2)).sum() / pb.sum()
    recall = np.logical_and(gb, ndimage.binary_dilation(pb, iterations=2)).sum() / gb.sum()
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def jf(preds: list[np.ndarray], gts: list[np.ndarray]) -> dict:
    if not preds or not gts:
        return {"J": 0.0, "F": 0.0, "J&F": 0.0}
    js, fs = [], []
    for i in range(min(len(preds), len(gts))):
        p = np.squeeze(preds[i]) > 0.5
        g = gts[i] > 0
        if p.shape != g.shape:
            img = Image.fromarray(p.astype(np.uint8) * 255)
            p = np.array(img.resize((g.shape[1], g.shape[0]), Image.NEAREST)) > 127
        js.append(iou(p, g))
        fs.append(boundary_f(p, g))
    j, f = float(np.mean(js)), float(np.mean(fs))
    return {"J": j, "F": f, "J&F": (j + f) / 2}


# --------------------------------------------------------------------------- the run


def read_answers(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return {d["id"]: d["output"] for d in map(json.loads, path.read_text().splitlines())}


def evaluate(root: Path, predictions: Path) -> tuple[dict[str, dict], dict[str, float]]:
    """(per case id: its official values, per task and "overall": official scores)."""
    answers = read_answers(predictions / "answers.jsonl")
    per_case: dict[str, dict] = {}
    per_task: dict[str, list[float]] = {}
    for t in list_tasks(root):
        try:
            if t["kind"] == "qa":
                prompt = qa_prompt(t["question"], t["options"])
                if not isinstance(prompt, str):
                    raise ModelFailure("not text")
                open_frames(t["frames"])
                if t["id"] not in answers:
                    raise ModelFailure("no answer")
                value = {"accuracy": 1.0 if first_token(answers[t["id"]]) ==
                         t["answer"].strip().upper() else 0.0}
            else:
                open_frames(t["frames"])
                preds = read_predicted_masks(predictions / "masks" / t["id"], t["frames"])
                value = jf(preds, ground_truth(t["mask_dir"], t["key"], len(t["frames"])))
        except (ModelFailure, AttributeError, TypeError):
            value = {"accuracy": 0.0} if t["kind"] == "qa" else {"J&F": 0.0}
        per_case[t["id"]] = value
        per_task.setdefault(t["task"], []).append(value.get("accuracy", value.get("J&F")))
    scores = {task: float(np.mean(v)) * 100 for task, v in per_task.items()}
    entered = [scores[s] for s in SUFFIXES if s in scores]
    if entered:
        scores["overall"] = float(np.mean(entered))
    return per_case, scores
