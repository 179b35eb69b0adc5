"""Mask metrics: DAVIS 2017 J&F and the reference dyn-bench compatibility mode.

The definitions are in ``spec/metrics.md``. The DAVIS toolkit dilates full-frame boundary
maps with a disk of radius ``r`` (12 px at 720p), tens of milliseconds per frame. This module
gets the same integer counts in a fraction of that:

* Only a window around the two masks is looked at: a mask's boundary lies inside its
  bounding box grown by one pixel up and left.
* Windows are bit-packed, 64 pixels per ``uint64`` word, and the frames of a case are laid
  one below the other in one word stream (blank rows between them), so computing boundaries
  and dilating them by the disk are a few dozen whole-array shifts and ORs per batch.
* The disk is a stack of horizontal runs ``|dx| <= isqrt(r² - dy²)``: each distinct run
  length is one shift step from the previous one, then ORed in at row offsets ``±dy``.

Every value is a ratio of exact integer counts, so results equal the toolkit's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

MODES = ("davis", "reference")
DEFAULT_BOUND_TH = 0.008

_CROSS = ndimage.generate_binary_structure(2, 1)
_REFERENCE_ITERATIONS = 2
_WORD = 64
# Words per layer in one batch: keeps the dilation's arrays in a core's L2 cache.
_BATCH_WORDS = 1 << 13
_ONE = np.uint64(1)
_TOP = np.uint64(_WORD - 1)
_NO_TOP_BIT = np.uint64((1 << (_WORD - 1)) - 1)
_POP8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)
_HAS_BITWISE_COUNT = hasattr(np, "bitwise_count")  # numpy >= 2.0

Box = tuple[int, int, int, int]  # inclusive y0, y1, x0, x1


@dataclass(frozen=True)
class SequenceScore:
    """J, F and J&F of one case, with the per-frame values they average."""

    j: float
    f: float
    jf: float
    per_frame_j: tuple[float, ...]
    per_frame_f: tuple[float, ...]


# ---------------------------------------------------------------------------------------------
# Input handling


def _binarise(mask: np.ndarray, threshold: float | None, name: str) -> np.ndarray:
    """A 2-D bool mask: nonzero (threshold None) or strictly above ``threshold``."""
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"{name} mask must be 2-D (H, W), got shape {arr.shape}")
    if threshold is None:
        return arr if arr.dtype == np.bool_ else arr != 0
    return arr > threshold


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")


def _pair(pred: np.ndarray, gt: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Binarise a prediction/ground-truth pair the way ``mode`` prescribes; check shapes."""
    _check_mode(mode)
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


def _bbox(mask: np.ndarray) -> Box | None:
    """Inclusive (y0, y1, x0, x1) of the nonzero pixels of a bool mask, None when empty.

    This reads whole frames, so where the layout allows it ORs 8 pixels per uint64 word,
    which is faster than ``any`` on bools.
    """
    if mask.size and mask.shape[1] % 8 == 0 and mask.flags.c_contiguous:
        words = mask.view(np.uint64)
        rows = np.flatnonzero(np.bitwise_or.reduce(words, axis=1))
        if rows.size == 0:
            return None
        y0, y1 = int(rows[0]), int(rows[-1])
        cols = np.flatnonzero(np.bitwise_or.reduce(words[y0 : y1 + 1], axis=0).view(np.uint8))
    else:
        rows = np.flatnonzero(mask.any(axis=1))
        if rows.size == 0:
            return None
        y0, y1 = int(rows[0]), int(rows[-1])
        cols = np.flatnonzero(mask[y0 : y1 + 1].any(axis=0))
    return y0, y1, int(cols[0]), int(cols[-1])


def _popcount(a: np.ndarray) -> int:
    """Number of set bits in a uint8 array."""
    if _HAS_BITWISE_COUNT:
        return int(np.bitwise_count(a).sum())
    return int(_POP8[a].sum())


def _popcount_rows(words: np.ndarray) -> np.ndarray:
    """Number of set bits in each row of a (rows, n) uint64 array."""
    if _HAS_BITWISE_COUNT:
        return np.bitwise_count(words).sum(axis=-1, dtype=np.int64)
    return _POP8[words.view(np.uint8)].sum(axis=-1)


# ---------------------------------------------------------------------------------------------
# Packed windows


