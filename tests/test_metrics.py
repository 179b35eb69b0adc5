"""Tests for dynbench.metrics against a deliberately plain, independent implementation.

The reference code below follows spec/metrics.md literally, on full frames: explicit
neighbour comparisons for the boundary, ``scipy.ndimage.binary_dilation`` with an explicit
disk for the matching, and hand-written cross erosion/dilation for the compatibility mode.
It shares nothing with the fast module.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from dynbench import metrics
from dynbench.metrics import (
    MODES,
    SequenceScore,
    boundary_map,
    boundary_radius,
    f_measure,
    frame_scores,
    jaccard,
    reference_f_measure,
    resize_nearest,
    sequence_scores,
)

TOL = 1e-9
FRACTIONS = (0.008, 0.05, 0.2)
PIXELS = (1, 2, 3.0, 5)
SIZES = (1, 2, 3, 5, 8, 13, 17, 31, 40, 60, 64, 65, 80)

# ---------------------------------------------------------------------------------------------
# Independent reference implementation


def ref_boundary(mask: np.ndarray) -> np.ndarray:
    """Boundary by the spec's words: differs from E, S or SE; last row E only; last col S only."""
    m = np.asarray(mask) != 0
    b = np.zeros(m.shape, dtype=bool)
    core = m[:-1, :-1]
    b[:-1, :-1] = (core != m[:-1, 1:]) | (core != m[1:, :-1]) | (core != m[1:, 1:])
    b[-1, :-1] = m[-1, :-1] != m[-1, 1:]
    b[:-1, -1] = m[:-1, -1] != m[1:, -1]
    b[-1, -1] = False
    return b


def loop_boundary(mask: np.ndarray) -> np.ndarray:
    """Pixel-by-pixel: compare with whichever of E, S, SE exist."""
    m = np.asarray(mask) != 0
    h, w = m.shape
    b = np.zeros((h, w), dtype=bool)
    for y in range(h):
        for x in range(w):
            nbrs = []
            if x + 1 < w:
                nbrs.append(m[y, x + 1])
            if y + 1 < h:
                nbrs.append(m[y + 1, x])
            if x + 1 < w and y + 1 < h:
                nbrs.append(m[y + 1, x + 1])
            b[y, x] = any(n != m[y, x] for n in nbrs)
    return b


def ref_radius(shape: tuple[int, int], bound_th: float) -> int:
    """The DAVIS toolkit's expression."""
    return int(bound_th if bound_th >= 1 else np.ceil(bound_th * np.linalg.norm(shape)))


def ref_disk(r: int) -> np.ndarray:
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    return yy**2 + xx**2 <= r * r


def ref_jaccard(p: np.ndarray, g: np.ndarray) -> float:
    union = np.sum(p | g)
    return 1.0 if union == 0 else float(np.sum(p & g) / union)


def ref_f(p: np.ndarray, g: np.ndarray, bound_th: float) -> float:
    r = ref_radius(p.shape, bound_th)
    pb, gb = ref_boundary(p), ref_boundary(g)
    n_p, n_g = pb.sum(), gb.sum()
    if n_p == 0 and n_g == 0:
        prec, rec = 1.0, 1.0
    elif n_p == 0:
        prec, rec = 1.0, 0.0
    elif n_g == 0:
        prec, rec = 0.0, 1.0
    else:
        prec = np.sum(pb & ndimage.binary_dilation(gb, ref_disk(r))) / n_p
        rec = np.sum(gb & ndimage.binary_dilation(pb, ref_disk(r))) / n_g
    return 0.0 if prec + rec == 0 else float(2 * prec * rec / (prec + rec))


def ref_davis(pred: np.ndarray, gt: np.ndarray, bound_th: float) -> tuple[float, float]:
    p, g = np.asarray(pred) != 0, np.asarray(gt) != 0
    return ref_jaccard(p, g), ref_f(p, g, bound_th)


def shifted(m: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """out[y, x] = m[y - dy, x - dx], zero where that is outside the image."""
    h, w = m.shape
    out = np.zeros_like(m)
    if abs(dy) >= h or abs(dx) >= w:
        return out
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = m[
        max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


CROSS = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))


def cross_erode(m: np.ndarray) -> np.ndarray:
    out = np.ones_like(m)
    for dy, dx in CROSS:
        out &= shifted(m, dy, dx)
    return out


