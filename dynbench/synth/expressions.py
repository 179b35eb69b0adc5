"""Referring expressions for the mask tasks; each must single out exactly one object."""

from __future__ import annotations

import numpy as np

from dynbench.synth.facts import DirFn, Facts, image_dir, leave_state, world_dir
from dynbench.synth.model import DIRS
from dynbench.synth.questions import follow_q

MASK_TASKS = ("cameramask", "objmask", "scenemask")


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
    if cam.followed is not None and follow_q(f):
        out.append((cam.followed, "the object that the camera is following"))
    disps = [f.image_disp(i) for i in range(f.n)]
    out += _unique_direction(f, disps, image_dir, "the object that moves {dir} across the frame")
    states = [leave_state(f, i) for i in range(f.n)]
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
    out += _unique_direction(f, disps, world_dir, "the object that moves {dir} through the scene")
    order = np.argsort(speeds)[::-1]
    if speeds[order[0]] >= f.move() and speeds[order[0]] >= 1.5 * speeds[order[1]]:
        out.append((int(order[0]), "the object that moves fastest through the scene"))
    return out


MASK_BUILDERS = {"cameramask": _camera_exprs, "objmask": _object_exprs,
                 "scenemask": _scene_exprs}
