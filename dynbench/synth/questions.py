"""Multiple-choice QA candidates; each builder derives its answer from Facts only."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dynbench.synth.facts import Facts, image_dir, leave_state, world_dir

QA_TASKS = ("cameraqa", "qa", "sceneqa")
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
        d = image_dir(f, f.image_disp(i))
        if d is not None:
            out.append(Cand("image_direction", f"In the camera's view, in which direction does "
                            f"the {o.name} move across the frame?", IMAGE_DIR_TEXT[d],
                            _others(IMAGE_DIR_TEXT, d), 0.4 if d == "still" else 1.0))
        size = label if label.startswith("zoom") else "same"
        out.append(Cand("apparent_size", f"As the video plays, does the {o.name} appear larger "
                        "or smaller in the frame?", SIZE_TEXT[size], _others(SIZE_TEXT, size),
                        0.25 if size == "same" else 1.0))
    return out + follow_q(f) + _leave_q(f)


def follow_q(f: Facts) -> list[Cand]:
    followed = f.scene.camera.followed
    moving = [i for i in range(f.n) if float(np.hypot(*f.image_disp(i))) >= f.move()]
    if len(moving) < f.n - (followed is not None):
        return []
    q = "Which object does the camera follow, keeping it in the same place in the frame?"
    return [_pick_object_q("followed", q, f.names(), followed, none_weight=0.2)]


def _leave_q(f: Facts) -> list[Cand]:
    states = [leave_state(f, i) for i in range(f.n)]
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
    world = world_dir(f, (a.vel - b.vel) * (f.scene.frames - 1))
    image = image_dir(f, rel_img[-1] - rel_img[0])
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
        d = world_dir(f, f.world_disp(i))
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
