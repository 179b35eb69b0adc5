"""Stand-in ``unipixel.model``: importing it registers the model classes, as the real one."""

from .qwen2_5_vl import (
    PatchedQwen2_5_VLProcessor,
    PixelQwen2_5_VLConfig,
    PixelQwen2_5_VLForConditionalGeneration,
)

MODELS = {"qwen2_5_vl": (PixelQwen2_5_VLConfig, PixelQwen2_5_VLForConditionalGeneration,
                         PatchedQwen2_5_VLProcessor)}
