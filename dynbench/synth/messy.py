"""``--messy``: one small scene per layout variant and per fault seen in real data.

Every scene lives in the source ``synth_messy``, is named after its variant, and holds one
``cameraqa`` file and one mask file. :data:`VARIANTS` says, per variant, what the suite
must make of its QA and mask cases: ``ok`` (scores 100 with perfect predictions), ``note``
(scores 100, and the run and ``dynbench check`` both note the fallback rule), ``error`` (the
case fails naming the fault; ``needle`` is part of the message) or ``none`` (the variant
writes no ordinary scene; its fault is an extra failing case, ``extra``). The test suite
checks every row; the README "Data layout" table is written from the same list.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from dynbench.synth.expressions import MASK_TASKS
from dynbench.synth.facts import Facts
from dynbench.synth.model import Scene
from dynbench.synth.oracle import Oracle
from dynbench.synth.render import render_frame
from dynbench.synth.scene import build_scene
from dynbench.synth.writer import _mask_json, _qa_json

SOURCE = "synth_messy"
FRAMES = 6
SIZE = (64, 48)
STRIDE = 3  # sampled variants: frame t is source-video frame 3 t


@dataclass(frozen=True)
class Variant:
    name: str
    title: str
    qa: str = "ok"
    mask: str = "ok"
    needle: str = ""
    extra: tuple[tuple[str, str], ...] = ()  # (case id, needle) of further failing cases


VARIANTS: tuple[Variant, ...] = (
    Variant("unpadded", "frames `frame_0.jpg` ... `frame_5.jpg`, masks `frame_0000_obj1.png`"),
    Variant("bare5", "frames `00000.jpg` (5 digits, no `frame_` prefix), masks "
            "`frame_0000_obj1.png`"),
    Variant("pad5", "frames and masks with 5-digit numbers (`frame_00000.jpg`, "
            "`frame_00000_obj1.png`)"),
    Variant("one_based", "masks numbered from 1 (`frame_0001_obj1.png` is the first frame)",
            mask="note", needle="counted from 1"),
    Variant("sampled_frames", "frames named by the source-video indices of "
            "`<scene>_frame_sampling.json` (`frame_0000`, `frame_0003`, ...), masks by position",
            mask="note", needle="0-based positions"),
    Variant("sampled_masks", "frames by position, masks named by the source-video indices of "
            "`<source>_<scene>_frame_sampling.json`", mask="note",
            needle="source-video frame indices"),
    Variant("unnumbered", "frame names without numbers (`shot_a.jpg`, `shot_b.jpg`, ...)",
            qa="note", mask="note", needle="carry no number"),
    Variant("png_and_jpg", "a `.png` and a (different) `.jpg` mask for the same frames",
            mask="note", needle="the .png is used"),
    Variant("palette", "palette masks whose index 0 is white (read by index, not brightness)"),
    Variant("rgb", "RGB masks (object in colour on black)"),
    Variant("rgba", "RGBA masks: black object on a transparent white background"),
    Variant("grey16", "16-bit grey masks"),
    Variant("jpeg_masks", "JPEG (lossy) masks", mask="note", needle="JPEG (lossy)"),
    Variant("mixed_sizes", "one frame (and its mask) twice the size of the others",
            qa="note", mask="note", needle="frames differ in size"),
    Variant("café_日本", "non-ASCII scene name"),
    Variant("line\nbreak", "a newline in the scene name"),
    Variant("[odd] name (1)", "brackets and spaces in the scene name"),
    Variant("mask_is_dir", "a mask path that is a directory", mask="error",
            needle="is a directory"),
    Variant("mask_dangling", "a mask file that is a dangling symlink", mask="error",
            needle="dangling symlink"),
    Variant("mask_size", "a mask whose size differs from its frame", mask="error",
            needle="mask is 32x24 but its frame is 64x48"),
    Variant("masks_off", "mask files whose numbers match no frame (100..105)", mask="error",
            needle="match no frame"),
    Variant("blank_masks", "an object whose every mask file is blank", mask="error",
            needle="is blank"),
    Variant("frame_is_dir", "a frame path that is a directory", qa="error", mask="error",
            needle="is a directory"),
    Variant("frame_loop", "a frame file that is a symlink loop", qa="error", mask="error",
            needle="symlink loop"),
    Variant("outside_link", "a frame folder that is a symlink leaving the dataset",
            qa="error", mask="error", needle="outside"),
    Variant("bomb", "a 12000x12000 frame (decompression-bomb sized header)", qa="error",
            mask="error", needle="12000x12000"),
    Variant("deep_json", "a QA file nested 50,000 levels deep", qa="error",
            needle="too deeply"),
    Variant("huge_obj", "a mask key `obj_<5000 digits>`", mask="error", needle="5000 digits"),
    Variant("json_loop", "a QA file that is a symlink loop", qa="error", needle="symlink loop"),
    Variant("latin1_json", "a QA file that is not UTF-8", qa="error", needle="not UTF-8"),
    Variant("bad_name", "a task file whose name is not valid UTF-8", extra=(
        (f"cameraqa/{SOURCE}/bad\\xff/file", "not valid UTF-8"),)),
    Variant("source_loop", "a `multi_json/` source folder that is a symlink loop", qa="none",
            mask="none", extra=((f"data/{SOURCE}_loop/-/file", "symlink loop"),)),
)


@dataclass
class _Ctx:
    root: Path
    scene: Scene
    facts: Facts
    obj: int  # index of the referenced object in scene.objects
    qa: list = field(default_factory=list)
    mask_task: str = ""
    mask: dict = field(default_factory=dict)

    @property
    def frame_dir(self) -> Path:
        return self.root / "frames" / SOURCE / self.scene.name

    @property
    def mask_dir(self) -> Path:
        return self.root / "masks" / SOURCE / self.scene.name

    @property
    def json_dir(self) -> Path:
        return self.root / "multi_json" / SOURCE


@dataclass(frozen=True)
class _Naming:
    frame: Callable[[int], str] = lambda t: f"frame_{t:04d}.jpg"
    index: Callable[[int], int] = lambda t: t  # the index the suite must give frame t
    mask: Callable[[int], str] = lambda t: f"frame_{t:04d}"
    mask_ext: str = ".png"
    encode: Callable[[np.ndarray], Image.Image] = lambda m: Image.fromarray(
        m.astype(np.uint8) * 255)
    scale: Callable[[int], int] = lambda t: 1


def _palette(mask: np.ndarray) -> Image.Image:
    im = Image.frombytes("P", (mask.shape[1], mask.shape[0]), mask.astype(np.uint8).tobytes())
    im.putpalette([255, 255, 255, 0, 0, 0] + [128, 128, 128] * 254)
    return im


def _rgba(mask: np.ndarray) -> Image.Image:
    arr = np.zeros((*mask.shape, 4), np.uint8)
    arr[~mask] = (255, 255, 255, 0)
    arr[mask] = (0, 0, 0, 255)
    return Image.fromarray(arr)


def _rgb(mask: np.ndarray) -> Image.Image:
    arr = np.zeros((*mask.shape, 3), np.uint8)
    arr[mask] = (200, 30, 60)
    return Image.fromarray(arr)


def _grey16(mask: np.ndarray) -> Image.Image:
    return Image.fromarray(mask.astype(np.uint16) * 65535)


NAMINGS: dict[str, _Naming] = {
    "unpadded": _Naming(frame=lambda t: f"frame_{t}.jpg"),
    "bare5": _Naming(frame=lambda t: f"{t:05d}.jpg"),
    "pad5": _Naming(frame=lambda t: f"frame_{t:05d}.jpg", mask=lambda t: f"frame_{t:05d}"),
    "one_based": _Naming(mask=lambda t: f"frame_{t + 1:04d}"),
    "sampled_frames": _Naming(frame=lambda t: f"frame_{STRIDE * t:04d}.jpg",
                              index=lambda t: STRIDE * t),
    "sampled_masks": _Naming(mask=lambda t: f"frame_{STRIDE * t:04d}"),
    "unnumbered": _Naming(frame=lambda t: f"shot_{chr(97 + t)}.jpg"),
    "palette": _Naming(encode=_palette),
    "rgb": _Naming(encode=_rgb),
    "rgba": _Naming(encode=_rgba),
    "grey16": _Naming(encode=_grey16),
    "jpeg_masks": _Naming(mask_ext=".jpg"),
    "mixed_sizes": _Naming(scale=lambda t: 2 if t == FRAMES - 1 else 1),
    "masks_off": _Naming(mask=lambda t: f"frame_{t + 100:04d}"),
}


def write_messy(root: Path, seed: int, oracle: Oracle | None) -> int:
    """Write every variant under ``root``; returns the number of files written."""
    before = _count(root)
    index = 500
    for variant in VARIANTS:
        if variant.qa == "none" and variant.mask == "none":
            _FAULTS[variant.name](None, root)
            continue
        ctx, index = _context(root, seed, index, variant.name)
        naming = NAMINGS.get(variant.name, _Naming())
        _write_scene(ctx, naming, oracle)
        fault = _FAULTS.get(variant.name)
        if fault:
            fault(ctx, root)
    return _count(root) - before


def _count(root: Path) -> int:
    return sum(len(files) + len(dirs) for _, dirs, files in os.walk(root))


def _context(root: Path, seed: int, index: int, name: str) -> tuple[_Ctx, int]:
    """A scene whose objects are visible in every frame (so mask numbering is unambiguous)
    and that yields a question and a referring expression."""
    while True:
        index += 1
        scene, facts = build_scene(seed, index, FRAMES, SIZE, quirks=False)
        if not (facts.vis_px > 0).all():
            continue
        rng = np.random.default_rng([seed, index, 7])
        qa = _qa_json(rng, scene, facts, "cameraqa", False)[:2]
        for task in MASK_TASKS:
            mask = _mask_json(rng, scene, facts, task)
            if qa and mask:
                key = sorted(mask)[0]
                scene.name, scene.dataset = name, SOURCE
                num = int(key.rpartition("_")[2])
                obj = next(i for i, o in enumerate(scene.objects) if o.num == num)
                return _Ctx(root, scene, facts, obj, qa, task, {key: mask[key]}), index


def _write_scene(ctx: _Ctx, naming: _Naming, oracle: Oracle | None) -> None:
    scene, f = ctx.scene, ctx.facts
    for d in (ctx.frame_dir, ctx.mask_dir, ctx.json_dir):
        d.mkdir(parents=True, exist_ok=True)
    truth: dict[int, np.ndarray] = {}
    for t in range(scene.frames):
        k = naming.scale(t)
        rgb = np.kron(render_frame(scene, f, t), np.ones((k, k, 1), np.uint8))
        Image.fromarray(rgb).save(ctx.frame_dir / naming.frame(t), quality=92)
        for i, o in enumerate(scene.objects):
            vis = np.kron(f.vis[i, t], np.ones((k, k), bool))
            path = ctx.mask_dir / f"{naming.mask(t)}_obj{o.num}{naming.mask_ext}"
            image = naming.encode(vis)
            image.save(path, quality=95) if naming.mask_ext == ".jpg" else image.save(path)
            if i == ctx.obj:
                truth[naming.index(t)] = vis
    _json(ctx.json_dir / f"{scene.name}_cameraqa.json", ctx.qa)
    _json(ctx.json_dir / f"{scene.name}_{ctx.mask_task}.json", ctx.mask)
    if oracle is not None:
        oracle.add_qa("cameraqa", SOURCE, scene.name, ctx.qa)
        oracle.add_mask(ctx.mask_task, SOURCE, scene.name, scene.objects[ctx.obj].num, truth)
    if scene.name.startswith("sampled"):
        _sampling_file(ctx)


def _json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _sampling_file(ctx: _Ctx) -> None:
    """The published form: ``{"video_id", "frame_indices", "total_frames"}``, named
    ``<scene>_frame_sampling.json`` or ``<source>_<scene>_frame_sampling.json``."""
    name = ctx.scene.name if ctx.scene.name == "sampled_frames" else f"{SOURCE}_{ctx.scene.name}"
    indices = [STRIDE * t for t in range(ctx.scene.frames)]
    _json(ctx.json_dir / f"{name}_frame_sampling.json",
          {"video_id": f"{SOURCE}_{ctx.scene.name}", "frame_indices": indices,
           "total_frames": indices[-1] + STRIDE})


def _referenced_mask(ctx: _Ctx, t: int) -> Path:
    return ctx.mask_dir / f"frame_{t:04d}_obj{ctx.scene.objects[ctx.obj].num}.png"


def _mask_is_dir(ctx: _Ctx, root: Path) -> None:
    path = _referenced_mask(ctx, 2)
    path.unlink()
    path.mkdir()


def _mask_dangling(ctx: _Ctx, root: Path) -> None:
    path = _referenced_mask(ctx, 2)
    path.unlink()
    path.symlink_to("gone.png")


def _mask_size(ctx: _Ctx, root: Path) -> None:
    Image.new("L", (32, 24), 255).save(_referenced_mask(ctx, 1))


def _png_and_jpg(ctx: _Ctx, root: Path) -> None:
    for t in range(ctx.scene.frames):  # a wrong .jpg beside every .png: the .png must win
        wrong = ~ctx.facts.vis[ctx.obj, t]
        Image.fromarray(wrong.astype(np.uint8) * 255).save(
            _referenced_mask(ctx, t).with_suffix(".jpg"), quality=95)


def _blank_masks(ctx: _Ctx, root: Path) -> None:
    for t in range(ctx.scene.frames):
        Image.new("L", SIZE, 0).save(_referenced_mask(ctx, t))


def _frame_is_dir(ctx: _Ctx, root: Path) -> None:
    path = ctx.frame_dir / "frame_0003.jpg"
    path.unlink()
    path.mkdir()


def _frame_loop(ctx: _Ctx, root: Path) -> None:
    path = ctx.frame_dir / "frame_0001.jpg"
    path.unlink()
    path.symlink_to("frame_0001.jpg")


def _outside_link(ctx: _Ctx, root: Path) -> None:
    """The frame folder becomes a link to the folder holding the dataset."""
    for p in ctx.frame_dir.iterdir():
        p.unlink()
    ctx.frame_dir.rmdir()
    ctx.frame_dir.symlink_to(os.path.join("..", "..", ".."))


def _bomb(ctx: _Ctx, root: Path) -> None:
    """A valid PNG header claiming 12000x12000 pixels, in a 100-byte file."""
    (ctx.frame_dir / "frame_0002.jpg").unlink()
    (ctx.frame_dir / "frame_0002.png").write_bytes(png_header(12000, 12000))


def png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0"))
            + chunk(b"IEND", b""))


def _deep_json(ctx: _Ctx, root: Path) -> None:
    (ctx.json_dir / f"{ctx.scene.name}_cameraqa.json").write_text("[" * 50000 + "]" * 50000)


def _huge_obj(ctx: _Ctx, root: Path) -> None:
    item = next(iter(ctx.mask.values()))
    _json(ctx.json_dir / f"{ctx.scene.name}_{ctx.mask_task}.json", {"obj_" + "7" * 5000: item})


def _json_loop(ctx: _Ctx, root: Path) -> None:
    path = ctx.json_dir / f"{ctx.scene.name}_cameraqa.json"
    path.unlink()
    path.symlink_to(path.name)


def _latin1_json(ctx: _Ctx, root: Path) -> None:
    text = json.dumps([{**ctx.qa[0], "question": ctx.qa[0]["question"] + " (café)"}],
                      ensure_ascii=False)
    (ctx.json_dir / f"{ctx.scene.name}_cameraqa.json").write_bytes(text.encode("latin-1"))


def _bad_name(ctx: _Ctx, root: Path) -> None:
    folder = os.fsencode(ctx.json_dir)
    try:
        with open(os.path.join(folder, b"bad\xff_cameraqa.json"), "wb") as fh:
            fh.write(json.dumps(ctx.qa).encode())
    except OSError:  # a file system that refuses non-UTF-8 names (macOS): nothing to test
        pass


def _source_loop(ctx: _Ctx | None, root: Path) -> None:
    link = root / "multi_json" / f"{SOURCE}_loop"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(link.name)


_FAULTS: dict[str, Callable] = {
    "mask_is_dir": _mask_is_dir, "mask_dangling": _mask_dangling, "mask_size": _mask_size,
    "png_and_jpg": _png_and_jpg, "blank_masks": _blank_masks, "frame_is_dir": _frame_is_dir,
    "frame_loop": _frame_loop, "outside_link": _outside_link, "bomb": _bomb,
    "deep_json": _deep_json, "huge_obj": _huge_obj, "json_loop": _json_loop,
    "latin1_json": _latin1_json, "bad_name": _bad_name, "source_loop": _source_loop,
}
