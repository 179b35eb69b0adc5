"""Stand-in ``get_sam2_transform``: uint8 (T, H, W, 3) -> (T, 3, size, size), Hiera mean/std."""

from __future__ import annotations

import torch
import torch.nn.functional as F

HIERA_MEAN = (0.485, 0.456, 0.406)
HIERA_STD = (0.229, 0.224, 0.225)


def get_sam2_transform(size):
    def transform(video: torch.Tensor) -> torch.Tensor:
        x = video.float().permute(0, 3, 1, 2) / 255
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True,
                          align_corners=False)
        mean = x.new_tensor(HIERA_MEAN)[None, :, None, None]
        std = x.new_tensor(HIERA_STD)[None, :, None, None]
        return (x - mean) / std

    return transform
