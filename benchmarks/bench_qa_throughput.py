"""QA throughput: the reference per-question loop vs the suite's cached path, in one process.

GPU (no download: a FULL-SIZE architecture with random weights, built from a hand-written
copy of the checkpoint's config, bf16, SDPA)::

    python benchmarks/bench_qa_throughput.py --model-family qwen2_5_vl --videos 6 --questions 7
    python benchmarks/bench_qa_throughput.py --model-family qwen3_vl --videos 1 --questions 3

CPU smoke check (tiny random model of the same architecture, fp32)::

    python benchmarks/bench_qa_throughput.py --tiny

Synthetic videos (``--frames`` JPEG frames of ``--size``, written to a temp folder) each get
``--questions`` multiple-choice questions in the benchmark's prompt format. Modes, same model,
same questions, each after one untimed warm-up question on an extra video:

* ``reference``: the reference implementation's loop; per question: decode the JPEG frames,
  run the processor, ``generate`` (greedy, ``--max-new-tokens``), ``torch.cuda.empty_cache()``.
* ``suite``: ``HFChatAdapter.answer`` as the runner calls it (frames decoded once per video
  through ``FrameCache``; ``warm()`` on the next video when a video starts), with the
  preprocessing cache and the video-prefix KV cache.
* ``plain`` (``--with-plain``): the adapter with ``prefix_cache: false`` (preprocessing cache
  only), to separate the two gains.

Prints questions/second per mode, the ratio to ``reference``, answer agreement with
``reference`` (decoded text and generated token ids) and peak GPU memory; ``--json FILE``
writes the same numbers. Random weights give meaningless answers, but the token-for-token
agreement of the paths is meaningful (bf16 kernels may flip a near-tie now and then).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def ensure_dynbench() -> None:
    """Import dynbench, also from a plain checkout (``adapters/`` is ``dynbench.adapters``
    only through the editable install's package-dir mapping; add it by hand otherwise)."""
    try:
        import dynbench.adapters.hf_common  # noqa: F401
        return
    except ImportError:
        pass
    sys.path.insert(0, str(ROOT))
    import dynbench

    if str(ROOT) not in list(dynbench.__path__):
        dynbench.__path__.append(str(ROOT))  # dynbench.adapters -> ROOT/adapters
    import dynbench.adapters.hf_common  # noqa: F401


# --------------------------------------------------------------------------- tokenizers
QWEN25_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>",
                   "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>",
                   "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
                   "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>",
                   "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
                   "<|repo_name|>", "<|file_sep|>")  # ids 151643..151664, as in Qwen2.5
QWEN3_SPECIALS = QWEN25_SPECIALS + ("<tool_response>", "</tool_response>", "<think>",
                                    "</think>")  # 151665..151668
INTERNVL3_SPECIALS = QWEN25_SPECIALS + ("<img>", "</img>", "<IMG_CONTEXT>", "<quad>", "</quad>",
                                        "<ref>", "</ref>", "<box>", "</box>")  # 151665..151673
FIRST_SPECIAL_ID = 151643  # <|endoftext|> in every Qwen2/2.5/3 tokenizer
EXPECTED_IDS = {"<|im_end|>": 151645, "<|vision_start|>": 151652, "<|vision_end|>": 151653,
                "<|image_pad|>": 151655, "<|video_pad|>": 151656, "<IMG_CONTEXT>": 151667}


def _corpus() -> list[str]:
    words = [q for q, _ in QUESTIONS] + [o for _, opts in QUESTIONS for o in opts]
    from dynbench.answers import INSTRUCTION

    text = " ".join(words) + " " + INSTRUCTION + " You are a helpful assistant. system user"
    return [text] * 4 + [" ".join(words[i::3]) for i in range(3)]


