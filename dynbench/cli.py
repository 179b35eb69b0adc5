"""``dynbench``: what is not a test run — data checks, sample data, downloads, tiny models.

Benchmark runs themselves are plain ``pytest`` invocations (see README).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dynbench.download import DEFAULT_DATASET  # the paper's data


def cmd_check(args: argparse.Namespace) -> int:
    from dynbench import safefs
    from dynbench.check import main
    from dynbench.data import DataError, resolve_root

    safefs.set_follow_symlinks(args.follow_symlinks)
    try:
        root = resolve_root(args.data_dir)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return main(root)


def cmd_generate(args: argparse.Namespace) -> int:
    from dynbench import synth

    return synth.main(args.rest)


def cmd_families(args: argparse.Namespace) -> int:
    from dynbench.adapters.registry import FAMILIES
    from dynbench.tiny import tiny_names

    for f in FAMILIES:
        print(f"{f.name:<15} {f.title:<50} {', '.join(f.hub_patterns)}")
    print(f"\nsmoke models (--model tiny:<name>): {', '.join(tiny_names())}")
    return 0


def cmd_tiny(args: argparse.Namespace) -> int:
    from dynbench.tiny import build_tiny

    folder = build_tiny(args.name, Path(args.out) if args.out else None)
    print(folder)
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from dynbench.download import download

    return download(models=args.model or [], dataset=args.dataset, cache_dir=args.cache_dir,
                    revision=args.revision, local_dir=args.local_dir)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dynbench", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="list every data problem of a dataset (no model)")
    c.add_argument("data_dir", nargs="?", help="dataset root (default: $DYNBENCH_DATA or the "
                   "bundled sample)")
    c.add_argument("--follow-symlinks", action="store_true", help="read symlinks that leave "
                   "the dataset (refused by default, as in a run)")
    c.set_defaults(func=cmd_check)
    g = sub.add_parser("generate", help="render a synthetic dataset (python -m dynbench.synth)")
    g.add_argument("rest", nargs=argparse.REMAINDER, help="OUT_DIR [--seed S] [--scenes N] ...")
    g.set_defaults(func=cmd_generate)
    f = sub.add_parser("families", help="list supported model families")
    f.set_defaults(func=cmd_families)
    t = sub.add_parser("tiny", help="build a tiny random-weight checkpoint of a family")
    t.add_argument("name")
    t.add_argument("--out", help="folder to write (default: the tiny cache)")
    t.set_defaults(func=cmd_tiny)
    d = sub.add_parser("download", help="download models and/or the dataset (resumable)")
    d.add_argument("--model", action="append", help="hub id; repeat for several")
    d.add_argument("--dataset", nargs="?", const=DEFAULT_DATASET, help="dataset repo id, or "
                   "a folder holding a downloaded snapshot (default "
                   f"{DEFAULT_DATASET} when given without a value); unpacked and checked")
    d.add_argument("--cache-dir", help="Hugging Face cache dir (models)")
    d.add_argument("--local-dir", help="the dataset folder to fill (default "
                   "~/.cache/dynbench/datasets/<org>--<name>, or the snapshot folder itself)")
    d.add_argument("--revision")
    d.set_defaults(func=cmd_download)
    _add_report_commands(sub)
    return p


def _add_report_commands(sub) -> None:
    """Report commands: compare, html."""
    from dynbench import report_cli

    report_cli.register(sub)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
