"""Procedural Dyn-Bench-format datasets whose ground truth is true by construction.

Each scene is a tiny world: a procedural background that extends beyond the view, 2-3 coloured
shapes with linear motion and a depth order, and a camera that stays still, pans, zooms or
follows one object. Frames and visible-silhouette masks are rendered from those parameters, and
every question and referring expression is computed from the same parameters (never typed in),
and only when its answer is unambiguous and visible. The layout and the quirks of real data
follow ``spec/benchmark.md`` ("Data layout")::

    python -m dynbench.synth OUT_DIR [--seed S] [--scenes N] [--frames F] [--size WxH]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

# --------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------

PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (215, 35, 35),
    "blue": (35, 75, 215),
    "green": (30, 165, 60),
    "yellow": (235, 205, 30),
    "purple": (140, 50, 185),
    "orange": (240, 130, 20),
}
SHAPES = ("circle", "square", "triangle")
SHAPE_AREA = {"circle": math.pi, "square": 4.0, "triangle": 2.0}  # area / radius**2
SHAPE_REACH = {"circle": 1.0, "square": math.sqrt(2.0), "triangle": 4.0 / 3.0}  # max extent
MOTIONS = ("static", "pan_left", "pan_right", "pan_up", "pan_down", "zoom_in", "zoom_out",
           "follow")
DIRS = {"left": (-1.0, 0.0), "right": (1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0)}
QA_TASKS = ("cameraqa", "qa", "sceneqa")
MASK_TASKS = ("cameramask", "objmask", "scenemask")
LAYOUT_DIRS = ("frames", "masks", "multi_json")
DATASETS = ("synth_davis", "synth_ytvos")
DAVIS_WORDS = ("street_cross", "dog_run", "kite_surf", "car_turn", "bmx_trees", "horse_jump",
               "soccer_ball", "boat_dock", "lab_coat", "train_yard")
LETTERS = "ABCDE"
JPEG_QUALITY = 90
MAX_QA_PER_TASK = 3
MAX_MASK_PER_TASK = 2
# Thresholds, as fractions of the short side of the frame (``unit``), over the whole clip.
MOVE = 0.1  # a displacement this large is clearly visible motion
STILL_IMG = 0.02  # an image displacement this small means "stays in place in the frame"
DOMINANCE = 0.3  # a direction is unambiguous when minor axis <= 0.3 * major axis
CLEAR = 0.9  # an object is clearly seen when this fraction of it is visible
FASTER = 1.6  # speed ratio for "which is faster" to be unambiguous

CAMERA_TEXT = {"static": "the camera stays still", "pan_left": "the camera pans left",
               "pan_right": "the camera pans right", "pan_up": "the camera pans up",
               "pan_down": "the camera pans down", "zoom_in": "the camera zooms in",
               "zoom_out": "the camera zooms out"}
IMAGE_DIR_TEXT = {"left": "it moves to the left", "right": "it moves to the right",
                  "up": "it moves up", "down": "it moves down",
                  "still": "it stays in about the same place in the frame"}
SCENE_DIR_TEXT = {**IMAGE_DIR_TEXT, "still": "it stays still"}
REL_DIR_TEXT = {**IMAGE_DIR_TEXT, "still": "it keeps the same position relative to it"}
SIZE_TEXT = {"zoom_in": "it appears larger", "zoom_out": "it appears smaller",
             "same": "it stays about the same size", "other": "it first grows and then shrinks"}
DIST_TEXT = {"closer": "they move closer together", "farther": "they move farther apart",
             "same": "they keep the same distance", "other": "they swap places"}
MOVE_TEXT = {"moving": "it moves steadily in one direction", "still": "it stays still",
             "a": "it moves back and forth", "b": "it moves and then stops"}
NONE_TEXT = "none of them"

# --------------------------------------------------------------------------------------------
# Scene model and sampling
# --------------------------------------------------------------------------------------------


@dataclass
class Obj:
    """A rigid shape; world position at frame t is ``start + vel * t``."""

    num: int
    colour: str
    shape: str
    start: np.ndarray
    vel: np.ndarray
    radius: float
    layer: int  # higher = nearer the camera, drawn on top

    @property
    def name(self) -> str:
        return f"{self.colour} {self.shape}"


@dataclass
class Camera:
    """Camera centre moves linearly from the world origin; scale goes linearly 1 -> zoom_end."""

    motion: str
    vel: np.ndarray
    zoom_end: float = 1.0
    followed: int | None = None  # index into Scene.objects


@dataclass
class Backdrop:
    """Procedural background: coloured gratings plus world-fixed soft blobs (landmarks)."""

    base: np.ndarray
    waves: np.ndarray  # (k, 4): kx, ky, phase, amplitude
    tints: np.ndarray  # (k, 3)
    blobs: np.ndarray  # (m, 3): x, y, sigma
    blob_colours: np.ndarray  # (m, 3)


@dataclass
class Scene:
    index: int
    dataset: str
    name: str
    size: tuple[int, int]
    frames: int
    ext: str
    camera: Camera
    objects: list[Obj]
    backdrop: Backdrop

    @property
    def unit(self) -> float:
        return float(min(self.size))


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


# --------------------------------------------------------------------------------------------
# Geometry and rendering
# --------------------------------------------------------------------------------------------


def _silhouettes(shape: str, cx: np.ndarray, cy: np.ndarray, r: np.ndarray,
                 size: tuple[int, int]) -> np.ndarray:
    """(T, H, W) full silhouettes at pixel centres; the triangle's centroid is its centre."""
    w, h = size
    dx = (np.arange(w) + 0.5)[None, None, :] - cx[:, None, None]
    dy = (np.arange(h) + 0.5)[None, :, None] - cy[:, None, None]
    r = r[:, None, None]
    if shape == "circle":
        return dx * dx + dy * dy <= r * r
    if shape == "square":
        return (np.abs(dx) <= r) & (np.abs(dy) <= r)
    top = dy + 4.0 * r / 3.0
    return (top >= 0) & (dy <= 2.0 * r / 3.0) & (np.abs(dx) <= top / 2.0)


