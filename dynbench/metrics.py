"""Mask metrics: DAVIS 2017 J&F and the reference dyn-bench compatibility mode.

The definitions are in ``spec/metrics.md``. The DAVIS toolkit dilates full-frame boundary
maps with a disk of radius ``r`` (12 px at 720p), which costs tens of milliseconds per frame;
this module gets the same integer counts much faster by

* working only inside bounding boxes (a mask's boundary lies within its box grown by one
  pixel up and left), and
* matching boundaries on bit-packed rows: 64 pixels per ``uint64`` word, the disk written as
  rows of horizontal runs, so a disk dilation is a handful of word shifts and ORs, done for
  all frames of a sequence in one batch.

Every value is a ratio of exact integer counts, so results equal the toolkit's, not
approximate them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

MODES = ("davis", "reference")
DEFAULT_BOUND_TH = 0.008

_CROSS = ndimage.generate_binary_structure(2, 1)
_REFERENCE_ITERATIONS = 2
_WORD_BITS = 64
# Words per batch layer: keeps the dilation's working set in a core's L2 cache.
_CHUNK_WORDS = 1 << 14


@dataclass(frozen=True)
class SequenceScore:
    """J, F and J&F of one case, with the per-frame values they average."""

    j: float
    f: float
    jf: float
    per_frame_j: tuple[float, ...]
    per_frame_f: tuple[float, ...]


@dataclass(frozen=True)
class _Boundary:
    """A boundary map cropped to a window whose top-left pixel is (y0, x0)."""

    bits: np.ndarray
    y0: int
    x0: int
    count: int

    @property
    def y1(self) -> int:
        return self.y0 + self.bits.shape[0]

    @property
    def x1(self) -> int:
        return self.x0 + self.bits.shape[1]


# ---------------------------------------------------------------------------------------------
# Input handling


def _binarise(mask: np.ndarray, threshold: float | None, name: str) -> np.ndarray:
    """Return a 2-D bool view/copy: nonzero (threshold None) or strictly above threshold."""
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"{name} mask must be 2-D (H, W), got shape {arr.shape}")
    if threshold is None:
        return arr if arr.dtype == np.bool_ else arr != 0
    return arr > threshold


def _pair(pred: np.ndarray, gt: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Binarise a prediction/ground-truth pair the way ``mode`` prescribes; check shapes."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    if mode == "davis":
        p, g = _binarise(pred, None, "prediction"), _binarise(gt, None, "ground-truth")
    else:
        p, g = _binarise(pred, 0.5, "prediction"), _binarise(gt, 0.0, "ground-truth")
    if p.shape != g.shape:
        raise ValueError(
            f"prediction shape {p.shape} does not match ground-truth shape {g.shape}; "
            "resize the prediction first (resize_nearest)"
        )
    return p, g


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """Inclusive (y0, y1, x0, x1) of the nonzero pixels, None for an empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    y0, y1 = int(rows[0]), int(rows[-1])
    cols = np.flatnonzero(mask[y0 : y1 + 1].any(axis=0))
    return y0, y1, int(cols[0]), int(cols[-1])


# ---------------------------------------------------------------------------------------------
# Region similarity


def _jaccard_bool(p: np.ndarray, g: np.ndarray) -> float:
    """J of two bool masks, counting only inside their bounding boxes."""
    bp, bg = _bbox(p), _bbox(g)
    if bp is None and bg is None:
        return 1.0
    n_p = 0 if bp is None else np.count_nonzero(p[bp[0] : bp[1] + 1, bp[2] : bp[3] + 1])
    n_g = 0 if bg is None else np.count_nonzero(g[bg[0] : bg[1] + 1, bg[2] : bg[3] + 1])
    return _jaccard_counts(p, g, bp, bg, int(n_p), int(n_g))


