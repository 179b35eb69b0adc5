"""Sampling scenes: names, backdrop, camera, objects and their motion.

A scene depends only on (seed, index, ...) and is resampled until its facts make it usable.
"""

from __future__ import annotations

import math

import numpy as np

from dynbench.synth.facts import Facts
from dynbench.synth.model import (
    DATASETS,
    DIRS,
    MOTIONS,
    PALETTE,
    SHAPES,
    Backdrop,
    Camera,
    Obj,
    Scene,
)

DAVIS_WORDS = ("street_cross", "dog_run", "kite_surf", "car_turn", "bmx_trees", "horse_jump",
               "soccer_ball", "boat_dock", "lab_coat", "train_yard")


def _scene_name(rng: np.random.Generator, dataset: str, index: int, quirks: bool) -> str:
    """DAVIS-like names contain '_' (readers must split on the last one); YT-VOS-like are hex."""
    if not quirks:
        return f"scene{index:04d}"
    if dataset == "synth_davis":
        return f"{DAVIS_WORDS[int(rng.integers(len(DAVIS_WORDS)))]}_{index:02d}"
    return f"{int(rng.integers(16**6)):06x}{index:04x}"


def _sample_backdrop(rng: np.random.Generator, size: tuple[int, int]) -> Backdrop:
    """Muted, smooth but structured, so coloured shapes stand out and pans are visible."""
    grey = rng.uniform(95, 140)
    base = grey + rng.uniform(-15, 15, 3)
    k, m = 4, 14
    wavelength = rng.uniform(22, 80, k)
    angle = rng.uniform(0, math.pi, k)
    waves = np.stack([2 * math.pi * np.cos(angle) / wavelength,
                      2 * math.pi * np.sin(angle) / wavelength,
                      rng.uniform(0, 2 * math.pi, k), rng.uniform(8, 22, k)], axis=1)
    tints = 1.0 + rng.uniform(-0.3, 0.3, (k, 3))
    w, h = size
    blobs = np.stack([rng.uniform(-1.3 * w, 1.3 * w, m), rng.uniform(-1.3 * h, 1.3 * h, m),
                      rng.uniform(4, 12, m)], axis=1)
    shade = rng.uniform(-45, 45, (m, 1))
    blob_colours = shade + rng.uniform(-10, 10, (m, 3))
    return Backdrop(base, waves, tints, blobs, blob_colours)


def _sample_camera(rng: np.random.Generator, motion: str, unit: float, frames: int) -> Camera:
    vel = np.zeros(2)
    zoom_end = 1.0
    if motion.startswith("pan_"):
        vel = np.array(DIRS[motion[4:]]) * rng.uniform(0.2, 0.35) * unit / (frames - 1)
    elif motion == "zoom_in":
        zoom_end = float(rng.uniform(1.4, 1.7))
    elif motion == "zoom_out":
        zoom_end = float(rng.uniform(0.6, 0.72))
    return Camera(motion, vel, zoom_end)


def _sample_velocity(rng: np.random.Generator, unit: float, frames: int, fast: bool) -> np.ndarray:
    """Still, or a clear motion mostly along an axis (sometimes diagonal, ambiguous by design)."""
    if rng.random() < 0.3:
        return np.zeros(2)
    angle = 90.0 * int(rng.integers(4))
    roll = rng.random()
    if roll < 0.2:
        angle += 45.0
    elif roll < 0.6:
        angle += rng.uniform(-12, 12)
    dist = rng.uniform(0.2, 0.8 if fast else 0.45) * unit
    rad = math.radians(angle)
    return np.array([math.cos(rad), math.sin(rad)]) * dist / (frames - 1)