@dataclass(frozen=True)
class _Window:
    """Masks packed over a shared window, plus one row and column of south/east neighbours.

    ``packed`` is uint8 (layers, h + 1, bytes), bit k of byte q holding pixel 8q + k. Past
    the image edge the last row/column is repeated: a repeated neighbour never differs, and
    the repeated south-east one equals the east (last row) or south (last column) one, which
    is exactly DAVIS's rule for the last row, last column and bottom-right pixel.
    ``edge_col`` says the neighbour column is such a copy (its own "boundary" must be
    dropped). ``counts`` are the layers' pixel counts, ``overlap`` their AND's.
    """

    packed: np.ndarray
    h: int
    w: int
    edge_col: bool
    counts: tuple[int, ...]
    overlap: int


def _union_window(boxes: Sequence[Box | None]) -> tuple[int, int, int, int] | None:
    """(y0, x0, h, w) of the region holding every boundary pixel of the boxed masks."""
    found = [b for b in boxes if b is not None]
    if not found:
        return None
    y0 = max(min(b[0] for b in found) - 1, 0)
    x0 = max(min(b[2] for b in found) - 1, 0)
    return y0, x0, max(b[1] for b in found) + 1 - y0, max(b[3] for b in found) + 1 - x0


def _pack_window(masks: Sequence[np.ndarray], y0: int, x0: int, h: int, w: int) -> _Window:
    """Pack ``masks[:, y0:y0+h+1, x0:x0+w+1]``, repeating the image's last row/column."""
    img_h, img_w = masks[0].shape
    rows, cols = min(h + 1, img_h - y0), min(w + 1, img_w - x0)
    out = np.zeros((len(masks), h + 1, (w + 8) // 8), dtype=np.uint8)
    for layer, m in enumerate(masks):
        win = m[y0 : y0 + rows, x0 : x0 + cols]
        out[layer, :rows, : (cols + 7) // 8] = np.packbits(win, axis=1, bitorder="little")
    counts = tuple(_popcount(layer) for layer in out)
    overlap = _popcount(out[0] & out[1]) if len(masks) > 1 else counts[0]
    if cols == w:  # east edge: copy column w - 1 into column w
        last = (out[:, :rows, (w - 1) // 8] >> ((w - 1) % 8)) & 1
        out[:, :rows, w // 8] |= last << (w % 8)
    if rows == h:  # south edge: copy row h - 1 into row h
        out[:, h] = out[:, h - 1]
    return _Window(out, h, w, cols == w, counts, overlap)


def _east(x: np.ndarray) -> np.ndarray:
    """Each bit replaced by the next one in the stream (the pixel to its east)."""
    out = x >> _ONE
    out[:-1] |= x[1:] << _TOP
    return out


def _shift_step(x: np.ndarray, s: int) -> np.ndarray:
    """OR of ``x`` with itself moved ``s`` pixels east and west (0 < s < 64)."""
    left, right = np.uint64(s), np.uint64(_WORD - s)
    out = x << left
    out[1:] |= x[:-1] >> right
    out |= x >> left
    out[:-1] |= x[1:] << right
    out |= x
    return out


class _Plane:
    """Packed windows of several frames stacked in one word stream per layer.

    Each frame gets ``h + 1`` rows plus ``gap`` blank rows, and each row ``words`` words,
    at least ``pad`` bits wider than any window: shifts by up to ``gap`` rows or ``pad``
    pixels never carry one frame's (or row's) pixels into another's.
    """

    def __init__(self, windows: Sequence[_Window], gap: int, pad: int) -> None:
        self.windows = list(windows)
        self.words = -(-(max(w.w for w in windows) + max(pad, 1)) // _WORD)
        heights = [w.h + 1 + max(gap, 1) for w in windows]
        self.ends = np.cumsum(heights)
        self.starts = self.ends - heights
        rows = int(self.ends[-1])
        layers = windows[0].packed.shape[0]
        raw = np.zeros((layers, rows, self.words * 8), dtype=np.uint8)
        for win, start in zip(windows, self.starts, strict=True):
            raw[:, start : start + win.h + 1, : win.packed.shape[2]] = win.packed
        self.bits = raw.view("<u8").reshape(-1)
        self.shape = (layers, rows, self.words)

    def to_boundaries(self) -> None:
        """Replace each mask by its DAVIS boundary: differs from its E, S or SE neighbour.

        That is: differs from the east one, or from the south one, or its east neighbour
        differs from its south-east one -- two XORs instead of three comparisons.
        """
        x, n = self.bits, self.words
        south = x.copy()
        south[:-n] ^= x[n:]
        out = x ^ _east(x)
        out |= south
        out |= _east(south)
        grid = out.reshape(self.shape)
        grid[..., -1] &= _NO_TOP_BIT  # its east neighbour was the next row's first pixel
        for win, start, end in zip(self.windows, self.starts, self.ends, strict=True):
            grid[:, start + win.h : end] = 0  # neighbour row and gap: not part of the window
            if win.edge_col:  # the repeated neighbour column
                grid[:, start : start + win.h, win.w // _WORD] &= ~np.uint64(1 << (win.w % _WORD))
        self.bits = out

    def counts(self, bits: np.ndarray | None = None) -> np.ndarray:
        """Set bits of each frame, shape (layers, frames); ``bits`` may hold fewer layers."""
        grid = (self.bits if bits is None else bits).reshape(-1, self.words)
        per_row = _popcount_rows(grid).reshape(-1, self.shape[1])
        return np.add.reduceat(per_row, self.starts, axis=1)

    def dilated(self, radius: int, max_dx: int, max_dy: int) -> np.ndarray:
        """The stream dilated by the disk dx² + dy² <= radius², offsets capped by the caller.

        Run lengths grow by steps of s <= reach + 1, so every pixel a run covers is reached
        through pixels between it and its source. Offsets past the widest/tallest window
        can never join two pixels of one frame, so they are skipped.
        """
        rows_of_width: dict[int, list[int]] = {}
        for dy in range(min(radius, max_dy) + 1):
            width = min(math.isqrt(radius * radius - dy * dy), max_dx)
            rows_of_width.setdefault(width, []).append(dy)
        out = np.zeros_like(self.bits)
        cur, reach = self.bits, 0
        for width in sorted(rows_of_width):
            while reach < width:
                s = min(width - reach, reach + 1, _WORD - 1)
                cur = _shift_step(cur, s)
                reach += s
            for dy in rows_of_width[width]:
                if dy == 0:
                    out |= cur
                else:
                    k = dy * self.words
                    out[k:] |= cur[:-k]
                    out[:-k] |= cur[k:]
        return out


# ---------------------------------------------------------------------------------------------
# DAVIS J and F


def _jaccard_from_counts(n_p: int, n_g: int, inter: int) -> float:
    union = n_p + n_g - inter
    return 1.0 if union == 0 else inter / float(union)


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


def _batch_f(windows: Sequence[_Window], radius: int) -> list[float]:
    """DAVIS F of each (prediction, ground truth) window, all in one packed plane."""
    max_dx = min(radius, max(w.w for w in windows) - 1)
    max_dy = min(radius, max(w.h for w in windows) - 1)
    plane = _Plane(windows, gap=max_dy, pad=max_dx)
    plane.to_boundaries()
    n = plane.counts()
    grown = plane.dilated(radius, max_dx, max_dy).reshape(plane.shape)
    layers = plane.bits.reshape(plane.shape)
    hit_p = plane.counts(layers[0] & grown[1])[0]
    hit_g = plane.counts(layers[1] & grown[0])[0]
    return [
        _f_from_counts(int(n[0, k]), int(n[1, k]), int(hit_p[k]), int(hit_g[k]))
        for k in range(len(windows))
    ]


class _Batcher:
    """Collects windows of one radius and scores them a cache-sized batch at a time."""

    def __init__(self, radius: int, scores: list[tuple[float, float]]) -> None:
        self.radius, self.scores = radius, scores
        self.items: list[tuple[int, _Window]] = []
        self.rows = self.width = 0

    def add(self, t: int, win: _Window) -> None:
        rows, width = self.rows + win.h + 1 + self.radius, max(self.width, win.w)
        if self.items and rows * -(-(width + self.radius) // _WORD) > _BATCH_WORDS:
            self.flush()
            rows, width = win.h + 1 + self.radius, win.w
        self.items.append((t, win))
        self.rows, self.width = rows, width

    def flush(self) -> None:
        if self.items:
            fs = _batch_f([win for _, win in self.items], self.radius)
            for (t, win), f in zip(self.items, fs, strict=True):
                self.scores[t] = (_jaccard_from_counts(*win.counts, win.overlap), f)
        self.items, self.rows, self.width = [], 0, 0


def _out_of_reach(a: Box | None, b: Box | None, radius: int) -> bool:
    """True when no boundary pixel of one mask is within ``radius`` of the other's.

    Such masks are disjoint and neither is empty or full, so both have boundary pixels and
    none match: J = 0 and F = 0, with no need to look at the pixels (a wrong object found
    far away would otherwise make the window span the frame).
    """
    if a is None or b is None:
        return False
    # A boundary lies within its box grown by one pixel up and left.
    rows_apart = max(a[0], b[0]) - 1 - min(a[1], b[1]) > radius
    cols_apart = max(a[2], b[2]) - 1 - min(a[3], b[3]) > radius
    return rows_apart or cols_apart


def _davis_frames(
    pairs: Iterable[tuple[np.ndarray, np.ndarray]], bound_th: float
) -> list[tuple[float, float]]:
    """(J, F) of bool frame pairs, streamed: only a batch of packed windows is held."""
    scores: list[tuple[float, float]] = []
    batchers: dict[int, _Batcher] = {}
    for t, (p, g) in enumerate(pairs):
        scores.append((1.0, 1.0))  # both empty, unless found otherwise
        radius = boundary_radius(p.shape, bound_th)
        boxes = (_bbox(p), _bbox(g))
        if _out_of_reach(*boxes, radius):
            scores[t] = (0.0, 0.0)
            continue
        region = _union_window(boxes)
        if region is not None:
            if radius not in batchers:
                batchers[radius] = _Batcher(radius, scores)
            batchers[radius].add(t, _pack_window((p, g), *region))
    for batcher in batchers.values():
        batcher.flush()
    return scores


def jaccard(pred: np.ndarray, gt: np.ndarray) -> float:
    """Region similarity |P ∩ G| / |P ∪ G| (nonzero is foreground); 1 when both are empty."""
    return _jaccard_bool(*_pair(pred, gt, "davis"))


def _jaccard_bool(p: np.ndarray, g: np.ndarray) -> float:
    """J of bool masks, counting only inside the boxes."""
    bp, bg = _bbox(p), _bbox(g)
    n_p = 0 if bp is None else np.count_nonzero(p[bp[0] : bp[1] + 1, bp[2] : bp[3] + 1])
    n_g = 0 if bg is None else np.count_nonzero(g[bg[0] : bg[1] + 1, bg[2] : bg[3] + 1])
    inter = 0
    if bp is not None and bg is not None:
        y0, y1, x0, x1 = max(bp[0], bg[0]), min(bp[1], bg[1]), max(bp[2], bg[2]), min(bp[3], bg[3])
        if y0 <= y1 and x0 <= x1:
            inter = np.count_nonzero(p[y0 : y1 + 1, x0 : x1 + 1] & g[y0 : y1 + 1, x0 : x1 + 1])
    return _jaccard_from_counts(int(n_p), int(n_g), int(inter))


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """DAVIS boundary map (bool, same shape): pixels differing from their E, S or SE neighbour.

    Same as the DAVIS 2017 toolkit's ``_seg2bmap`` without resizing.
    """
    m = _binarise(mask, None, "input")
    out = np.zeros(m.shape, dtype=bool)
    region = _union_window([_bbox(m)]) if m.size else None
    if region is None:
        return out
    y0, x0, h, w = region
    plane = _Plane([_pack_window([m], y0, x0, h, w)], gap=1, pad=1)
    plane.to_boundaries()
    rows = plane.bits.reshape(plane.shape)[0, :h].view(np.uint8)
    out[y0 : y0 + h, x0 : x0 + w] = np.unpackbits(rows, axis=1, bitorder="little")[:, :w]
    return out


def boundary_radius(shape: tuple[int, int], bound_th: float) -> int:
    """Matching radius in pixels, computed like the DAVIS toolkit.

    ``bound_th < 1`` is a fraction of the image diagonal (rounded up); ``bound_th >= 1`` is a
    radius in pixels and must be whole: the toolkit's ``disk()`` of a fractional radius is
    not centred on the pixel, so there is no defined value to agree with.
    """
    th = float(bound_th)
    if not math.isfinite(th) or th < 0:
        raise ValueError(f"bound_th must be a finite number >= 0, got {bound_th!r}")
    if th >= 1:
        if not th.is_integer():
            raise ValueError(f"bound_th >= 1 is a radius in pixels and must be whole, got {th}")
        return int(th)
    h, w = (int(n) for n in shape)
    # sqrt of the exact integer equals the toolkit's np.linalg.norm(shape) bit for bit.
    return int(math.ceil(th * math.sqrt(h * h + w * w)))


def f_measure(pred: np.ndarray, gt: np.ndarray, bound_th: float = DEFAULT_BOUND_TH) -> float:
    """DAVIS boundary F-measure of one frame (nonzero is foreground)."""
    return _davis_frames([_pair(pred, gt, "davis")], bound_th)[0][1]


# ---------------------------------------------------------------------------------------------
# Compatibility mode


def _reference_boundary(mask: np.ndarray) -> np.ndarray:
    """mask XOR (mask eroded twice by the 3x3 cross, outside the image counting as 0)."""
    return mask ^ ndimage.binary_erosion(mask, _CROSS, iterations=_REFERENCE_ITERATIONS)


def _reference_f_bool(p: np.ndarray, g: np.ndarray) -> float:
    """Reference-mode F of bool masks, computed on the union of their boxes.

    Outside that box both masks are 0, which is also what the operations assume beyond the
    image edge, and erosion/dilation only reach two pixels, so cropping changes nothing.
    """
    boxes = [b for b in (_bbox(p), _bbox(g)) if b is not None]
    if not boxes:
        return 1.0
    pad = _REFERENCE_ITERATIONS
    y0, x0 = max(min(b[0] for b in boxes) - pad, 0), max(min(b[2] for b in boxes) - pad, 0)
    y1, x1 = max(b[1] for b in boxes) + 1 + pad, max(b[3] for b in boxes) + 1 + pad
    pb = _reference_boundary(p[y0:y1, x0:x1])
    gb = _reference_boundary(g[y0:y1, x0:x1])
    n_p, n_g = int(np.count_nonzero(pb)), int(np.count_nonzero(gb))
    if n_p == 0 and n_g == 0:
        return 1.0
    if n_p == 0 or n_g == 0:
        return 0.0
    grow = {"structure": _CROSS, "iterations": _REFERENCE_ITERATIONS}
    precision = np.count_nonzero(pb & ndimage.binary_dilation(gb, **grow)) / float(n_p)
    recall = np.count_nonzero(gb & ndimage.binary_dilation(pb, **grow)) / float(n_g)
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


def reference_f_measure(pred: np.ndarray, gt: np.ndarray) -> float:
    """Boundary F of the reference dyn-bench code (compatibility mode; pred > 0.5, gt > 0)."""
    return _reference_f_bool(*_pair(pred, gt, "reference"))


# ---------------------------------------------------------------------------------------------
# Frames and cases


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
            raise ValueError(
                f"{name} must be (T, H, W) or a sequence of (H, W) masks, got shape {masks.shape}"
            )
        return list(masks)
    return [np.asarray(m) for m in masks]


def _binarised(
    preds: Sequence[np.ndarray], gts: Sequence[np.ndarray], mode: str
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Binarised frame pairs, one at a time (a case's bool copies would be large)."""
    for p, g in zip(preds, gts, strict=True):
        yield _pair(p, g, mode)


def sequence_scores(
    preds: np.ndarray | Sequence[np.ndarray],
    gts: np.ndarray | Sequence[np.ndarray],
    mode: str = "davis",
    bound_th: float = DEFAULT_BOUND_TH,
) -> SequenceScore:
    """J, F and J&F of a case: per-frame scores averaged over its frames."""
    _check_mode(mode)
    pred_frames, gt_frames = _frames(preds, "predictions"), _frames(gts, "ground truth")
    if len(pred_frames) != len(gt_frames):
        raise ValueError(
            f"{len(pred_frames)} prediction frames but {len(gt_frames)} ground-truth frames"
        )
    if not pred_frames:
        raise ValueError("empty sequence: at least one frame is needed to score a case")
    if mode == "davis":
        boundary_radius((1, 1), bound_th)  # reject a bad bound_th before any work
    for t, (p, g) in enumerate(zip(pred_frames, gt_frames, strict=True)):
        if p.ndim != 2 or p.shape != g.shape:
            try:
                _pair(p, g, mode)
            except ValueError as err:
                raise ValueError(f"frame {t}: {err}") from None
    pairs = _binarised(pred_frames, gt_frames, mode)
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

    Bool and uint8 masks keep their values exactly; other numeric masks go through float32.
    """
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {arr.shape}")
    h, w = (int(n) for n in shape)
    if h <= 0 or w <= 0:
        raise ValueError(f"target shape must be positive (H, W), got {tuple(shape)}")
    if arr.shape == (h, w):
        return arr.copy()
    if arr.dtype in (np.bool_, np.uint8):
        img = Image.fromarray(arr.astype(np.uint8))
    else:
        img = Image.fromarray(arr.astype(np.float32))
    return np.asarray(img.resize((w, h), Image.Resampling.NEAREST)).astype(arr.dtype)