def _jaccard_counts(
    p: np.ndarray,
    g: np.ndarray,
    bp: tuple[int, int, int, int] | None,
    bg: tuple[int, int, int, int] | None,
    n_p: int,
    n_g: int,
) -> float:
    """J from the two pixel counts; the intersection is counted on the boxes' overlap."""
    if n_p + n_g == 0:
        return 1.0
    inter = 0
    if bp is not None and bg is not None:
        y0, y1 = max(bp[0], bg[0]), min(bp[1], bg[1])
        x0, x1 = max(bp[2], bg[2]), min(bp[3], bg[3])
        if y0 <= y1 and x0 <= x1:
            win = (slice(y0, y1 + 1), slice(x0, x1 + 1))
            inter = int(np.count_nonzero(p[win] & g[win]))
    return inter / float(n_p + n_g - inter)


def jaccard(pred: np.ndarray, gt: np.ndarray) -> float:
    """Region similarity |P ∩ G| / |P ∪ G| (nonzero is foreground); 1 when both are empty."""
    p, g = _pair(pred, gt, "davis")
    return _jaccard_bool(p, g)


# ---------------------------------------------------------------------------------------------
# DAVIS boundaries


def _boundary_of_padded(padded: np.ndarray) -> np.ndarray:
    """Boundary of ``padded[:-1, :-1]`` given one extra row and column of neighbours.

    A pixel differs from its east, south or south-east neighbour exactly when it differs from
    the east one or the south one or its east neighbour differs from *its* south neighbour,
    which needs two XORs and two ORs instead of three comparisons.
    """
    east = padded[:-1, :-1] ^ padded[:-1, 1:]
    south = padded[:-1, :] ^ padded[1:, :]
    east |= south[:, :-1]
    east |= south[:, 1:]
    return east


