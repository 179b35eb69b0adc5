"""Writing a dataset: question selection, JSON, frames and masks, with real-data quirks.

Each scene's JSON uses its own RNG stream, so ``json_only`` runs write the same JSON.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from dynbench.synth.expressions import MASK_BUILDERS, MASK_TASKS
from dynbench.synth.facts import Facts
from dynbench.synth.model import DATASETS, Scene
from dynbench.synth.oracle import Oracle
from dynbench.synth.questions import QA_BUILDERS, QA_TASKS, Cand
from dynbench.synth.render import render_frame
from dynbench.synth.scene import build_scene

LAYOUT_DIRS = ("frames", "masks", "multi_json")
LETTERS = "ABCDE"
JPEG_QUALITY = 90
MAX_QA_PER_TASK = 3
MAX_MASK_PER_TASK = 2
FIRST_TEMPLATES = ("camera_motion",)  # always asked: the camera motion anchors its scene
MASK_PREFIX = {"cameramask": "obj_", "objmask": "obj_", "scenemask": "scene_obj_"}


@dataclass
class GeneratedInfo:
    """What :func:`generate` wrote."""

    root: Path
    scenes: int = 0
    qa: dict[str, int] = field(default_factory=lambda: dict.fromkeys(QA_TASKS, 0))
    masks: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MASK_TASKS, 0))
    files: int = 0

    def summary(self) -> str:
        qa = ", ".join(f"{k} {v}" for k, v in self.qa.items())
        masks = ", ".join(f"{k} {v}" for k, v in self.masks.items())
        return (f"{self.scenes} scenes, {self.files} files in {self.root}\n"
                f"QA questions: {qa}\nmask objects: {masks}")


def _select(rng: np.random.Generator, cands: list[Cand], limit: int) -> list[Cand]:
    """Up to ``limit`` candidates, round-robin over templates so questions stay varied.

    Candidates with a common answer ("stays still", "never overlap") are thinned by their
    weight first, so that always giving the most common answer does not score well.
    """
    pools: dict[str, list[Cand]] = {}
    for c in cands:
        if c.weight < 1.0 and rng.random() >= c.weight:
            continue
        pools.setdefault(c.template, []).append(c)
    lists = [pools[k] for k in pools]
    for pool in lists:
        rng.shuffle(pool)
    lists = [lists[k] for k in rng.permutation(len(lists))]
    lists.sort(key=lambda pool: pool[0].template not in FIRST_TEMPLATES)  # stable
    picked: list[Cand] = []
    while len(picked) < limit and any(lists):
        for pool in lists:
            if pool and len(picked) < limit:
                picked.append(pool.pop())
    return picked


def _multiple_choice(rng: np.random.Generator, cand: Cand, lower: bool, bare: bool) -> dict:
    """3-5 options, correct position random; ``lower``/``bare`` reproduce real-data quirks."""
    k = min(len(cand.distractors), int(rng.integers(2, 5)))
    picks = [str(x) for x in rng.choice(list(cand.distractors), size=k, replace=False)]
    options = [cand.correct, *picks]
    options = [options[i] for i in rng.permutation(len(options))]
    letter = LETTERS[options.index(cand.correct)]
    if not bare:
        options = [f"{LETTERS[i]}. {o}" for i, o in enumerate(options)]
    return {"question": cand.question, "options": options,
            "answer": letter.lower() if lower else letter}


def _qa_json(rng: np.random.Generator, scene: Scene, f: Facts, task: str, quirks: bool) -> list:
    cands = _select(rng, QA_BUILDERS[task](f), MAX_QA_PER_TASK)
    lower = quirks and scene.index % 3 == 2 and task != "cameraqa"
    bare = quirks and scene.index % 8 == 1 and task == "cameraqa"
    return [_multiple_choice(rng, c, lower, bare) for c in cands]


def _mask_json(rng: np.random.Generator, scene: Scene, f: Facts, task: str) -> dict:
    """Up to MAX_MASK_PER_TASK objects, each with one of its unique referring expressions."""
    by_obj: dict[int, list[str]] = {}
    for i, text in MASK_BUILDERS[task](f):
        by_obj.setdefault(i, []).append(text)
    chosen = sorted(int(i) for i in rng.permutation(sorted(by_obj))[:MAX_MASK_PER_TASK])
    out = {}
    for i in chosen:
        o, texts = scene.objects[i], by_obj[i]
        text = texts[int(rng.integers(len(texts)))]
        out[f"{MASK_PREFIX[task]}{o.num}"] = {"question": text[0].upper() + text[1:] + ".",
                                              "crop_caption": f"a {o.name}",
                                              "crop_category": o.shape}
    return out


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_images(root: Path, scene: Scene, f: Facts) -> int:
    """Frames (JPEG at a fixed quality, or PNG) and one mask PNG per visible object-frame."""
    rel = Path(scene.dataset) / scene.name
    frame_dir, mask_dir = root / "frames" / rel, root / "masks" / rel
    frame_dir.mkdir(parents=True, exist_ok=True)
    mask_dir.mkdir(parents=True, exist_ok=True)
    count = 0
    for t in range(scene.frames):
        image = Image.fromarray(render_frame(scene, f, t), "RGB")
        if scene.ext == ".jpg":
            image.save(frame_dir / f"frame_{t:04d}.jpg", "JPEG", quality=JPEG_QUALITY)
        else:
            image.save(frame_dir / f"frame_{t:04d}.png", "PNG")
        count += 1
        for i, o in enumerate(scene.objects):
            if f.vis_px[i, t] > 0:
                mask = Image.fromarray(f.vis[i, t].astype(np.uint8) * 255, "L")
                mask.save(mask_dir / f"frame_{t:04d}_obj{o.num}.png", "PNG")
                count += 1
    return count


def _write_scene(root: Path, scene: Scene, f: Facts, info: GeneratedInfo, seed: int,
                 quirks: bool, json_only: bool, oracle: Oracle | None = None) -> None:
    rng = np.random.default_rng([seed, scene.index, 1])
    base = root / "multi_json" / scene.dataset
    for task in (*QA_TASKS, *MASK_TASKS):
        if task in QA_TASKS:
            data: list | dict = _qa_json(rng, scene, f, task, quirks)
        else:
            data = _mask_json(rng, scene, f, task)
        if data:
            _write_json(base / f"{scene.name}_{task}.json", data)
            counts = info.qa if task in QA_TASKS else info.masks
            counts[task] += len(data)
            info.files += 1
            if oracle is not None:
                _to_oracle(oracle, scene, f, task, data)
    if quirks and scene.index < len(DATASETS):  # not a task file; readers must skip it
        sampling = {"scene": scene.name, "num_frames": scene.frames, "stride": 2,
                    "sampled_frames": list(range(0, scene.frames, 2))}
        _write_json(base / f"{scene.name}_frame_sampling.json", sampling)
        info.files += 1
    if not json_only:
        info.files += _write_images(root, scene, f)
    info.scenes += 1


def _to_oracle(oracle: Oracle, scene: Scene, f: Facts, task: str, data: list | dict) -> None:
    if task in QA_TASKS:
        oracle.add_qa(task, scene.dataset, scene.name, data)
        return
    for key in data:
        num = int(key.rpartition("_")[2])
        i = next(k for k, o in enumerate(scene.objects) if o.num == num)
        oracle.add_mask(task, scene.dataset, scene.name, num,
                        {t: f.vis[i, t] for t in range(scene.frames)})


def _prepare(root: Path, overwrite: bool) -> None:
    """Never mix a new set with old files; never delete anything without ``overwrite``."""
    for sub in LAYOUT_DIRS:
        path = root / sub
        if path.exists() and any(path.iterdir()):
            if not overwrite:
                raise FileExistsError(f"{path} is not empty; pass overwrite=True (--overwrite) "
                                      "to replace frames/, masks/ and multi_json/")
            shutil.rmtree(path)
    root.mkdir(parents=True, exist_ok=True)


def generate(root: Path, *, seed: int = 0, scenes: int = 8, frames: int = 10,
             size: tuple[int, int] = (160, 120), quirks: bool = True, json_only: bool = False,
             overwrite: bool = False, messy: bool = False, oracle: Path | None = None,
             published: bool = False) -> GeneratedInfo:
    """Write a deterministic synthetic Dyn-Bench dataset under ``root``.

    The same arguments give byte-identical files. ``scenes`` is the scale knob; ``json_only``
    writes only ``multi_json/`` (same JSON as a full run) for fast collection benchmarks.
    ``messy`` adds one scene per layout variant and fault (:mod:`dynbench.synth.messy`);
    ``oracle`` writes perfect predictions there (:mod:`dynbench.synth.oracle`);
    ``published`` packs the result like the published hub snapshot
    (:mod:`dynbench.synth.snapshot`) instead of leaving the folders.
    """
    if frames < 3 or min(size) < 32 or seed < 0 or scenes < 0:
        raise ValueError("need frames >= 3, width and height >= 32, seed >= 0, scenes >= 0")
    root = Path(root)
    if published:
        return _generate_published(root, seed=seed, scenes=scenes, frames=frames, size=size,
                                   quirks=quirks, messy=messy, oracle=oracle)
    _prepare(root, overwrite)
    info = GeneratedInfo(root)
    answers = Oracle() if oracle is not None else None
    for index in range(scenes):
        scene, facts = build_scene(seed, index, frames, size, quirks)
        _write_scene(root, scene, facts, info, seed, quirks, json_only, answers)
    if messy:
        from dynbench.synth.messy import VARIANTS, write_messy

        info.files += write_messy(root, seed, answers)
        info.scenes += len(VARIANTS)
    if answers is not None:
        answers.write(Path(oracle))
    return info


def _generate_published(root: Path, **kw) -> GeneratedInfo:
    import tempfile

    from dynbench.synth.snapshot import pack_snapshot

    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty; a published snapshot needs an empty folder")
    with tempfile.TemporaryDirectory(prefix="dynbench-synth-") as tmp:
        info = generate(Path(tmp) / "data", **kw)
        pack_snapshot(Path(tmp) / "data", root)
    info.root = root
    return info
