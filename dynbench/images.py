"""Opening dataset images: a pixel limit, named errors, and the rule that reads a mask.

Mask rule (every mask file, ground truth or saved prediction, is read this way):

* 8-bit grey ``L``, 16-bit grey ``I;16``/``I``, float ``F``, 1-bit: a pixel is object when
  its value is > 0;
* palette ``P``: by *index*, index > 0 is object, whatever colours the palette holds (a
  palette whose index 0 is white is not inverted);
* ``RGB``: object where any channel is > 0; ``RGBA``/``LA``: when the alpha channel varies,
  object where alpha > 0 (transparent background), else as ``RGB``/``L``;
* JPEG masks (lossy): the same rule with threshold 127 instead of 0, so compression noise
  around the shape is not object;
* any other mode (CMYK, ...) is a data error naming the file and its mode.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from dynbench import safefs
from dynbench.data import DataError

MAX_PIXELS = 8192 * 8192  # 67 Mpx: far above any video frame, far below a decompression bomb
JPEG_SUFFIXES = (".jpg", ".jpeg")
JPEG_MASK_THRESHOLD = 127


def rel(path: Path, root: Path) -> str:
    try:
        text = path.relative_to(root).as_posix()
    except ValueError:
        text = str(path)
    return safefs.printable(text)


@contextmanager
def open_image(path: Path, root: Path) -> Iterator[Image.Image]:
    """``Image.open`` that names the file in every failure and refuses images above
    ``MAX_PIXELS`` before any pixel is decoded."""
    where = rel(path, root)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
    except FileNotFoundError:
        raise DataError(f"{where}: file is missing") from None
    except Image.DecompressionBombError as exc:
        raise DataError(f"{where}: image too large to decode ({exc}); the limit is "
                        f"{_mpx(MAX_PIXELS)}") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"{where}: cannot decode image ({exc}); replace the file") from None
    try:
        width, height = im.size
        if width * height > MAX_PIXELS:
            raise DataError(f"{where}: image is {width}x{height} ({_mpx(width * height)}), "
                            f"above the {_mpx(MAX_PIXELS)} limit (dynbench.images.MAX_PIXELS); "
                            "downscale it")
        yield im
    finally:
        im.close()


def _mpx(pixels: int) -> str:
    return f"{pixels / 1e6:.0f} Mpx"


def decode_image(path: Path, root: Path, mode: str) -> Image.Image:
    with open_image(path, root) as im:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                return im.convert(mode)
        except (OSError, ValueError, SyntaxError) as exc:
            raise DataError(f"{rel(path, root)}: cannot decode image ({exc}); replace the "
                            "file") from None


def image_size(path: Path, root: Path) -> tuple[int, int]:
    """Image size (W, H) without decoding pixels."""
    with open_image(path, root) as im:
        return im.size


def read_mask(path: Path, root: Path) -> np.ndarray:
    """A mask file as a bool (H, W) array, by the rule in this module's docstring."""
    with open_image(path, root) as im:
        try:
            im.load()
            arr = np.asarray(im)
        except (OSError, ValueError, SyntaxError) as exc:
            raise DataError(f"{rel(path, root)}: cannot decode mask ({exc}); replace the "
                            "file") from None
        mode = im.mode
    threshold = JPEG_MASK_THRESHOLD if path.suffix.lower() in JPEG_SUFFIXES else 0
    if mode in ("1",):
        return arr.astype(bool)
    if mode in ("L", "P", "I", "F") or mode.startswith("I;16"):
        return arr > threshold
    if mode in ("RGB", "RGBA", "LA", "PA"):
        return _with_alpha(arr, mode, threshold)
    raise DataError(f"{rel(path, root)}: mask image mode {mode} is not supported (expected "
                    "grey, palette, RGB or RGBA); re-save it as an 8-bit grey PNG")


def _with_alpha(arr: np.ndarray, mode: str, threshold: int) -> np.ndarray:
    colour = arr[..., :3] if mode.startswith("RGB") else arr[..., :1]
    if mode in ("RGBA", "LA", "PA"):
        alpha = arr[..., -1]
        if alpha.min() != alpha.max():
            return alpha > threshold
    return colour.max(axis=-1) > threshold
