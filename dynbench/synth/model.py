"""The world a scene is made of: shapes, colours, camera motions, and the scene dataclasses.

Kept free of sampling and rendering so every other module can import it without cycles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

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
DATASETS = ("synth_davis", "synth_ytvos")


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