def _padded_window(mask: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """``mask[y0:y1, x0:x1]`` plus one row and column of its south/east neighbours.

    Past the image edge the last row/column is repeated: a repeated neighbour never differs,
    and the repeated south-east one equals the east (last row) or south (last column) one,
    which is exactly DAVIS's rule for the last row, last column and bottom-right pixel.
    """
    h, w = mask.shape
    win = mask[y0 : y1 + 1, x0 : x1 + 1]
    if y1 < h and x1 < w:
        return win
    out = np.empty((y1 - y0 + 1, x1 - x0 + 1), dtype=bool)
    wh, ww = win.shape
    out[:wh, :ww] = win
    if wh < out.shape[0]:
        out[wh:, :ww] = win[-1:, :]
    if ww < out.shape[1]:
        out[:, ww:] = out[:, ww - 1 : ww]
    return out


def _cropped_boundary(mask: np.ndarray, box: tuple[int, int, int, int] | None) -> _Boundary:
    """The DAVIS boundary of a bool mask, cropped to the mask's box grown by 1 up and left."""
    if box is None:
        return _Boundary(np.zeros((0, 0), dtype=bool), 0, 0, 0)
    y0, x0 = max(box[0] - 1, 0), max(box[2] - 1, 0)
    y1, x1 = box[1] + 1, box[3] + 1
    bits = _boundary_of_padded(_padded_window(mask, y0, y1, x0, x1))
    return _Boundary(bits, y0, x0, int(np.count_nonzero(bits)))


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """DAVIS boundary map (bool, same shape): pixels differing from their E, S or SE neighbour.

    Same as the DAVIS 2017 toolkit's ``_seg2bmap`` without resizing.
    """
    m = _binarise(mask, None, "input")
    out = np.zeros(m.shape, dtype=bool)
    if m.size:
        b = _cropped_boundary(m, _bbox(m))
        out[b.y0 : b.y1, b.x0 : b.x1] = b.bits
    return out


def boundary_radius(shape: tuple[int, int], bound_th: float) -> int:
    """Matching radius in pixels, computed like the DAVIS toolkit.

    ``bound_th < 1`` is a fraction of the image diagonal (rounded up); ``bound_th >= 1`` is a
    radius in pixels and must be whole: the toolkit's ``disk()`` of a fractional radius is
    not centred on the pixel, so no defined value exists to agree with.
    """
    th = float(bound_th)
    if not math.isfinite(th) or th < 0:
        raise ValueError(f"bound_th must be a finite number >= 0, got {bound_th!r}")
    if th >= 1:
        if not th.is_integer():
            raise ValueError(f"bound_th >= 1 is a radius in pixels and must be whole, got {th}")
        return int(th)
    h, w = (int(n) for n in shape)
    # math.sqrt of the exact integer equals np.linalg.norm(shape), the toolkit's expression.
    return int(math.ceil(th * math.sqrt(h * h + w * w)))


# ---------------------------------------------------------------------------------------------
# Bit-packed disk matching


def _popcount_rows(words: np.ndarray) -> np.ndarray:
    """Number of set bits in each row of a (..., n) uint64 array."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(words).sum(axis=-1, dtype=np.int64)
    as_bytes = words.view(np.uint8)
    return np.unpackbits(as_bytes, axis=-1).sum(axis=-1, dtype=np.int64)


def _shift_step(x: np.ndarray, s: int) -> np.ndarray:
    """OR of ``x`` with itself moved ``s`` pixels east and west (0 < s < 64), row by row.

    Bit k of word q holds pixel 64*q + k, so moving east is a left shift plus the bits that
    carry over from the previous word; nothing crosses from one row to the next.
    """
    left, right = np.uint64(s), np.uint64(_WORD_BITS - s)
    out = x << left
    out[..., 1:] |= x[..., :-1] >> right
    out |= x >> left
    out[..., :-1] |= x[..., 1:] << right
    out |= x
    return out


def _dilate_disk(x: np.ndarray, radius: int, max_dx: int, max_dy: int) -> np.ndarray:
    """Dilate packed rows (layers, rows, words) by the disk dx² + dy² <= radius².

    The disk is the union over dy of horizontal runs |dx| <= isqrt(r² - dy²): each distinct
    run is built from a shorter one by one shift step (s <= a + 1 keeps every intermediate
    pixel between source and target, so clipping at the window edge loses nothing), then
    ORed in at row offsets ±dy. Offsets beyond the widest/tallest window are never needed.
    """
    r2 = radius * radius
    widths = [min(math.isqrt(r2 - dy * dy), max_dx) for dy in range(min(radius, max_dy) + 1)]
    runs = {0: x}
    cur, reach = x, 0
    for w in sorted(set(widths)):
        while reach < w:
            s = min(w - reach, reach + 1, _WORD_BITS - 1)
            cur = _shift_step(cur, s)
            reach += s
        runs[w] = cur
    out = runs[widths[0]].copy()
    for dy in range(1, len(widths)):
        run = runs[widths[dy]]
        out[:, dy:] |= run[:, :-dy]
        out[:, :-dy] |= run[:, dy:]
    return out


def _match_window(a: _Boundary, b: _Boundary, radius: int) -> tuple[int, int, int, int] | None:
    """Window (y0, y1, x0, x1), exclusive ends, holding every pixel that can match.

    A pixel of A can only match within ``radius`` of B's window and vice versa, so both
    boundaries can be clipped to the overlap of the two windows grown by ``radius``.
    """
    y0 = max(a.y0, b.y0) - radius
    y1 = min(a.y1, b.y1) + radius
    x0 = max(a.x0, b.x0) - radius
    x1 = min(a.x1, b.x1) + radius
    y0, x0 = max(y0, min(a.y0, b.y0)), max(x0, min(a.x0, b.x0))
    y1, x1 = min(y1, max(a.y1, b.y1)), min(x1, max(a.x1, b.x1))
    if y0 >= y1 or x0 >= x1:
        return None
    return y0, y1, x0, x1


def _place(dst: np.ndarray, bnd: _Boundary, win: tuple[int, int, int, int], row: int) -> None:
    """Copy the part of ``bnd`` inside ``win`` into ``dst`` whose row ``row`` is win's top."""
    y0, y1 = max(bnd.y0, win[0]), min(bnd.y1, win[1])
    x0, x1 = max(bnd.x0, win[2]), min(bnd.x1, win[3])
    if y0 < y1 and x0 < x1:
        src = bnd.bits[y0 - bnd.y0 : y1 - bnd.y0, x0 - bnd.x0 : x1 - bnd.x0]
        r = row + y0 - win[0]
        dst[r : r + (y1 - y0), x0 - win[2] : x1 - win[2]] = src


def _match_batch(
    jobs: list[tuple[_Boundary, _Boundary, tuple[int, int, int, int]]], radius: int
) -> list[tuple[int, int]]:
    """(matched A pixels, matched B pixels) for each job, all dilated in one packed array."""
    heights = [w[1] - w[0] for _, _, w in jobs]
    widths = [w[3] - w[2] for _, _, w in jobs]
    gap = min(radius, max(heights) - 1)  # blank rows between windows: no dilation crosses
    starts = np.cumsum([0] + [h + gap for h in heights[:-1]])
    n_words = -(-max(widths) // _WORD_BITS)
    plane = np.zeros((2, int(starts[-1]) + heights[-1], n_words * _WORD_BITS), dtype=bool)
    for (a, b, win), row in zip(jobs, starts, strict=True):
        _place(plane[0], a, win, int(row))
        _place(plane[1], b, win, int(row))
    packed = np.packbits(plane, axis=-1, bitorder="little").view("<u8")
    dilated = _dilate_disk(packed, radius, max(widths) - 1, max(heights) - 1)
    hit_a = np.add.reduceat(_popcount_rows(packed[0] & dilated[1]), starts)
    hit_b = np.add.reduceat(_popcount_rows(packed[1] & dilated[0]), starts)
    return [(int(x), int(y)) for x, y in zip(hit_a, hit_b, strict=True)]


def _match_counts(
    pairs: Sequence[tuple[_Boundary, _Boundary]], radius: int
) -> list[tuple[int, int]]:
    """Matched pixel counts of each (A, B) boundary pair, batched in cache-sized chunks."""
    results: list[tuple[int, int]] = [(0, 0)] * len(pairs)
    chunk: list[tuple[_Boundary, _Boundary, tuple[int, int, int, int]]] = []
    where: list[int] = []
    words = 0
    for i, (a, b) in enumerate(pairs):
        if a.count == 0 or b.count == 0:
            continue
        win = _match_window(a, b, radius)
        if win is None:
            continue
        size = (win[1] - win[0] + radius) * -(-(win[3] - win[2]) // _WORD_BITS)
        if chunk and words + size > _CHUNK_WORDS:
            for k, res in zip(where, _match_batch(chunk, radius), strict=True):
                results[k] = res
            chunk, where, words = [], [], 0
        chunk.append((a, b, win))
        where.append(i)
        words += size
    if chunk:
        for k, res in zip(where, _match_batch(chunk, radius), strict=True):
            results[k] = res
    return results


def _f_from_counts(n_p: int, n_g: int, hit_p: int, hit_g: int) -> float:
    """Boundary F from boundary sizes and matched counts, with DAVIS's empty-boundary rules."""
    if n_p == 0 and n_g == 0:
        precision, recall = 1.0, 1.0
    elif n_p == 0:
        precision, recall = 1.0, 0.0
    elif n_g == 0:
        precision, recall = 0.0, 1.0
    else:
        precision, recall = hit_p / float(n_p), hit_g / float(n_g)
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


# ---------------------------------------------------------------------------------------------
# Per-frame and per-case scores


@dataclass(frozen=True)
class _PreparedFrame:
    j: float
    pred_boundary: _Boundary
    gt_boundary: _Boundary


def _prepare_davis(p: np.ndarray, g: np.ndarray) -> _PreparedFrame:
    """J and both cropped boundaries of one bool frame pair (boxes computed once)."""
    bp, bg = _bbox(p), _bbox(g)
    pb, gb = _cropped_boundary(p, bp), _cropped_boundary(g, bg)
    n_p = 0 if bp is None else int(np.count_nonzero(p[bp[0] : bp[1] + 1, bp[2] : bp[3] + 1]))
    n_g = 0 if bg is None else int(np.count_nonzero(g[bg[0] : bg[1] + 1, bg[2] : bg[3] + 1]))
    return _PreparedFrame(_jaccard_counts(p, g, bp, bg, n_p, n_g), pb, gb)


def _davis_frames(
    pairs: Iterable[tuple[np.ndarray, np.ndarray]], bound_th: float
) -> list[tuple[float, float]]:
    """(J, F) of bool frame pairs; boundary matching is batched per radius."""
    prepared: list[_PreparedFrame] = []
    radii: list[int] = []
    for p, g in pairs:
        prepared.append(_prepare_davis(p, g))
        radii.append(boundary_radius(p.shape, bound_th))
    hits: list[tuple[int, int]] = [(0, 0)] * len(prepared)
    for radius in sorted(set(radii)):
        idx = [i for i, r in enumerate(radii) if r == radius]
        boundaries = [(prepared[i].pred_boundary, prepared[i].gt_boundary) for i in idx]
        for i, res in zip(idx, _match_counts(boundaries, radius), strict=True):
            hits[i] = res
    scores = []
    for fr, (hit_p, hit_g) in zip(prepared, hits, strict=True):
        n_p, n_g = fr.pred_boundary.count, fr.gt_boundary.count
        scores.append((fr.j, _f_from_counts(n_p, n_g, hit_p, hit_g)))
    return scores


def f_measure(pred: np.ndarray, gt: np.ndarray, bound_th: float = DEFAULT_BOUND_TH) -> float:
    """DAVIS boundary F-measure of one frame (nonzero is foreground)."""
    p, g = _pair(pred, gt, "davis")
    return _davis_frames([(p, g)], bound_th)[0][1]


def _reference_boundary(mask: np.ndarray) -> np.ndarray:
    """mask XOR (mask eroded twice by the 3x3 cross, outside the image counting as 0)."""
    eroded = ndimage.binary_erosion(mask, _CROSS, iterations=_REFERENCE_ITERATIONS)
    return mask ^ eroded


def _reference_f_bool(p: np.ndarray, g: np.ndarray) -> float:
    """Reference-mode F of bool masks, computed on the union of their boxes.

    Erosion and dilation only reach two pixels, and outside the union box both masks are 0,
    which is also what the full-frame operations see, so the crop changes nothing.
    """
    bp, bg = _bbox(p), _bbox(g)
    boxes = [b for b in (bp, bg) if b is not None]
    if not boxes:
        return 1.0
    y0, y1 = min(b[0] for b in boxes), max(b[1] for b in boxes) + 1
    x0, x1 = min(b[2] for b in boxes), max(b[3] for b in boxes) + 1
    # Grow by the reach of the operations so that the crop's edge acts like empty space.
    pad = _REFERENCE_ITERATIONS
    cy0, cx0 = max(y0 - pad, 0), max(x0 - pad, 0)
    cy1, cx1 = min(y1 + pad, p.shape[0]), min(x1 + pad, p.shape[1])
    pb = _reference_boundary(p[cy0:cy1, cx0:cx1])
    gb = _reference_boundary(g[cy0:cy1, cx0:cx1])
    n_p, n_g = int(np.count_nonzero(pb)), int(np.count_nonzero(gb))
    if n_p == 0 and n_g == 0:
        return 1.0
    if n_p == 0 or n_g == 0:
        return 0.0
    grow = {"structure": _CROSS, "iterations": _REFERENCE_ITERATIONS}
    precision = np.count_nonzero(pb & ndimage.binary_dilation(gb, **grow)) / n_p
    recall = np.count_nonzero(gb & ndimage.binary_dilation(pb, **grow)) / n_g
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


def reference_f_measure(pred: np.ndarray, gt: np.ndarray) -> float:
    """Boundary F of the reference dyn-bench code (compatibility mode; pred > 0.5, gt > 0)."""
    p, g = _pair(pred, gt, "reference")
    return _reference_f_bool(p, g)


def frame_scores(
    pred: np.ndarray, gt: np.ndarray, mode: str = "davis", bound_th: float = DEFAULT_BOUND_TH
) -> tuple[float, float]:
    """(J, F) of one frame in the given mode."""
    p, g = _pair(pred, gt, mode)
    if mode == "reference":
        return _jaccard_bool(p, g), _reference_f_bool(p, g)
    return _davis_frames([(p, g)], bound_th)[0]


def _frames(masks: np.ndarray | Sequence[np.ndarray], name: str) -> list[np.ndarray]:
    """Split a (T, H, W) array or a sequence of (H, W) arrays into frames."""
    if isinstance(masks, np.ndarray):
        if masks.ndim != 3:
            raise ValueError(f"{name} must be (T, H, W) or a sequence of (H, W) masks, "
                             f"got shape {masks.shape}")
        return list(masks)
    return [np.asarray(m) for m in masks]


def sequence_scores(
    preds: np.ndarray | Sequence[np.ndarray],
    gts: np.ndarray | Sequence[np.ndarray],
    mode: str = "davis",
    bound_th: float = DEFAULT_BOUND_TH,
) -> SequenceScore:
    """J, F and J&F of a case: per-frame scores averaged over its frames."""
    pred_frames, gt_frames = _frames(preds, "predictions"), _frames(gts, "ground truth")
    if len(pred_frames) != len(gt_frames):
        raise ValueError(
            f"{len(pred_frames)} prediction frames but {len(gt_frames)} ground-truth frames"
        )
    if not pred_frames:
        raise ValueError("empty sequence: at least one frame is needed to score a case")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    if mode == "davis":
        boundary_radius((1, 1), bound_th)  # reject a bad bound_th before any work
    pairs = []
    for t, (p, g) in enumerate(zip(pred_frames, gt_frames, strict=True)):
        try:
            pairs.append(_pair(p, g, mode))
        except ValueError as err:
            raise ValueError(f"frame {t}: {err}") from None
    if mode == "reference":
        scores = [(_jaccard_bool(p, g), _reference_f_bool(p, g)) for p, g in pairs]
    else:
        scores = _davis_frames(pairs, bound_th)
    js = tuple(float(j) for j, _ in scores)
    fs = tuple(float(f) for _, f in scores)
    j, f = float(np.mean(js)), float(np.mean(fs))
    return SequenceScore(j, f, (j + f) / 2, js, fs)


# ---------------------------------------------------------------------------------------------
# Resizing


def resize_nearest(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a mask to (H, W) with PIL, as done for size mismatches.

    Bool and uint8 masks keep their dtype; other numeric masks go through 32-bit float.
    """
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {arr.shape}")
    h, w = (int(n) for n in shape)
    if h <= 0 or w <= 0:
        raise ValueError(f"target shape must be positive (H, W), got {tuple(shape)}")
    if arr.shape == (h, w):
        return arr.copy()
    if arr.dtype == np.bool_ or arr.dtype == np.uint8:
        img = Image.fromarray(arr.astype(np.uint8, copy=False))
    else:
        img = Image.fromarray(arr.astype(np.float32))
    out = np.asarray(img.resize((w, h), Image.Resampling.NEAREST))
    return out.astype(arr.dtype)
