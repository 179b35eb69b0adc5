"""``python -m dynbench.synth OUT_DIR [--seed S] [--scenes N] [--frames F] [--size WxH]
[--messy] [--oracle DIR] [--published]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dynbench.synth.writer import generate


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"size must look like 160x120, got {text!r}") from exc
    return w, h


def main(argv: list[str] | None = None, prog: str = "python -m dynbench.synth") -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Write a synthetic Dyn-Bench dataset whose answers are true by construction.")
    parser.add_argument("out", type=Path, help="output folder (gets frames/ masks/ multi_json/)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--scenes", type=int, default=8, help="number of scenes (default 8)")
    parser.add_argument("--frames", type=int, default=10, help="frames per scene (default 10)")
    parser.add_argument("--size", type=_parse_size, default=(160, 120), help="WxH (160x120)")
    parser.add_argument("--no-quirks", action="store_true", help="clean data, no real-data quirks")
    parser.add_argument("--json-only", action="store_true", help="write only multi_json/")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace existing frames/ masks/ multi_json/ in OUT")
    parser.add_argument("--messy", action="store_true", help="add one scene per layout "
                        "variant and per data fault (source synth_messy; see README)")
    parser.add_argument("--oracle", type=Path, metavar="DIR", help="also write perfect "
                        "predictions (the --predictions layout) into DIR")
    parser.add_argument("--published", action="store_true", help="write OUT laid out like the "
                        "published hub snapshot (zip archives + parquet tables)")
    args = parser.parse_args(argv)
    try:
        info = generate(args.out, seed=args.seed, scenes=args.scenes, frames=args.frames,
                        size=args.size, quirks=not args.no_quirks, json_only=args.json_only,
                        overwrite=args.overwrite, messy=args.messy, oracle=args.oracle,
                        published=args.published)
    except (FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(info.summary())
    return 0