def cross_dilate(m: np.ndarray) -> np.ndarray:
    out = np.zeros_like(m)
    for dy, dx in CROSS:
        out |= shifted(m, dy, dx)
    return out


def ref_compat(pred: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    """The reference dyn-bench measure, by hand."""
    p, g = np.asarray(pred) > 0.5, np.asarray(gt) > 0
    pb = p ^ cross_erode(cross_erode(p))
    gb = g ^ cross_erode(cross_erode(g))
    n_p, n_g = pb.sum(), gb.sum()
    if n_p == 0 and n_g == 0:
        f = 1.0
    elif n_p == 0 or n_g == 0:
        f = 0.0
    else:
        prec = np.sum(pb & cross_dilate(cross_dilate(gb))) / n_p
        rec = np.sum(gb & cross_dilate(cross_dilate(pb))) / n_g
        f = 0.0 if prec + rec == 0 else float(2 * prec * rec / (prec + rec))
    return ref_jaccard(p, g), f


# ---------------------------------------------------------------------------------------------
# Random masks


def random_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """One of many mask families, biased towards the awkward ones."""
    kind = int(rng.integers(11))
    m = np.zeros((h, w), dtype=bool)
    if kind == 0:
        pass  # empty
    elif kind == 1:
        m[:] = True
    elif kind == 2:
        m[rng.integers(h), rng.integers(w)] = True
    elif kind == 3:
        m = rng.random((h, w)) < rng.uniform(0.05, 0.95)
    elif kind in (4, 5):
        y0, x0 = rng.integers(h), rng.integers(w)
        m[y0 : rng.integers(y0, h) + 1, x0 : rng.integers(x0, w) + 1] = True
        if kind == 5 and h > 2 and w > 2:
            m[1:-1, 1:-1] &= rng.random() < 0.5  # sometimes hollow
    elif kind == 6:
        sigma = rng.uniform(0.5, 4)
        m = ndimage.gaussian_filter(rng.random((h, w)), sigma) > rng.uniform(0.45, 0.55)
    elif kind == 7:
        if rng.random() < 0.5:
            m[rng.integers(h), rng.integers(w) :] = True
        else:
            m[rng.integers(h) :, rng.integers(w)] = True
    elif kind == 8:
        n = min(h, w)
        k = int(rng.integers(n))
        idx = np.arange(n - k)
        m[idx + k * (rng.random() < 0.5), idx] = True  # diagonal
    elif kind == 9:
        yy, xx = np.mgrid[0:h, 0:w]
        cy, cx, r = rng.uniform(-2, h + 2), rng.uniform(-2, w + 2), rng.uniform(0.5, max(h, w))
        m = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    else:
        m[:, : rng.integers(w + 1)] = True  # half plane touching three edges
    return m


def perturbed(rng: np.random.Generator, m: np.ndarray) -> np.ndarray:
    """A prediction near ``m``: shifted, with a few pixels flipped."""
    dy, dx = (int(v) for v in rng.integers(-3, 4, 2))
    out = shifted(m, dy, dx)
    flips = rng.random(m.shape) < rng.uniform(0, 0.05)
    return out ^ flips


def random_pair(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    gt = random_mask(rng, h, w)
    pred = perturbed(rng, gt) if rng.random() < 0.5 else random_mask(rng, h, w)
    return pred, gt


def random_size(rng: np.random.Generator) -> tuple[int, int]:
    if rng.random() < 0.4:
        return int(rng.choice(SIZES)), int(rng.choice(SIZES))
    return int(rng.integers(1, 61)), int(rng.integers(1, 81))


# ---------------------------------------------------------------------------------------------
# Boundary map and radius


def test_reference_boundary_agrees_with_pixel_loop():
    rng = np.random.default_rng(0)
    for _ in range(150):
        m = random_mask(rng, int(rng.integers(1, 9)), int(rng.integers(1, 9)))
        np.testing.assert_array_equal(ref_boundary(m), loop_boundary(m))


def test_boundary_map_matches_definition():
    rng = np.random.default_rng(1)
    for _ in range(1500):
        m = random_mask(rng, *random_size(rng))
        got = boundary_map(m)
        assert got.dtype == np.bool_ and got.shape == m.shape
        np.testing.assert_array_equal(got, ref_boundary(m))


@pytest.mark.parametrize(
    "view",
    [lambda a: a[:, ::2], lambda a: a.T, lambda a: a[1:, 3:], lambda a: a.astype(np.uint8) * 255],
    ids=["strided", "transposed", "offset", "uint8"],
)
def test_boundary_map_on_views_and_dtypes(view):
    rng = np.random.default_rng(2)
    for _ in range(100):
        m = view(random_mask(rng, int(rng.integers(4, 70)), int(rng.integers(4, 140))))
        np.testing.assert_array_equal(boundary_map(m), ref_boundary(m))


def test_boundary_map_small_known_cases():
    centre = np.zeros((3, 3), bool)
    centre[1, 1] = True
    expected = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 0]], bool)
    np.testing.assert_array_equal(boundary_map(centre), expected)
    assert not boundary_map(np.ones((4, 5))).any()  # full: nothing differs
    assert not boundary_map(np.ones((1, 1))).any()
    np.testing.assert_array_equal(boundary_map(np.array([[0, 1, 1, 0]])), [[1, 0, 1, 0]])
    np.testing.assert_array_equal(boundary_map(np.array([[1], [0], [0]])), [[1], [0], [0]])


