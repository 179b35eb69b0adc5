"""An independent, literal DAVIS 2017 J&F (the official toolkit's algorithm, written out
plainly with full-frame disk dilation), used to check scores end to end."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage


def seg2bmap(seg: np.ndarray) -> np.ndarray:
    seg = seg.astype(bool)
    e, s, se = (np.zeros_like(seg) for _ in range(3))
    e[:, :-1] = seg[:, 1:]
    s[:-1, :] = seg[1:, :]
    se[:-1, :-1] = seg[1:, 1:]
    b = (seg ^ e) | (seg ^ s) | (seg ^ se)
    b[-1, :] = seg[-1, :] ^ e[-1, :]
    b[:, -1] = seg[:, -1] ^ s[:, -1]
    b[-1, -1] = False
    return b


def disk(radius: int) -> np.ndarray:
    r = int(radius)
    y, x = np.mgrid[-r:r + 1, -r:r + 1]
    return x * x + y * y <= r * r


def f_measure(p: np.ndarray, g: np.ndarray, bound_th: float = 0.008) -> float:
    h, w = g.shape
    radius = bound_th if bound_th >= 1 else math.ceil(bound_th * math.hypot(h, w))
    bp, bg = seg2bmap(p), seg2bmap(g)
    st = disk(radius)
    dp = ndimage.binary_dilation(bp, structure=st) if bp.any() else bp
    dg = ndimage.binary_dilation(bg, structure=st) if bg.any() else bg
    n_p, n_g = bp.sum(), bg.sum()
    if n_p == 0 and n_g == 0:
        return 1.0
    if n_p == 0 or n_g == 0:
        return 0.0  # P=1,R=0 or P=0,R=1 -> F=0
    prec, rec = (bp & dg).sum() / n_p, (bg & dp).sum() / n_g
    return 0.0 if prec + rec == 0 else 2 * prec * rec / (prec + rec)


def jaccard(p: np.ndarray, g: np.ndarray) -> float:
    union = (p | g).sum()
    return 1.0 if union == 0 else (p & g).sum() / union


def jf(preds: list[np.ndarray], gts: list[np.ndarray], bound_th: float = 0.008):
    js = [jaccard(p.astype(bool), g.astype(bool)) for p, g in zip(preds, gts, strict=True)]
    fs = [f_measure(p.astype(bool), g.astype(bool), bound_th) for p, g in zip(preds, gts,
                                                                                strict=True)]
    j, f = float(np.mean(js)), float(np.mean(fs))
    return j, f, (j + f) / 2
