"""Procedural Dyn-Bench-format datasets whose ground truth is true by construction.

Each scene is a tiny world: a procedural background that extends beyond the view, 2-3 coloured
shapes with linear motion and a depth order, and a camera that stays still, pans, zooms or
follows one object. Frames and visible-silhouette masks are rendered from those parameters, and
every question and referring expression is computed from the same parameters (never typed in),
and only when its answer is unambiguous and visible. The layout and the quirks of real data
follow ``spec/benchmark.md`` ("Data layout")::

    python -m dynbench.synth OUT_DIR [--seed S] [--scenes N] [--frames F] [--size WxH]

Modules, in dependency order: ``model`` (world constants, dataclasses), ``render`` (pixels),
``facts`` (derived quantities), ``scene`` (sampling), ``questions`` and ``expressions``
(language from facts), ``writer`` (files, :func:`generate`), ``cli`` (:func:`main`).
"""

from __future__ import annotations

from dynbench.synth.cli import main
from dynbench.synth.expressions import MASK_TASKS
from dynbench.synth.facts import Facts, direction
from dynbench.synth.model import MOTIONS, PALETTE, SHAPES, Backdrop, Camera, Obj, Scene
from dynbench.synth.questions import QA_TASKS
from dynbench.synth.render import render_frame
from dynbench.synth.scene import build_scene
from dynbench.synth.writer import GeneratedInfo, generate

__all__ = [
    "MASK_TASKS", "MOTIONS", "PALETTE", "QA_TASKS", "SHAPES", "Backdrop", "Camera", "Facts",
    "GeneratedInfo", "Obj", "Scene", "build_scene", "direction", "generate", "main",
    "render_frame",
]