def test_boundary_radius_matches_toolkit_expression():
    rng = np.random.default_rng(3)
    shapes = [(1, 1), (3, 4), (720, 1280), (1080, 1920), (480, 854)]
    shapes += [tuple(int(v) for v in rng.integers(1, 3000, 2)) for _ in range(300)]
    for shape in shapes:
        for th in (0.0, 0.001, 0.008, 0.05, 0.1, 0.2, 0.5, 0.999, 1, 2.0, 12, 40):
            assert boundary_radius(shape, th) == ref_radius(shape, th)
    assert boundary_radius((720, 1280), 0.008) == 12
    assert boundary_radius((3, 4), 0.2) == 1  # 0.2 * 5 is exactly 1 in floating point


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), 2.5, 1.0001])
def test_boundary_radius_rejects_bad_thresholds(bad):
    with pytest.raises(ValueError, match="bound_th"):
        boundary_radius((10, 10), bad)
    with pytest.raises(ValueError, match="bound_th"):
        f_measure(np.ones((4, 4)), np.ones((4, 4)), bound_th=bad)
    with pytest.raises(ValueError, match="bound_th"):
        sequence_scores([np.ones((4, 4))], [np.ones((4, 4))], bound_th=bad)


# ---------------------------------------------------------------------------------------------
# DAVIS J and F against the reference


@pytest.mark.parametrize("bound_th", FRACTIONS + PIXELS + (0,))
def test_frame_scores_match_reference(bound_th):
    rng = np.random.default_rng(int(bound_th * 1000) + 7)
    for _ in range(350):
        pred, gt = random_pair(rng, *random_size(rng))
        want = ref_davis(pred, gt, bound_th)
        got = frame_scores(pred, gt, bound_th=bound_th)
        assert got == pytest.approx(want, abs=TOL), (pred.shape, bound_th)
        assert f_measure(pred, gt, bound_th) == pytest.approx(want[1], abs=TOL)
        assert jaccard(pred, gt) == pytest.approx(want[0], abs=TOL)


@pytest.mark.parametrize("bound_th", [0.008, 12])
def test_larger_frames_cross_many_words(bound_th):
    """Windows several 64-pixel words wide, objects touching every edge, r up to 12."""
    rng = np.random.default_rng(11)
    for _ in range(12):
        h, w = int(rng.integers(100, 200)), int(rng.integers(150, 330))
        gt = ndimage.gaussian_filter(rng.random((h, w)), 6) > 0.5
        pred = perturbed(rng, gt)
        got = frame_scores(pred, gt, bound_th=bound_th)
        assert got == pytest.approx(ref_davis(pred, gt, bound_th), abs=TOL)


