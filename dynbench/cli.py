"""The ``dynbench`` command: benchmark runs from any folder, data checks, sample data,
downloads, tiny models and report tools."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from dynbench.download import DEFAULT_DATASET  # the paper's data

DESCRIPTION = """\
Dyn-Bench evaluation suite for video vision-language models.

  dynbench run [pytest options]   run the benchmark from any folder (e.g. --model ID -n 4)
  dynbench check [DIR]            list every problem of a dataset, without a model

Every benchmark option is a pytest option: see 'dynbench run --help' (group "Dyn-Bench").
"""
PASS_THROUGH = {"run", "generate"}  # their arguments belong to another parser


def cmd_run(argv: list[str]) -> int:
    """pytest over the packaged benchmark module, with its own ini file, reports under the
    current folder (``reports/<model>/<run id>/`` unless ``--report-dir``)."""
    import pytest

    from dynbench import bench

    folder = Path(bench.__file__).parent
    args = ["-p", "dynbench.plugin", "-c", str(folder / "pytest.ini"), "--rootdir", os.getcwd(),
            str(folder / "test_dynbench.py"), *argv]
    return int(pytest.main(args))


def cmd_generate(argv: list[str]) -> int:
    from dynbench.synth.cli import main

    return main(argv, prog="dynbench generate")


def cmd_check(args: argparse.Namespace) -> int:
    from dynbench import safefs
    from dynbench.check import main
    from dynbench.data import DataError
    from dynbench.session import data_root

    safefs.set_follow_symlinks(args.follow_symlinks)
    try:
        root = data_root(args.data_dir)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return main(root)


def family_rows() -> list[tuple[str, str, str, str]]:
    """(name, title, capabilities, hub ids) per family; capabilities read from the adapter."""
    from dynbench.adapters.registry import FAMILIES

    rows = []
    for f in FAMILIES:
        try:
            cls = f.load_class()
            caps = [c.upper() if c == "qa" else c for c in sorted(cls.capabilities,
                                                                   key=("qa", "mask").index)]
            if hasattr(cls, "answer_logits"):
                caps.append("logits")
            capabilities = " + ".join(caps)
        except Exception as exc:  # noqa: BLE001 - one broken module must not hide the table
            capabilities = f"? ({type(exc).__name__})"
        rows.append((f.name, f.title, capabilities, ", ".join(f.hub_patterns) or "-"))
    return rows


def cmd_families(args: argparse.Namespace) -> int:
    from dynbench.tiny import tiny_names

    rows = [("family", "model", "capabilities", "hub ids"), *family_rows()]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        print("  ".join(f"{r[i]:<{widths[i]}}" for i in range(3)) + f"  {r[3]}")
    print("\ncapabilities: QA = multiple-choice answers, mask = segmentation, logits = "
          "--qa-mode logits")
    print(f"smoke models (--model tiny:<name>): {', '.join(tiny_names())}")
    return 0


def cmd_tiny(args: argparse.Namespace) -> int:
    from dynbench.tiny import build_tiny, tiny_names

    if args.name not in tiny_names():
        print(f"error: no tiny model {args.name!r}; choose from {', '.join(tiny_names())}",
              file=sys.stderr)
        return 2
    print(build_tiny(args.name, Path(args.out) if args.out else None))
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from dynbench.download import download

    return download(models=args.model or [], dataset=args.dataset, cache_dir=args.cache_dir,
                    revision=args.revision, local_dir=args.local_dir)


def build_parser() -> argparse.ArgumentParser:
    from dynbench import __version__

    p = argparse.ArgumentParser(prog="dynbench", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"dynbench {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", add_help=False, help="run the benchmark (pytest options; "
                   "'dynbench run --help' lists them)")
    c = sub.add_parser("check", help="list every data problem of a dataset (no model)")
    c.add_argument("data_dir", nargs="?", help="dataset root (default: $DYNBENCH_DATA or the "
                   "bundled sample)")
    c.add_argument("--follow-symlinks", action="store_true", help="read symlinks that leave "
                   "the dataset (refused by default, as in a run)")
    c.set_defaults(func=cmd_check)
    sub.add_parser("generate", add_help=False, help="render a synthetic dataset "
                   "('dynbench generate --help' lists its options)")
    f = sub.add_parser("families", help="list supported model families and what they do")
    f.set_defaults(func=cmd_families)
    t = sub.add_parser("tiny", help="build a tiny random-weight checkpoint of a family")
    t.add_argument("name", help="a smoke model name (see 'dynbench families')")
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
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in PASS_THROUGH:
        return (cmd_run if argv[0] == "run" else cmd_generate)(argv[1:])
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
