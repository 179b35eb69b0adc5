"""Pixels from scene parameters: silhouettes, occlusion and RGB frames."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from dynbench.synth.model import PALETTE, Backdrop, Scene

if TYPE_CHECKING:
    from dynbench.synth.facts import Facts


def silhouettes(shape: str, cx: np.ndarray, cy: np.ndarray, r: np.ndarray,
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


def occlude(sil: np.ndarray, layers: list[int]) -> np.ndarray:
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