def real_id_tokenizer(specials: tuple[str, ...], **named: Any):
    """Byte-level BPE whose special tokens sit at the real Qwen ids (<|endoftext|> = 151643).

    A small BPE is trained offline on the benchmark's own question text (so prompts take
    about as many tokens as with the real tokenizer), then padded with unreachable filler
    entries up to id 151642; the specials follow in the real order.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Qwen2TokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    trainer_tok = Tokenizer(models.BPE())
    trainer_tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=1200, initial_alphabet=alphabet,
                                  show_progress=False, min_frequency=1)
    trainer_tok.train_from_iterator(_corpus(), trainer)
    model = json.loads(trainer_tok.to_str())["model"]
    vocab = dict(model["vocab"])
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m)
              for m in model["merges"]]
    for i in range(len(vocab), FIRST_SPECIAL_ID):
        vocab[f"<filler_{i}>"] = i
    backend = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens([AddedToken(s, special=True, normalized=False)
                                for s in specials])
    tok = Qwen2TokenizerFast(tokenizer_object=backend, eos_token="<|im_end|>",
                             pad_token="<|endoftext|>", unk_token=None, **named)
    for token, expected in EXPECTED_IDS.items():
        if token in specials and tok.convert_tokens_to_ids(token) != expected:
            raise AssertionError(f"{token} got id {tok.convert_tokens_to_ids(token)}, "
                                 f"expected {expected}")
    return tok


# --------------------------------------------------------------------------- full-size models
def _qwen_ids() -> dict[str, int]:
    return {"image_token_id": 151655, "video_token_id": 151656,
            "vision_start_token_id": 151652, "vision_end_token_id": 151653}


def qwen2_5_vl_7b(layers: int | None = None) -> tuple[Any, Any]:
    """Config of Qwen/Qwen2.5-VL-7B-Instruct (config.json values) and its processor."""
    import transformers as tf

    from dynbench.tiny.native import chat_template

    text = {"vocab_size": 152064, "hidden_size": 3584, "intermediate_size": 18944,
            "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4,
            "hidden_act": "silu", "max_position_embeddings": 128000, "rms_norm_eps": 1e-6,
            "rope_theta": 1000000.0, "use_sliding_window": False, "sliding_window": 32768,
            "max_window_layers": 28, "tie_word_embeddings": False, "bos_token_id": 151643,
            "eos_token_id": 151645, "pad_token_id": 151643,
            "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]}}
    vision = {"depth": 32, "hidden_size": 1280, "intermediate_size": 3420, "num_heads": 16,
              "hidden_act": "silu", "in_chans": 3, "out_hidden_size": 3584, "patch_size": 14,
              "spatial_merge_size": 2, "temporal_patch_size": 2, "window_size": 112,
              "fullatt_block_indexes": [7, 15, 23, 31], "tokens_per_second": 2}
    if layers:
        text["num_hidden_layers"] = vision["depth"] = layers
        vision["fullatt_block_indexes"] = [layers - 1]
    config = tf.Qwen2_5_VLConfig(text_config=text, vision_config=vision, **_qwen_ids())
    config.architectures = ["Qwen2_5_VLForConditionalGeneration"]

    def processor():
        tok = real_id_tokenizer(QWEN25_SPECIALS)
        common = {"patch_size": 14, "temporal_patch_size": 2, "merge_size": 2,
                  "min_pixels": 3136, "max_pixels": 12845056,
                  "image_mean": [0.48145466, 0.4578275, 0.40821073],
                  "image_std": [0.26862954, 0.26130258, 0.27577711]}
        template = chat_template("<|vision_start|><|video_pad|><|vision_end|>",
                                 "<|vision_start|><|image_pad|><|vision_end|>", True)
        return tf.Qwen2_5_VLProcessor(image_processor=tf.Qwen2VLImageProcessor(**common),
                                      video_processor=tf.Qwen2VLVideoProcessor(**common),
                                      tokenizer=tok, chat_template=template)

    return (tf.Qwen2_5_VLForConditionalGeneration, config), processor


def qwen3_vl_8b(layers: int | None = None) -> tuple[Any, Any]:
    """Config of Qwen/Qwen3-VL-8B-Instruct; processors with transformers' class defaults."""
    import transformers as tf

    from dynbench.tiny.native import chat_template

    text = {"vocab_size": 151936, "hidden_size": 4096, "intermediate_size": 12288,
            "num_hidden_layers": 36, "num_attention_heads": 32, "num_key_value_heads": 8,
            "head_dim": 128, "hidden_act": "silu", "max_position_embeddings": 262144,
            "rms_norm_eps": 1e-6, "rope_theta": 5000000, "attention_bias": False,
            "tie_word_embeddings": False, "bos_token_id": 151643, "eos_token_id": 151645,
            "pad_token_id": 151643,
            "rope_scaling": {"rope_type": "default", "mrope_section": [24, 20, 20],
                             "mrope_interleaved": True}}
    vision = {"depth": 27, "hidden_size": 1152, "intermediate_size": 4304, "num_heads": 16,
              "hidden_act": "gelu_pytorch_tanh", "in_channels": 3, "out_hidden_size": 4096,
              "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2,
              "num_position_embeddings": 2304, "deepstack_visual_indexes": [8, 16, 24]}
    if layers:
        text["num_hidden_layers"] = vision["depth"] = layers
        vision["deepstack_visual_indexes"] = [0]
    config = tf.Qwen3VLConfig(text_config=text, vision_config=vision, **_qwen_ids())
    config.architectures = ["Qwen3VLForConditionalGeneration"]

    def processor():
        tok = real_id_tokenizer(QWEN3_SPECIALS)
        common = {"patch_size": 16, "temporal_patch_size": 2, "merge_size": 2,
                  "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
        template = chat_template("<|vision_start|><|video_pad|><|vision_end|>",
                                 "<|vision_start|><|image_pad|><|vision_end|>", False)
        return tf.Qwen3VLProcessor(image_processor=tf.Qwen2VLImageProcessor(**common),
                                   video_processor=tf.Qwen3VLVideoProcessor(**common),
                                   tokenizer=tok, chat_template=template)

    return (tf.Qwen3VLForConditionalGeneration, config), processor


def internvl3_8b_hf(layers: int | None = None) -> tuple[Any, Any]:
    """Config of OpenGVLab/InternVL3-8B-hf (InternViT-300M + Qwen2.5-7B, 448px tiles)."""
    import transformers as tf

    from dynbench.tiny.native import chat_template

    text = {"model_type": "qwen2", "vocab_size": 151674, "hidden_size": 3584,
            "intermediate_size": 18944, "num_hidden_layers": 28, "num_attention_heads": 28,
            "num_key_value_heads": 4, "hidden_act": "silu", "max_position_embeddings": 32768,
            "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": False,
            "bos_token_id": 151643, "eos_token_id": 151645, "pad_token_id": 151643}
    vision = {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24,
              "num_attention_heads": 16, "image_size": [448, 448], "patch_size": [14, 14],
              "hidden_act": "gelu", "layer_norm_eps": 1e-6, "norm_type": "layer_norm",
              "attention_bias": True, "use_qk_norm": False, "use_mean_pooling": True,
              "layer_scale_init_value": 0.1}
    if layers:
        text["num_hidden_layers"] = vision["num_hidden_layers"] = layers
    config = tf.InternVLConfig(text_config=text, vision_config=vision, image_seq_length=256,
                               downsample_ratio=0.5, projector_hidden_act="gelu",
                               vision_feature_layer=-1,
                               vision_feature_select_strategy="default",
                               image_token_id=151667)
    config.architectures = ["InternVLForConditionalGeneration"]

    def processor():
        named = {"start_image_token": "<img>", "end_image_token": "</img>",
                 "context_image_token": "<IMG_CONTEXT>", "video_token": "<|video_pad|>"}
        tok = real_id_tokenizer(INTERNVL3_SPECIALS, extra_special_tokens=named)
        norm = {"image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}
        size = {"height": 448, "width": 448}
        template = chat_template("<video>\n", "<IMG_CONTEXT>\n", default_system=False)
        return tf.InternVLProcessor(
            image_processor=tf.GotOcr2ImageProcessor(size=size, crop_to_patches=False, **norm),
            video_processor=tf.InternVLVideoProcessor(size=size, **norm), tokenizer=tok,
            image_seq_length=256, chat_template=template)

    return (tf.InternVLForConditionalGeneration, config), processor


FULL = {"qwen2_5_vl": ("Qwen2.5-VL-7B", qwen2_5_vl_7b), "qwen3_vl": ("Qwen3-VL-8B", qwen3_vl_8b),
        "internvl_hf": ("InternVL3-8B-hf", internvl3_8b_hf)}


def build_full(family: str, device: str, dtype: Any,
               layers: int | None = None) -> tuple[Any, Any]:
    """Random-weight full-size model on ``device`` plus a processor factory (``layers``:
    fewer text and vision layers at full width, for a CPU dry run of the configs)."""
    import torch
    from transformers import GenerationConfig

    (model_cls, config), processor = FULL[family][1](layers)
    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # weights are created in ``dtype``, as from_pretrained does
    try:
        with torch.device(device):
            model = model_cls._from_config(config, attn_implementation="sdpa", dtype=dtype)
    finally:
        torch.set_default_dtype(previous)
    model = model.to(device).eval()  # float32 buffers (rotary inv_freq) stay float32
    model.generation_config = GenerationConfig(bos_token_id=151643, eos_token_id=151645,
                                               pad_token_id=151643, do_sample=False)
    return model, processor


def build_tiny(family: str, folder: Path) -> tuple[Any, Any]:
    """A tiny random model of the family (dynbench.tiny), fp32 on the CPU."""
    import transformers as tf

    from dynbench.tiny import native

    folder.mkdir(parents=True, exist_ok=True)
    getattr(native, f"build_{family}")(folder)
    model = tf.AutoModelForImageTextToText.from_pretrained(folder, dtype="float32").eval()
    return model, lambda: tf.AutoProcessor.from_pretrained(folder)


# --------------------------------------------------------------------------- data
QUESTIONS = [
    ("How does the camera move during the video?",
     ["It pans left", "It pans right", "It zooms in", "It stays still"]),
    ("Which object moves the fastest?",
     ["the red circle", "the blue square", "the green triangle", "the yellow circle"]),
    ("Does the red circle get closer to the blue square?", ["Yes", "No"]),
    ("In which direction does the green triangle move?",
     ["left", "right", "up", "down"]),
    ("Which object is in front of the others at the end?",
     ["the red circle", "the blue square", "the green triangle"]),
    ("Does the blue square leave the view?", ["Yes, on the left", "Yes, on the right", "No"]),
    ("How does the red circle move relative to the camera?",
     ["It moves with the camera", "It moves against the camera", "It stays still"]),
]


def requests(n: int) -> list[Any]:
    from dynbench.adapters.base import QARequest
    from dynbench.answers import build_qa_prompt, format_options, parse_options

    out = []
    for i in range(n):
        question, options = QUESTIONS[i % len(QUESTIONS)]
        if i >= len(QUESTIONS):
            question = f"{question} (variant {i // len(QUESTIONS)})"
        parsed = parse_options(options)
        out.append(QARequest(f"bench/q{i}", question, format_options(parsed),
                             build_qa_prompt(question, parsed)))
    return out


def write_videos(root: Path, count: int, frames: int, size: tuple[int, int],
                 seed: int = 0) -> list[tuple[str, list[Path]]]:
    """Moving shapes over a textured background, saved as JPEG like the dataset's frames."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    w, h = size
    videos = []
    for v in range(count):
        folder = root / "frames" / "bench" / f"video_{v:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        base = rng.integers(0, 255, 3)
        yy, xx = np.mgrid[0:h, 0:w]
        texture = (np.sin(xx / rng.uniform(8, 30)) + np.cos(yy / rng.uniform(8, 30))) * 40
        shapes = [(rng.uniform(0, w), rng.uniform(0, h), rng.uniform(-w / 40, w / 40),
                   rng.uniform(-h / 40, h / 40), tuple(int(c) for c in rng.integers(0, 255, 3)))
                  for _ in range(3)]
        paths = []
        for t in range(frames):
            shift = int(t * w / 100)
            pixels = np.clip(base + np.roll(texture, shift, axis=1)[..., None]
                             + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)
            image = Image.fromarray(pixels)
            draw = ImageDraw.Draw(image)
            for x, y, dx, dy, colour in shapes:
                cx, cy, r = x + dx * t, y + dy * t, min(w, h) / 10
                draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
            path = folder / f"frame_{t:04d}.jpg"
            image.save(path, quality=90)
            paths.append(path)
        videos.append((f"bench/video_{v:03d}", paths))
    return videos


# --------------------------------------------------------------------------- modes
class Meter:
    def __init__(self, device: str) -> None:
        import torch

        self.cuda = device.startswith("cuda") and torch.cuda.is_available()

    def sync(self) -> None:
        import torch

        if self.cuda:
            torch.cuda.synchronize()

    def reset(self) -> None:
        import torch

        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()

    def peak_gb(self) -> float | None:
        import torch

        return round(torch.cuda.max_memory_allocated() / 2**30, 2) if self.cuda else None


def reference_loop(model: Any, processor: Any, helper: Any, videos: list, reqs: list,
                   max_new_tokens: int, meter: Meter, log: Any) -> list[dict]:
    """The reference implementation's per-question loop (nothing reused between questions)."""
    import torch
    from PIL import Image

    from dynbench.adapters.base import Video

    results = []
    for key, paths in videos:
        for req in reqs:
            meter.reset()
            start = time.perf_counter()
            frames = []
            for p in paths:  # decode every frame again, for every question
                with Image.open(p) as im:
                    frames.append(im.convert("RGB"))
            video = Video(key, frames, list(range(len(paths))), list(paths))
            shown = helper.prepare_frames(video)
            prompt = helper.render_prompt(req.prompt + helper.prompt_suffix, shown)
            inputs = processor(text=[prompt], return_tensors="pt",
                               **helper.visual_inputs(shown, video))
            inputs = {k: (v.to(model.device, dtype=model.dtype if k.startswith("pixel_values")
                                else None) if isinstance(v, torch.Tensor) else v)
                      for k, v in inputs.items()}
            with torch.inference_mode():
                out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                     temperature=None, top_p=None, top_k=None)
            new = out[0, inputs["input_ids"].shape[1]:].tolist()
            text = processor.decode(new, skip_special_tokens=True).strip()
            if meter.cuda:
                torch.cuda.empty_cache()
            results.append({"video": key, "case": req.case_id, "ids": new, "text": text,
                            "latency_s": time.perf_counter() - start,
                            "tokens": int(inputs["input_ids"].shape[1]),
                            "peak_gb": meter.peak_gb()})
            log(results[-1])
    return results


def suite_loop(adapter: Any, root: Path, videos: list, reqs: list, meter: Meter,
               log: Any, warm: bool = True) -> list[dict]:
    """What the runner does: frames via FrameCache, ``warm`` the next video, ``answer``."""
    from dynbench.adapters.base import Video
    from dynbench.media import FrameCache

    cache = FrameCache(root)

    def load(i: int) -> Video:
        key, paths = videos[i]
        return Video(key, [cache.get(p) for p in paths], list(range(len(paths))), list(paths))

    results = []
    for i in range(len(videos)):
        video = load(i)
        if warm and i + 1 < len(videos):
            adapter.warm(lambda j=i + 1: load(j))
        for req in reqs:
            meter.reset()
            start = time.perf_counter()
            text = adapter.answer(video, req)
            results.append({"video": video.key, "case": req.case_id,
                            "ids": adapter.last_call.get("generated_ids"), "text": text,
                            "latency_s": time.perf_counter() - start,
                            "path": adapter.last_call.get("path"),
                            "prefix": adapter.last_call.get("prefix"),
                            "tokens": adapter.last_call.get("input_tokens"),
                            "peak_gb": meter.peak_gb()})
            log(results[-1])
    return results


def summarise(name: str, results: list[dict], seconds: float,
              reference: list[dict] | None) -> dict:
    peaks = [r["peak_gb"] for r in results if r.get("peak_gb") is not None]
    peak = max(peaks) if peaks else None
    row = {"mode": name, "questions": len(results), "seconds": round(seconds, 3),
           "questions_per_s": round(len(results) / seconds, 3) if seconds else None,
           "peak_gpu_gb": peak}
    row["mean_ms"] = round(1000 * seconds / len(results), 1) if results else None
    for kind in ("built", "reused"):  # first question of a video vs the others
        times = [r["latency_s"] for r in results if r.get("prefix") == kind]
        if times:
            row[f"mean_ms_prefix_{kind}"] = round(1000 * sum(times) / len(times), 1)
    if reference is not None:
        same_text = sum(a["text"] == b["text"] for a, b in zip(results, reference, strict=True))
        same_ids = sum(a["ids"] == b["ids"] for a, b in zip(results, reference, strict=True))
        row["agree_text_pct"] = round(100 * same_text / len(results), 1)
        row["agree_ids_pct"] = round(100 * same_ids / len(results), 1)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-family", default="qwen2_5_vl", choices=sorted(FULL))
    parser.add_argument("--tiny", action="store_true", help="tiny model, CPU, fp32")
    parser.add_argument("--videos", type=int, default=None, help="timed videos")
    parser.add_argument("--questions", type=int, default=None, help="questions per video")
    parser.add_argument("--frames", type=int, default=None)
    parser.add_argument("--size", default=None, help="WxH of the frames (640x480)")
    parser.add_argument("--max-new-tokens", type=int, default=1)
    parser.add_argument("--device", default=None)
    parser.add_argument("--layers", type=int, default=None,
                        help="full width but only this many text/vision layers (dry run)")
    parser.add_argument("--with-plain", action="store_true",
                        help="also time the adapter with prefix_cache: false")
    parser.add_argument("--no-warm", action="store_true", help="suite without prefetch")
    parser.add_argument("--verbose", action="store_true", help="one line per question")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)

    ensure_dynbench()
    import torch

    from dynbench.modelspec import ModelSpec

    tiny = args.tiny
    n_videos = args.videos or (2 if tiny else 6)
    n_questions = args.questions or (3 if tiny else 7)
    n_frames = args.frames or (6 if tiny else 16)
    size = tuple(int(x) for x in (args.size or ("160x120" if tiny else "640x480")).split("x"))
    device = args.device or ("cpu" if tiny or not torch.cuda.is_available() else "cuda")
    family = args.model_family
    label = f"tiny {family}" if tiny else FULL[family][0] + " architecture, random weights"
    verbose = args.verbose or n_videos * n_questions <= 12

    def log(row: dict) -> None:
        if verbose:
            extra = f" path={row['path']}/{row['prefix']}" if row.get("path") else ""
            peak = f" peak={row['peak_gb']}GB" if row.get("peak_gb") is not None else ""
            print(f"  {row['video']} {row['case']}: {1000 * row['latency_s']:.1f} ms, "
                  f"{row['tokens']} prompt tokens{extra}{peak}, answer ids {row['ids']}",
                  flush=True)

    with tempfile.TemporaryDirectory(prefix="dynbench-bench-") as tmp:
        tmp_path = Path(tmp)
        start = time.perf_counter()
        if tiny:
            model, make_processor = build_tiny(family, tmp_path / "model")
            model = model.to(device)
        else:
            dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
            model, make_processor = build_full(family, device, dtype, args.layers)
            if args.layers:
                label += f", {args.layers} layer(s) only"
        build_s = time.perf_counter() - start
        params = sum(p.numel() for p in model.parameters())
        print(f"model: {label}: {params / 1e9:.2f} B parameters, {model.dtype}, {device}, "
              f"attention {model.config._attn_implementation}; built in {build_s:.1f} s",
              flush=True)
        videos = write_videos(tmp_path, n_videos + 1, n_frames, size)
        warmup, timed_videos = videos[:1], videos[1:]
        reqs = requests(n_questions)
        meter = Meter(device)
        cls = adapter_class(family)
        gen = {"max_new_tokens": args.max_new_tokens}

        def adapter(**extra: Any) -> Any:
            a = cls(ModelSpec(name=label, device=device, generation={**gen, **extra}))
            a.attach(model, make_processor())
            return a

        print(f"data: {n_videos} videos x {n_questions} questions, {n_frames} frames "
              f"{size[0]}x{size[1]} JPEG, max_new_tokens {args.max_new_tokens}", flush=True)
        rows, outputs = [], {}

        helper = adapter(prefix_cache=False, preprocess_cache=False)
        reference_loop(model, helper.processor, helper, warmup, reqs[:1],
                       args.max_new_tokens, meter, lambda row: None)
        t0 = time.perf_counter()
        print("reference loop:", flush=True)
        ref = reference_loop(model, helper.processor, helper, timed_videos, reqs,
                             args.max_new_tokens, meter, log)
        meter.sync()
        rows.append(summarise("reference", ref, time.perf_counter() - t0, None))
        print(f"  -> {_brief(rows[-1])}", flush=True)
        outputs["reference"] = ref

        modes = [("suite", {})] + ([("plain", {"prefix_cache": False})] if args.with_plain
                                   else [])
        for name, extra in modes:
            ad = adapter(**extra)
            suite_loop(ad, tmp_path, warmup, reqs[:1], meter, lambda row: None, warm=False)
            if meter.cuda:
                torch.cuda.empty_cache()
            print(f"{name} ({ad.describe()['qa_path']}):", flush=True)
            t0 = time.perf_counter()
            res = suite_loop(ad, tmp_path, timed_videos, reqs, meter, log,
                             warm=not args.no_warm)
            meter.sync()
            rows.append(summarise(name, res, time.perf_counter() - t0, ref))
            rows[-1]["cache_stats"] = ad.describe()["cache_stats"]
            print(f"  -> {_brief(rows[-1])}", flush=True)
            outputs[name] = res

        base = rows[0]["questions_per_s"]
        print(f"\n{label} | {n_videos} videos x {n_questions} q | {n_frames} frames "
              f"{size[0]}x{size[1]} | prompt ~{ref[0]['tokens']} tokens | device {device}")
        print(f"{'mode':<10} {'q/s':>8} {'x ref':>7} {'agree text':>11} {'agree ids':>10} "
              f"{'peak GB':>8}")
        for row in rows:
            ratio = row["questions_per_s"] / base if base else float("nan")
            row["speedup"] = round(ratio, 2)
            print(f"{row['mode']:<10} {row['questions_per_s']:>8.2f} {ratio:>7.2f} "
                  f"{row.get('agree_text_pct', 100.0):>10.1f}% "
                  f"{row.get('agree_ids_pct', 100.0):>9.1f}% {str(row['peak_gpu_gb']):>8}")
        summary = {"model": label, "family": family, "device": device,
                   "gpu": torch.cuda.get_device_name() if meter.cuda else None,
                   "torch": torch.__version__, "transformers": _version("transformers"),
                   "videos": n_videos, "questions_per_video": n_questions,
                   "frames": n_frames, "size": list(size),
                   "max_new_tokens": args.max_new_tokens, "prompt_tokens": ref[0]["tokens"],
                   "build_s": round(build_s, 1), "modes": rows}
        print("RESULT " + json.dumps(summary), flush=True)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({**summary, "outputs": outputs}, indent=1))
    return 0


def _brief(row: dict) -> str:
    agree = f", agreement {row['agree_ids_pct']}% (ids)" if "agree_ids_pct" in row else ""
    split = ""
    if "mean_ms_prefix_built" in row and "mean_ms_prefix_reused" in row:
        split = (f" (first question of a video {row['mean_ms_prefix_built']} ms, "
                 f"others {row['mean_ms_prefix_reused']} ms)")
    return (f"{row['mode']}: {row['questions']} questions in {row['seconds']:.2f} s = "
            f"{row['questions_per_s']:.2f} q/s, {row['mean_ms']} ms/question{split}, "
            f"peak GPU {row['peak_gpu_gb']} GB{agree}")


def adapter_class(family: str) -> Any:
    from dynbench.adapters.internvl import InternVLHFAdapter
    from dynbench.adapters.qwen_vl import Qwen3VLAdapter, Qwen25VLAdapter

    return {"qwen2_5_vl": Qwen25VLAdapter, "qwen3_vl": Qwen3VLAdapter,
            "internvl_hf": InternVLHFAdapter}[family]


def _version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    sys.exit(main())
