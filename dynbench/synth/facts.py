"""Quantities every answer is derived from, so questions and masks never disagree."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dynbench.synth.model import SHAPE_AREA, SHAPE_REACH, Scene
from dynbench.synth.render import occlude, silhouettes

# Thresholds, as fractions of the short side of the frame (``unit``), over the whole clip.
MOVE = 0.1  # a displacement this large is clearly visible motion
STILL_IMG = 0.02  # an image displacement this small means "stays in place in the frame"
DOMINANCE = 0.3  # a direction is unambiguous when minor axis <= 0.3 * major axis
CLEAR = 0.9  # an object is clearly seen when this fraction of it is visible


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
        self.sil = np.stack([silhouettes(o.shape, self.img[i, :, 0], self.img[i, :, 1],
                                         self.r_img[i], scene.size) for i, o in enumerate(objs)])
        self.vis = occlude(self.sil, [o.layer for o in objs])
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


def image_dir(f: Facts, d: np.ndarray) -> str | None:
    return direction(d, f.move(), STILL_IMG * f.scene.unit)


def world_dir(f: Facts, d: np.ndarray) -> str | None:
    return direction(d, f.move(), 1e-9)


DirFn = Callable[[Facts, np.ndarray], "str | None"]


def leave_state(f: Facts, i: int) -> str | None:
    """'leaves' the view for good, 'stays' in view throughout, or None (in between)."""
    frac = f.view_frac[i]
    if np.all(frac >= 0.5):
        return "stays"
    out = np.flatnonzero(frac <= 0)
    if frac[0] >= 0.5 and out.size and np.all(frac[out[0]:] <= 0):
        return "leaves"
    return None