def test_sequence_batches_match_per_frame_reference(monkeypatch):
    """Many frames, mixed sizes (so mixed radii) and batch sizes, equal the reference."""
    rng = np.random.default_rng(12)
    for batch_words in (1, 64, 1 << 13, 1 << 20):
        monkeypatch.setattr(metrics, "_BATCH_WORDS", batch_words)
        for _ in range(12):
            bound_th = float(rng.choice([0.008, 0.05, 0.2, 1, 3]))
            size = random_size(rng)
            pairs = [
                random_pair(rng, *(size if rng.random() < 0.7 else random_size(rng)))
                for _ in range(int(rng.integers(1, 9)))
            ]
            score = sequence_scores([p for p, _ in pairs], [g for _, g in pairs], "davis", bound_th)
            want = [ref_davis(p, g, bound_th) for p, g in pairs]
            assert score.per_frame_j == pytest.approx([j for j, _ in want], abs=TOL)
            assert score.per_frame_f == pytest.approx([f for _, f in want], abs=TOL)


def test_popcount_fallback_for_old_numpy(monkeypatch):
    """numpy < 2 has no bitwise_count; the lookup-table path must give the same counts."""
    monkeypatch.setattr(metrics, "_HAS_BITWISE_COUNT", False)
    rng = np.random.default_rng(18)
    for _ in range(60):
        pred, gt = random_pair(rng, *random_size(rng))
        assert frame_scores(pred, gt) == pytest.approx(ref_davis(pred, gt, 0.008), abs=TOL)


def test_far_apart_and_just_in_reach():
    """Masks beyond the radius score 0; one pixel closer they must match the reference."""
    for gap in range(0, 8):
        pred, gt = np.zeros((20, 40), bool), np.zeros((20, 40), bool)
        pred[5:9, 2:6] = True
        gt[5:9, 6 + gap : 10 + gap] = True
        for bound_th in (1, 2, 3, 5):
            want = ref_davis(pred, gt, bound_th)
            assert frame_scores(pred, gt, bound_th=bound_th) == pytest.approx(want, abs=TOL)
            assert frame_scores(pred.T, gt.T, bound_th=bound_th) == pytest.approx(want, abs=TOL)


# ---------------------------------------------------------------------------------------------
# Hand-computed values and degenerate cases


def test_hand_computed_3x3():
    # G: centre pixel -> boundary {(0,0), (0,1), (1,0), (1,1)}.
    # P: bottom-right pixel -> boundary {(1,1), (1,2), (2,1)}.
    # r = ceil(0.008 * sqrt(18)) = 1: every P pixel is within 1 of (1,1), so precision 3/3;
    # G's (0,0) is sqrt(2) from P's boundary, so recall 3/4 and F = 1.5 / 1.75 = 6/7.
    gt = np.zeros((3, 3), bool)
    gt[1, 1] = True
    pred = np.zeros((3, 3), bool)
    pred[2, 2] = True
    assert frame_scores(pred, gt) == pytest.approx((0.0, 6 / 7), abs=TOL)
    assert f_measure(pred, gt, bound_th=2) == pytest.approx(1.0)  # r = 2 reaches (0,0)
    assert f_measure(pred, gt, bound_th=0) == pytest.approx(2 / 7)  # P 1/3, R 1/4
    score = sequence_scores([pred], [gt])
    assert (score.j, score.f, score.jf) == pytest.approx((0.0, 6 / 7, 3 / 7), abs=TOL)


def test_hand_computed_jaccard():
    pred = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 0]])
    gt = np.array([[0, 1, 1], [0, 1, 1], [0, 0, 0]])
    assert jaccard(pred, gt) == pytest.approx(2 / 6)


@pytest.mark.parametrize(
    ("pred", "gt", "want"),
    [
        (np.zeros((4, 5)), np.zeros((4, 5)), (1.0, 1.0)),  # both empty
        (np.ones((4, 5)), np.ones((4, 5)), (1.0, 1.0)),  # both full: no boundaries
        (np.zeros((4, 5)), np.eye(4, 5), (0.0, 0.0)),  # prediction empty: P=1, R=0
        (np.eye(4, 5), np.zeros((4, 5)), (0.0, 0.0)),  # ground truth empty: P=0, R=1
        (np.zeros((4, 5)), np.ones((4, 5)), (0.0, 1.0)),  # no boundary on either side
        (np.ones((1, 1)), np.ones((1, 1)), (1.0, 1.0)),
        (np.ones((1, 1)), np.zeros((1, 1)), (0.0, 1.0)),  # a 1x1 image has no boundary
    ],
)
def test_degenerate_frames(pred, gt, want):
    assert frame_scores(pred, gt) == pytest.approx(want, abs=TOL)
    assert frame_scores(pred, gt) == pytest.approx(ref_davis(pred, gt, 0.008), abs=TOL)