def _sample_objects(rng: np.random.Generator, scene_size: tuple[int, int], unit: float,
                    frames: int, fast: bool) -> list[Obj]:
    w, h = scene_size
    n = 3 if rng.random() < 0.65 else 2
    colours = rng.choice(list(PALETTE), size=n, replace=False)
    nums = sorted(int(x) for x in rng.choice(np.arange(1, 6), size=n, replace=False))
    layers = rng.permutation(n)
    objs = []
    for k in range(n):
        start = rng.uniform([0.15 * w, 0.15 * h], [0.85 * w, 0.85 * h]) - [w / 2, h / 2]
        objs.append(Obj(nums[k], str(colours[k]), str(rng.choice(SHAPES)), start,
                        _sample_velocity(rng, unit, frames, fast),
                        float(rng.uniform(0.07, 0.11) * unit), int(layers[k])))
    return objs


def _add_relation(rng: np.random.Generator, objs: list[Obj], unit: float, frames: int) -> None:
    """Bias pairs toward relations worth asking about: approaching, or moving in parallel."""
    a, b = objs[0], objs[1]
    roll = rng.random()
    if roll < 0.3:
        gap = a.start - b.start
        dist = rng.uniform(0.2, 0.45) * unit
        b.vel = gap / np.hypot(*gap) * dist / (frames - 1)
    elif roll < 0.45 and np.any(a.vel):
        b.vel = a.vel.copy()


def _special_camera(rng: np.random.Generator, cam: Camera, objs: list[Obj], unit: float,
                    frames: int) -> None:
    """Follow: the camera moves with object 0. Zoom: object 0 often sits still at the centre."""
    if cam.motion == "follow":
        direction = np.array(DIRS[str(rng.choice(list(DIRS)))])
        objs[0].vel = direction * rng.uniform(0.2, 0.35) * unit / (frames - 1)
        cam.vel = objs[0].vel.copy()
        cam.followed = 0
    elif cam.motion.startswith("zoom") and rng.random() < 0.7:
        objs[0].start = rng.uniform(-0.04, 0.04, 2) * unit
        objs[0].vel = np.zeros(2)


def _draw_scene(rng: np.random.Generator, index: int, motion: str, frames: int,
                size: tuple[int, int], quirks: bool) -> Scene:
    dataset = DATASETS[index % len(DATASETS)]
    name = _scene_name(rng, dataset, index, quirks)
    ext = ".png" if quirks and index % 4 == 1 else ".jpg"
    if quirks and dataset == "synth_ytvos":
        frames = max(3, frames + int(rng.integers(-2, 3)))  # uneven frame counts
    unit = float(min(size))
    cam = _sample_camera(rng, motion, unit, frames)
    backdrop = _sample_backdrop(rng, size)
    return Scene(index, dataset, name, size, frames, ext, cam, [], backdrop)


def build_scene(seed: int, index: int, frames: int = 10, size: tuple[int, int] = (160, 120),
                quirks: bool = True) -> tuple[Scene, Facts]:
    """Scene ``index`` depends only on (seed, index, frames, size, quirks), not on the count."""
    rng = np.random.default_rng([seed, index])
    motion = MOTIONS[(index + seed) % len(MOTIONS)]
    scene = _draw_scene(rng, index, motion, frames, size, quirks)
    want_absent = quirks and index % 4 == 2
    for _ in range(1000):
        objs = _sample_objects(rng, size, scene.unit, scene.frames, fast=want_absent)
        _add_relation(rng, objs, scene.unit, scene.frames)
        _special_camera(rng, scene.camera, objs, scene.unit, scene.frames)
        scene.objects = objs
        facts = Facts(scene)
        if _acceptable(facts, want_absent):
            return scene, facts
    raise RuntimeError(f"could not sample an acceptable scene {index} for seed {seed}")


def _acceptable(f: Facts, want_absent: bool) -> bool:
    """Every object starts mostly visible and shows up in at least two frames."""
    present = f.vis_px > 0
    if not np.all(f.vis_frac[:, 0] >= 0.6) or not np.all(present.sum(axis=1) >= 2):
        return False
    return bool(not want_absent or not present.all())

