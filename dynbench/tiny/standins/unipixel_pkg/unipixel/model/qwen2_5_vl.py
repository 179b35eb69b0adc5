"""Stand-in ``unipixel.model.qwen2_5_vl``: registers the stand-in classes like the real module.

The real module imports ``MODEL_FOR_VISION_2_SEQ_MAPPING_NAMES`` from transformers 4's auto
mapping (gone in transformers 5, where this import fails exactly as the real one does), adds
its model type to it, and registers config, model and processor with ``AutoConfig``,
``AutoModel`` and ``AutoProcessor``: real UniPixel checkpoints carry no ``auto_map``.
"""

from transformers import AutoConfig, AutoModel, AutoProcessor
from transformers.models.auto.modeling_auto import MODEL_FOR_VISION_2_SEQ_MAPPING_NAMES

from dynbench.tiny.standins.unipixel_standin import (
    PatchedQwen2_5_VLStandInProcessor as PatchedQwen2_5_VLProcessor,
)
from dynbench.tiny.standins.unipixel_standin import (
    PixelQwen2_5_VLStandInConfig as PixelQwen2_5_VLConfig,
)
from dynbench.tiny.standins.unipixel_standin import (
    PixelQwen2_5_VLStandInForConditionalGeneration as PixelQwen2_5_VLForConditionalGeneration,
)

MODEL_FOR_VISION_2_SEQ_MAPPING_NAMES[PixelQwen2_5_VLConfig.model_type] = (
    "PixelQwen2_5_VLForConditionalGeneration")
AutoConfig.register(PixelQwen2_5_VLConfig.model_type, PixelQwen2_5_VLConfig, exist_ok=True)
AutoModel.register(PixelQwen2_5_VLConfig, PixelQwen2_5_VLForConditionalGeneration,
                   exist_ok=True)
AutoProcessor.register(PixelQwen2_5_VLConfig, PatchedQwen2_5_VLProcessor, exist_ok=True)