def test_lines_and_single_pixels_on_thin_images():
    rng = np.random.default_rng(13)
    for shape in [(1, 1), (1, 2), (2, 1), (1, 97), (97, 1), (2, 130), (130, 2)]:
        for _ in range(40):
            pred, gt = (rng.random(shape) < rng.random() for _ in range(2))
            for bound_th in (0.008, 0.2, 1, 3):
                want = ref_davis(pred, gt, bound_th)
                assert frame_scores(pred, gt, bound_th=bound_th) == pytest.approx(want, abs=TOL)


def test_numeric_inputs_use_nonzero_as_foreground():
    rng = np.random.default_rng(14)
    gt = ndimage.gaussian_filter(rng.random((30, 40)), 3) > 0.5
    pred = perturbed(rng, gt)
    want = frame_scores(pred, gt)
    assert frame_scores(pred.astype(np.uint8) * 255, gt.astype(np.float32) * 0.1) == want
    assert frame_scores(pred.astype(np.int64) * -3, gt.astype(np.uint8)) == want


def test_returns_plain_floats():
    pred, gt = np.eye(6, dtype=bool), np.eye(6, k=1, dtype=bool)
    values = [*frame_scores(pred, gt), *frame_scores(pred, gt, "reference"), jaccard(pred, gt)]
    values += [f_measure(pred, gt), reference_f_measure(pred, gt)]
    score = sequence_scores([pred, gt], [gt, gt])
    values += [score.j, score.f, score.jf, *score.per_frame_j, *score.per_frame_f]
    assert all(type(v) is float for v in values)
    assert type(boundary_radius((6, 6), 0.5)) is int


# ---------------------------------------------------------------------------------------------
# Compatibility mode


def test_reference_mode_matches_hand_written_morphology():
    rng = np.random.default_rng(15)
    for _ in range(1200):
        pred, gt = random_pair(rng, *random_size(rng))
        pred = pred * rng.uniform(0.3, 1.0, pred.shape)  # probabilities around the 0.5 cut
        gt = gt * rng.integers(1, 3, gt.shape)
        want = ref_compat(pred, gt)
        assert frame_scores(pred, gt, mode="reference") == pytest.approx(want, abs=TOL)
        assert reference_f_measure(pred, gt) == pytest.approx(want[1], abs=TOL)


def test_reference_mode_known_values():
    gt = np.zeros((3, 3))
    gt[1, 1] = 1
    pred = np.zeros((3, 3))
    pred[2, 2] = 1
    # Single pixels are their own boundary; L1 distance 2 is within two cross dilations.
    assert frame_scores(pred, gt, mode="reference") == (0.0, 1.0)
    far = np.zeros((5, 5))
    far[3, 2] = 1  # L1 distance 3 from (1, 1): out of reach
    near = np.zeros((5, 5))
    near[1, 1] = 1
    assert reference_f_measure(far, near) == 0.0
    assert reference_f_measure(np.zeros((5, 5)), np.zeros((5, 5))) == 1.0
    assert reference_f_measure(np.zeros((5, 5)), near) == 0.0
    # A full 5x5 image erodes to its centre, leaving a 24-pixel boundary.
    assert reference_f_measure(np.ones((5, 5)), np.ones((5, 5))) == 1.0


def test_reference_mode_binarisation():
    gt = np.zeros((6, 6))
    gt[2:4, 2:4] = 0.01  # any positive ground truth is foreground
    pred = np.zeros((6, 6))
    pred[2:4, 2:4] = 0.5  # exactly 0.5 is background
    assert frame_scores(pred, gt, mode="reference") == (0.0, 0.0)
    pred[2:4, 2:4] = 0.51
    assert frame_scores(pred, gt, mode="reference") == (1.0, 1.0)
    seq = sequence_scores(pred[None], gt[None], mode="reference")
    assert (seq.j, seq.f, seq.jf) == (1.0, 1.0, 1.0)


# ---------------------------------------------------------------------------------------------
# Sequences and errors