def _occlude(sil: np.ndarray, layers: list[int]) -> np.ndarray:
    """Visible masks: a silhouette minus every nearer object's silhouette."""
    vis = sil.copy()
    for i, li in enumerate(layers):
        for j, lj in enumerate(layers):
            if lj > li:
                vis[i] &= ~sil[j]
    return vis


def _background(b: Backdrop, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Background at world columns ``xs`` and rows ``ys``.

    Every term is separable (sin(a + c) = cos c sin a + sin c cos a; a Gaussian is a product of
    two), so each colour channel is one small matrix product instead of per-term full images.
    """
    kx, ky, phase, amp = b.waves.T
    bx, by, sigma = b.blobs.T
    a, c = np.outer(xs, kx) + phase, np.outer(ys, ky)
    gy = np.exp(-((ys[:, None] - by) ** 2) / (2 * sigma**2))
    gx = np.exp(-((xs[:, None] - bx) ** 2) / (2 * sigma**2))
    left = np.concatenate([np.cos(c), np.sin(c), gy], axis=1)  # (H, terms)
    right = np.concatenate([np.sin(a), np.cos(a), gx], axis=1).T  # (terms, W)
    wave_w = amp[:, None] * b.tints
    weights = np.concatenate([wave_w, wave_w, b.blob_colours])  # (terms, 3)
    img = np.stack([(left * weights[:, ch]) @ right for ch in range(3)], axis=-1)
    return img + b.base


def render_frame(scene: Scene, f: Facts, t: int) -> np.ndarray:
    """The RGB frame t: background sampled at the pixels' world positions, shapes far to near."""
    w, h = scene.size
    s, c = f.scale[t], f.cam[t]
    xs = (np.arange(w) + 0.5 - w / 2) / s + c[0]
    ys = (np.arange(h) + 0.5 - h / 2) / s + c[1]
    img = _background(scene.backdrop, xs, ys)
    for i in np.argsort([o.layer for o in scene.objects]):
        img[f.sil[i, t]] = PALETTE[scene.objects[i].colour]
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# Facts: quantities every answer is derived from
# --------------------------------------------------------------------------------------------


class Facts:
    """World and image trajectories, silhouettes and visibility of one scene."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        objs, cam, n_t = scene.objects, scene.camera, scene.frames
        t = np.arange(n_t, dtype=np.float64)
        self.scale = 1.0 + (cam.zoom_end - 1.0) * t / (n_t - 1)
        self.cam = t[:, None] * cam.vel[None, :]
        self.world = np.stack([o.start[None, :] + t[:, None] * o.vel[None, :] for o in objs])
        half = np.array(scene.size, dtype=np.float64) / 2
        self.img = (self.world - self.cam[None]) * self.scale[None, :, None] + half
        self.r_img = np.array([o.radius for o in objs])[:, None] * self.scale[None, :]
        self.area = np.array([SHAPE_AREA[o.shape] for o in objs])[:, None] * self.r_img ** 2
        self.sil = np.stack([_silhouettes(o.shape, self.img[i, :, 0], self.img[i, :, 1],
                                          self.r_img[i], scene.size) for i, o in enumerate(objs)])
        self.vis = _occlude(self.sil, [o.layer for o in objs])
        self.vis_px = self.vis.sum(axis=(2, 3))
        self.vis_frac = self.vis_px / self.area
        self.view_frac = self.sil.sum(axis=(2, 3)) / self.area

    @property
    def n(self) -> int:
        return len(self.scene.objects)

    def names(self) -> list[str]:
        return [f"the {o.name}" for o in self.scene.objects]

    def clear(self, i: int) -> bool:
        """Clearly visible in the first and last frame, so the motion can be judged."""
        return bool(self.vis_frac[i, 0] >= CLEAR and self.vis_frac[i, -1] >= CLEAR)

    def world_disp(self, i: int) -> np.ndarray:
        return self.world[i, -1] - self.world[i, 0]

    def image_disp(self, i: int) -> np.ndarray:
        return self.img[i, -1] - self.img[i, 0]

    def speed(self, i: int) -> float:
        return float(np.hypot(*self.world_disp(i)))

    def move(self) -> float:
        return MOVE * self.scene.unit

    def camera_label(self) -> str:
        cam = self.scene.camera
        if cam.motion != "follow":
            return cam.motion
        return "pan_" + str(direction(cam.vel, 0.0, 0.0))

    def overlap(self, i: int, j: int) -> float:
        """Largest silhouette overlap, as a fraction of the smaller object's area."""
        inter = (self.sil[i] & self.sil[j]).sum(axis=(1, 2))
        return float(np.max(inter / np.minimum(self.area[i], self.area[j])))

    def gap(self, i: int, j: int) -> float:
        """Smallest distance between the objects' bounding circles over the clip (pixels)."""
        objs = self.scene.objects
        dist = np.hypot(*(self.img[i] - self.img[j]).T)
        reach = (SHAPE_REACH[objs[i].shape] * self.r_img[i]
                 + SHAPE_REACH[objs[j].shape] * self.r_img[j])
        return float(np.min(dist - reach))


def direction(d: np.ndarray, move: float, still: float) -> str | None:
    """'left'/'right'/'up'/'down'/'still', or None when the motion is ambiguous."""
    mag = float(np.hypot(*d))
    if mag <= still:
        return "still"
    if mag < move:
        return None
    ax = int(abs(d[1]) > abs(d[0]))
    if abs(d[1 - ax]) > DOMINANCE * abs(d[ax]):
        return None
    if ax == 0:
        return "right" if d[0] > 0 else "left"
    return "down" if d[1] > 0 else "up"


def _image_dir(f: Facts, d: np.ndarray) -> str | None:
    return direction(d, f.move(), STILL_IMG * f.scene.unit)


def _world_dir(f: Facts, d: np.ndarray) -> str | None:
    return direction(d, f.move(), 1e-9)


DirFn = Callable[[Facts, np.ndarray], "str | None"]


def _leave_state(f: Facts, i: int) -> str | None:
    """'leaves' the view for good, 'stays' in view throughout, or None (in between)."""
    frac = f.view_frac[i]
    if np.all(frac >= 0.5):
        return "stays"
    out = np.flatnonzero(frac <= 0)
    if frac[0] >= 0.5 and out.size and np.all(frac[out[0]:] <= 0):
        return "leaves"
    return None


# --------------------------------------------------------------------------------------------
# QA questions (each builder returns candidates; answers come from Facts only)
# --------------------------------------------------------------------------------------------


class Cand(NamedTuple):
    template: str
    question: str
    correct: str
    distractors: tuple[str, ...]
    weight: float = 1.0  # < 1: kept with this probability, to keep answers balanced


def _others(table: dict[str, str], key: str) -> tuple[str, ...]:
    return tuple(v for k, v in table.items() if k != key)


def _pick_object_q(template: str, question: str, names: list[str], answer: int | None,
                   extra: tuple[str, ...] = (), none_weight: float = 1.0) -> Cand:
    correct = NONE_TEXT if answer is None else names[answer]
    options = [*names, NONE_TEXT, *extra]
    return Cand(template, question, correct, tuple(o for o in options if o != correct),
                none_weight if answer is None else 1.0)


def _camera_qs(f: Facts) -> list[Cand]:
    label = f.camera_label()
    out = [Cand("camera_motion", "How is the camera moving in this video?", CAMERA_TEXT[label],
                _others(CAMERA_TEXT, label))]
    for i, o in enumerate(f.scene.objects):
        if not f.clear(i):
            continue
        d = _image_dir(f, f.image_disp(i))
        if d is not None:
            out.append(Cand("image_direction", f"In the camera's view, in which direction does "
                            f"the {o.name} move across the frame?", IMAGE_DIR_TEXT[d],
                            _others(IMAGE_DIR_TEXT, d), 0.4 if d == "still" else 1.0))
        size = label if label.startswith("zoom") else "same"
        out.append(Cand("apparent_size", f"As the video plays, does the {o.name} appear larger "
                        "or smaller in the frame?", SIZE_TEXT[size], _others(SIZE_TEXT, size),
                        0.25 if size == "same" else 1.0))
    return out + _follow_q(f) + _leave_q(f)


def _follow_q(f: Facts) -> list[Cand]:
    followed = f.scene.camera.followed
    moving = [i for i in range(f.n) if float(np.hypot(*f.image_disp(i))) >= f.move()]
    if len(moving) < f.n - (followed is not None):
        return []
    q = "Which object does the camera follow, keeping it in the same place in the frame?"
    return [_pick_object_q("followed", q, f.names(), followed, none_weight=0.2)]


def _leave_q(f: Facts) -> list[Cand]:
    states = [_leave_state(f, i) for i in range(f.n)]
    if None in states or states.count("leaves") > 1:
        return []
    answer = states.index("leaves") if "leaves" in states else None
    q = "Which object leaves the camera's view before the video ends?"
    return [_pick_object_q("leaves_view", q, f.names(), answer, none_weight=0.7)]


def _distance_q(f: Facts, i: int, j: int) -> list[Cand]:
    objs = f.scene.objects
    world = np.hypot(*(f.world[i] - f.world[j]).T)
    image = np.hypot(*(f.img[i] - f.img[j]).T)
    key = None
    if np.array_equal(objs[i].vel, objs[j].vel) and not f.scene.camera.motion.startswith("zoom"):
        key = "same"
    for name, sign in (("closer", -1.0), ("farther", 1.0)):
        if (np.all(sign * np.diff(world) > 0) and sign * (world[-1] - world[0]) >= f.move()
                and sign * (image[-1] - image[0]) >= 0.5 * f.move()):
            key = name
    if key is None or not (f.clear(i) and f.clear(j)):
        return []
    q = f"Are the {objs[i].name} and the {objs[j].name} moving closer together or farther apart?"
    return [Cand("distance_change", q, DIST_TEXT[key], _others(DIST_TEXT, key))]


def _faster_q(f: Facts, i: int, j: int) -> list[Cand]:
    a, b = f.scene.objects[i], f.scene.objects[j]
    sa, sb = f.speed(i), f.speed(j)
    table = {"a": f"the {a.name}", "b": f"the {b.name}", "same": "they move at the same speed",
             "none": "neither of them moves"}
    key = None
    if sa == sb:
        key = "none" if sa == 0 else "same"
    elif max(sa, sb) >= f.move() and max(sa, sb) >= FASTER * min(sa, sb):
        key = "a" if sa > sb else "b"
    if key is None:
        return []
    q = f"Which object moves faster relative to the background: the {a.name} or the {b.name}?"
    return [Cand("faster", q, table[key], _others(table, key))]


def _front_q(f: Facts, i: int, j: int) -> list[Cand]:
    a, b = f.scene.objects[i], f.scene.objects[j]
    table = {"front": f"yes, it passes in front of the {b.name}",
             "behind": f"no, it passes behind the {b.name}", "never": "no, they never overlap"}
    key = None
    if f.overlap(i, j) >= 0.2 and np.any(a.vel != b.vel):
        key = "front" if a.layer > b.layer else "behind"
    elif 3.0 <= f.gap(i, j) <= 0.25 * f.scene.unit:  # a near miss, not two far-apart objects
        key = "never"
    if key is None:
        return []
    q = f"Does the {a.name} pass in front of the {b.name}?"
    return [Cand("passes_in_front", q, table[key], _others(table, key),
                 0.5 if key == "never" else 1.0)]


def _relative_q(f: Facts, i: int, j: int) -> list[Cand]:
    """Direction of i relative to j; world and image must agree (zoom can make them differ)."""
    a, b = f.scene.objects[i], f.scene.objects[j]
    rel_img = f.img[i] - f.img[j]
    world = _world_dir(f, (a.vel - b.vel) * (f.scene.frames - 1))
    image = _image_dir(f, rel_img[-1] - rel_img[0])
    if world is None or world != image or not (f.clear(i) and f.clear(j)):
        return []
    q = f"Relative to the {b.name}, in which direction does the {a.name} move?"
    return [Cand("relative_direction", q, REL_DIR_TEXT[world], _others(REL_DIR_TEXT, world))]


def _object_qs(f: Facts) -> list[Cand]:
    out: list[Cand] = []
    for i in range(f.n):
        for j in range(f.n):
            if i < j:
                out += _distance_q(f, i, j) + _faster_q(f, i, j)
            if i != j:
                out += _front_q(f, i, j) + _relative_q(f, i, j)
    return out


def _scene_qs(f: Facts) -> list[Cand]:
    out: list[Cand] = []
    for i, o in enumerate(f.scene.objects):
        d = _world_dir(f, f.world_disp(i))
        if d is not None and f.clear(i):
            q = f"Relative to the background, in which direction does the {o.name} move?"
            out.append(Cand("scene_direction", q, SCENE_DIR_TEXT[d], _others(SCENE_DIR_TEXT, d),
                            0.35 if d == "still" else 1.0))
        if d == "still" or f.speed(i) >= f.move():
            key = "still" if d == "still" else "moving"
            q = f"Relative to the scene, how does the {o.name} move?"
            out.append(Cand("moving_or_still", q, MOVE_TEXT[key], _others(MOVE_TEXT, key)))
    still = [i for i in range(f.n) if f.speed(i) == 0]
    if len(still) <= 1 and all(f.speed(i) >= f.move() for i in range(f.n) if i not in still):
        q = "Which object stays still relative to the background?"
        answer = still[0] if still else None
        out.append(_pick_object_q("still_object", q, f.names(), answer, ("all of them",)))
    return out


QA_BUILDERS = {"cameraqa": _camera_qs, "qa": _object_qs, "sceneqa": _scene_qs}

# --------------------------------------------------------------------------------------------
# Referring expressions for the mask tasks (each must single out exactly one object)
# --------------------------------------------------------------------------------------------


def _unique_direction(f: Facts, disps: list[np.ndarray], dir_of: DirFn,
                      phrase: str) -> list[tuple[int, str]]:
    """Objects that are the only one moving in some direction; others clearly are not."""
    out = []
    dirs = [dir_of(f, d) for d in disps]
    for name, vec in DIRS.items():
        hits = [i for i, d in enumerate(dirs) if d == name]
        along = [float(np.dot(d, vec)) for d in disps]
        if len(hits) == 1 and all(along[k] < 0.5 * f.move() for k in range(f.n) if k != hits[0]):
            out.append((hits[0], phrase.format(dir=name)))
    return out


def _camera_exprs(f: Facts) -> list[tuple[int, str]]:
    cam = f.scene.camera
    out = []
    if cam.followed is not None and _follow_q(f):
        out.append((cam.followed, "the object that the camera is following"))
    disps = [f.image_disp(i) for i in range(f.n)]
    out += _unique_direction(f, disps, _image_dir, "the object that moves {dir} across the frame")
    states = [_leave_state(f, i) for i in range(f.n)]
    if None not in states and states.count("leaves") == 1:
        out.append((states.index("leaves"), "the object that leaves the camera's view"))
    return out + _zoom_expr(f)


def _zoom_expr(f: Facts) -> list[tuple[int, str]]:
    motion = f.scene.camera.motion
    if not motion.startswith("zoom"):
        return []
    centre = np.array(f.scene.size, dtype=np.float64) / 2
    dist = np.hypot(*(f.img[:, :, :] - centre).transpose(2, 0, 1)).max(axis=1)
    near = [i for i in range(f.n) if dist[i] <= 0.12 * f.scene.unit and f.clear(i)]
    far = [i for i in range(f.n) if np.hypot(*(f.img[i, 0] - centre)) >= 0.3 * f.scene.unit]
    if len(near) != 1 or len(far) != f.n - 1:
        return []
    text = "zooms in on" if motion == "zoom_in" else "zooms out from"
    return [(near[0], f"the object the camera {text}")]


def _heads(f: Facts, i: int, j: int, sign: float, cos_min: float) -> bool:
    """Object i moves toward (sign=+1) or away from (-1) object j, by its own motion."""
    v = f.scene.objects[i].vel
    gap = f.world[j, 0] - f.world[i, 0]
    if f.speed(i) < f.move() or not np.any(gap):
        return False
    cos = float(np.dot(v, gap) / (np.hypot(*v) * np.hypot(*gap)))
    return sign * cos >= cos_min


def _toward_exprs(f: Facts, j: int, sign: float) -> list[tuple[int, str]]:
    world = [np.hypot(*(f.world[i] - f.world[j]).T) for i in range(f.n)]
    hits = [i for i in range(f.n) if i != j and _heads(f, i, j, sign, 0.85)
            and np.all(-sign * np.diff(world[i]) > 0)]
    loose = [i for i in range(f.n) if i != j and _heads(f, i, j, sign, 0.5)]
    if len(hits) != 1 or len(loose) != 1:
        return []
    word = "toward" if sign > 0 else "away from"
    return [(hits[0], f"the object moving {word} the {f.scene.objects[j].name}")]


def _pair_exprs(f: Facts, j: int) -> list[tuple[int, str]]:
    objs = f.scene.objects
    out = _toward_exprs(f, j, 1.0) + _toward_exprs(f, j, -1.0)
    front = [i for i in range(f.n) if i != j and objs[i].layer > objs[j].layer
             and f.overlap(i, j) >= 0.2 and np.any(objs[i].vel != objs[j].vel)]
    touching = [i for i in range(f.n) if i != j and f.overlap(i, j) > 0]
    if len(front) == 1 and len(touching) == 1:
        out.append((front[0], f"the object that passes in front of the {objs[j].name}"))
    if f.speed(j) >= f.move():
        cos = [float(np.dot(o.vel, objs[j].vel) / (np.hypot(*o.vel) * np.hypot(*objs[j].vel)))
               if f.speed(i) >= f.move() else -1.0 for i, o in enumerate(objs)]
        same = [i for i in range(f.n) if i != j and cos[i] >= 0.95]
        if len(same) == 1 and all(cos[k] < 0.7 for k in range(f.n) if k not in (j, same[0])):
            out.append((same[0], f"the object moving in the same direction as the "
                        f"{objs[j].name}"))
    return out


def _object_exprs(f: Facts) -> list[tuple[int, str]]:
    return [e for j in range(f.n) for e in _pair_exprs(f, j)]


def _scene_exprs(f: Facts) -> list[tuple[int, str]]:
    speeds = [f.speed(i) for i in range(f.n)]
    out = []
    still = [i for i, s in enumerate(speeds) if s == 0]
    if len(still) == 1 and all(s >= f.move() for s in speeds if s > 0):
        out.append((still[0], "the object that stays still relative to the background"))
    disps = [f.world_disp(i) for i in range(f.n)]
    out += _unique_direction(f, disps, _world_dir, "the object that moves {dir} through the scene")
    order = np.argsort(speeds)[::-1]
    if speeds[order[0]] >= f.move() and speeds[order[0]] >= 1.5 * speeds[order[1]]:
        out.append((int(order[0]), "the object that moves fastest through the scene"))
    return out


MASK_BUILDERS = {"cameramask": _camera_exprs, "objmask": _object_exprs,
                 "scenemask": _scene_exprs}
MASK_PREFIX = {"cameramask": "obj_", "objmask": "obj_", "scenemask": "scene_obj_"}

# --------------------------------------------------------------------------------------------
# Writing JSON, frames and masks (with the quirks of real data)
# --------------------------------------------------------------------------------------------


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


FIRST_TEMPLATES = ("camera_motion",)  # always asked: the camera motion anchors its scene


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
                 quirks: bool, json_only: bool) -> None:
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
    if quirks and scene.index < len(DATASETS):  # not a task file; readers must skip it
        sampling = {"scene": scene.name, "num_frames": scene.frames, "stride": 2,
                    "sampled_frames": list(range(0, scene.frames, 2))}
        _write_json(base / f"{scene.name}_frame_sampling.json", sampling)
        info.files += 1
    if not json_only:
        info.files += _write_images(root, scene, f)
    info.scenes += 1


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
             overwrite: bool = False) -> GeneratedInfo:
    """Write a deterministic synthetic Dyn-Bench dataset under ``root``.

    The same arguments give byte-identical files. ``scenes`` is the scale knob; ``json_only``
    writes only ``multi_json/`` (same JSON as a full run) for fast collection benchmarks.
    """
    if frames < 3 or min(size) < 32 or seed < 0:
        raise ValueError("need frames >= 3, width and height >= 32 and seed >= 0")
    root = Path(root)
    _prepare(root, overwrite)
    info = GeneratedInfo(root)
    for index in range(scenes):
        scene, facts = build_scene(seed, index, frames, size, quirks)
        _write_scene(root, scene, facts, info, seed, quirks, json_only)
    return info


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"size must look like 160x120, got {text!r}") from exc
    return w, h


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dynbench.synth",
        description="Write a synthetic Dyn-Bench dataset whose answers are true by construction.")
    parser.add_argument("out", type=Path, help="output folder (gets frames/ masks/ multi_json/)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--scenes", type=int, default=8, help="number of scenes (default 8)")
    parser.add_argument("--frames", type=int, default=10, help="frames per scene (default 10)")
    parser.add_argument("--size", type=_parse_size, default=(160, 120), help="WxH (160x120)")
    parser.add_argument("--no-quirks", action="store_true", help="clean data, no real-data quirks")
    parser.add_argument("--json-only", action="store_true", help="write only multi_json/")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace existing frames/ masks/ multi_json/ in OUT")
    args = parser.parse_args(argv)
    try:
        info = generate(args.out, seed=args.seed, scenes=args.scenes, frames=args.frames,
                        size=args.size, quirks=not args.no_quirks, json_only=args.json_only,
                        overwrite=args.overwrite)
    except (FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(info.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
