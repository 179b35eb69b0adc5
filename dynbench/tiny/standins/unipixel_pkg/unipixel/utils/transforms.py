"""Stand-in ``get_sam2_transform``: uint8 (T, H, W, 3) -> float (T, 3, size, size), Hiera mean/std.

As UniPixel's: to float in [0, 1] channels-first, resized to a square with antialiasing
(torchvision's tensor resize), normalised with ImageNet (Hiera) statistics.
"""

from __future__ import annotations

import torch
from torchvision.transforms import functional as TF

HIERA_MEAN = (0.485, 0.456, 0.406)
HIERA_STD = (0.229, 0.224, 0.225)


def get_sam2_transform(size):
    def transform(video: torch.Tensor) -> torch.Tensor:
        x = video.float().permute(0, 3, 1, 2) / 255
        x = TF.resize(x, [size, size], antialias=True)
        return TF.normalize(x, HIERA_MEAN, HIERA_STD)

    return transform