def test_sequence_scores_average_frames():
    rng = np.random.default_rng(16)
    preds, gts = zip(*(random_pair(rng, 24, 31) for _ in range(7)), strict=True)
    for mode in MODES:
        from_list = sequence_scores(list(preds), list(gts), mode=mode)
        from_array = sequence_scores(np.stack(preds), np.stack(gts), mode=mode)
        assert from_list == from_array
        assert isinstance(from_list, SequenceScore)
        frames = [frame_scores(p, g, mode=mode) for p, g in zip(preds, gts, strict=True)]
        assert from_list.per_frame_j == pytest.approx([j for j, _ in frames], abs=TOL)
        assert from_list.per_frame_f == pytest.approx([f for _, f in frames], abs=TOL)
        assert from_list.j == pytest.approx(np.mean([j for j, _ in frames]), abs=TOL)
        assert from_list.f == pytest.approx(np.mean([f for _, f in frames]), abs=TOL)
        assert from_list.jf == pytest.approx((from_list.j + from_list.f) / 2, abs=TOL)


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(4, 5\).*\(4, 6\)"):
        frame_scores(np.zeros((4, 5)), np.zeros((4, 6)))
    for func in (jaccard, f_measure, reference_f_measure):
        with pytest.raises(ValueError, match="shape"):
            func(np.zeros((4, 5)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"frame 1.*\(3, 3\).*\(3, 4\)"):
        sequence_scores([np.zeros((3, 4)), np.zeros((3, 3))], [np.zeros((3, 4))] * 2)


def test_sequence_errors():
    with pytest.raises(ValueError, match="empty sequence"):
        sequence_scores([], [])
    with pytest.raises(ValueError, match="empty sequence"):
        sequence_scores(np.zeros((0, 4, 4)), np.zeros((0, 4, 4)))
    with pytest.raises(ValueError, match="2 prediction frames but 3 ground-truth"):
        sequence_scores(np.zeros((2, 4, 4)), np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match=r"\(T, H, W\)"):
        sequence_scores(np.zeros((4, 4)), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="unknown mode"):
        sequence_scores([np.zeros((4, 4))], [np.zeros((4, 4))], mode="davis2017")
    with pytest.raises(ValueError, match="unknown mode"):
        frame_scores(np.zeros((4, 4)), np.zeros((4, 4)), mode="nope")
    with pytest.raises(ValueError, match="2-D"):
        frame_scores(np.zeros((2, 4, 4)), np.zeros((2, 4, 4)))


# ---------------------------------------------------------------------------------------------
# Resizing


def test_resize_nearest_upscales_blocks():
    mask = np.array([[True, False], [False, True]])
    out = resize_nearest(mask, (4, 6))
    assert out.dtype == np.bool_ and out.shape == (4, 6)
    np.testing.assert_array_equal(out, np.kron(mask, np.ones((2, 3), bool)))


def test_resize_nearest_matches_pil_and_keeps_dtype():
    rng = np.random.default_rng(17)
    for _ in range(30):
        mask = rng.random((int(rng.integers(1, 50)), int(rng.integers(1, 50)))) < 0.5
        shape = (int(rng.integers(1, 70)), int(rng.integers(1, 70)))
        img = Image.fromarray(mask.astype(np.uint8) * 255).resize(
            (shape[1], shape[0]), Image.Resampling.NEAREST
        )
        out = resize_nearest(mask, shape)
        np.testing.assert_array_equal(out, np.asarray(img) > 0)
        labels = mask.astype(np.uint8) * 7
        np.testing.assert_array_equal(resize_nearest(labels, shape), out.astype(np.uint8) * 7)
        probs = mask * 0.75
        np.testing.assert_array_equal(resize_nearest(probs, shape), out * 0.75)


def test_resize_nearest_same_shape_and_errors():
    mask = np.eye(3, dtype=bool)
    out = resize_nearest(mask, (3, 3))
    np.testing.assert_array_equal(out, mask)
    assert out is not mask
    with pytest.raises(ValueError, match="positive"):
        resize_nearest(mask, (0, 3))
    with pytest.raises(ValueError, match="2-D"):
        resize_nearest(np.zeros((2, 3, 3)), (3, 3))


def test_resized_prediction_can_be_scored():
    gt = np.zeros((40, 60), bool)
    gt[10:30, 15:45] = True
    pred = resize_nearest(resize_nearest(gt, (20, 30)), gt.shape)  # loses a column or row
    assert pred.shape == gt.shape
    assert frame_scores(pred, gt) == pytest.approx(ref_davis(pred, gt, 0.008), abs=TOL)
    assert 0.9 < jaccard(pred, gt) < 1.0
