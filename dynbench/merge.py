"""``dynbench merge SHARD_DIR... --out DIR``: join ``--shard`` runs into one run's report.

The merged folder is what one unsharded run would have written: its ``dynbench`` section is
computed from all shards' case records by the same :func:`dynbench.report.aggregate`, and
``--baseline`` / ``--fail-under`` apply the same gate with the same exit codes as a run:
0 ok, 1 some case errored or did not run, 4 the shards (or the gate's runs) cannot be
joined, 10 the gate failed.

Shards join only when they evaluated the same model, with the same scoring settings, on the
same data and the same selection under the same plan (``shard.json``); every difference is
named. A shard folder that is absent or unfinished (no report.json) is *missing*: each of
its cases becomes a ``not run`` error, so the merged report never silently covers less.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from dynbench import gate, runfolder
from dynbench.runfolder import Run, RunFolderError

# settings that may differ between shards (machines mount the data at different paths;
# the per-shard fingerprint covers only that shard's cases and is recomputed)
LOCAL_SETTINGS = ("data_dir", "dataset_fingerprint")
SHARED_FINGERPRINTS = (("count", "shard count"),
                       ("selection_fingerprint", "case selection (--task, --limit or the "
                                                 "dataset's list of cases)"),
                       ("data_fingerprint", "data (case content: JSON entries, frame and mask "
                                            "file names and sizes)"),
                       ("plan_fingerprint", "shard plan (frame counts or dynbench version)"))


class MergeRefused(Exception):
    """The shards cannot be joined (exit 4); the message names every difference."""


@dataclass(frozen=True)
class ShardRun:
    run: Run
    shard: dict  # shard.json
    report: dict  # the shard's whole report.json

    @property
    def folder(self) -> Path:
        return self.run.folder

    @property
    def index(self) -> int:
        return int(self.shard["index"])


# --- reading -----------------------------------------------------------------------------


def read_shard_run(folder: Path) -> ShardRun | None:
    """A finished shard's folder; ``None`` when it is absent or unfinished (missing)."""
    if not (folder / runfolder.REPORT).is_file():
        return None
    report = runfolder.read_json(folder / runfolder.REPORT)
    shard = runfolder.read_shard(folder)
    if shard is None or not isinstance(report.get("dynbench"), dict):
        raise MergeRefused(f"{folder} is not a shard's report folder (no {runfolder.SHARD}); "
                           "merge joins runs made with --shard I/N")
    run = Run(folder, report["dynbench"], runfolder.read_samples(folder))
    return ShardRun(run, shard, report)


def read_shards(folders: list[Path]) -> tuple[list[ShardRun], list[str]]:
    """The finished shards, and a warning for each folder that is absent or unfinished."""
    shards, warnings = [], []
    for folder in folders:
        try:
            found = read_shard_run(folder)
        except RunFolderError as exc:
            raise MergeRefused(str(exc)) from None
        if found is None:
            state = "does not exist" if not folder.exists() else "holds no finished report " \
                "(report.json; killed or still running?)"
            warnings.append(f"{folder} {state}; skipped (a shard without a finished "
                            "report counts as missing)")
        else:
            shards.append(found)
    if not shards:
        raise MergeRefused("no finished shard among the folders given: "
                           + ", ".join(map(str, folders)))
    return shards, warnings


# --- checks ------------------------------------------------------------------------------


def _differences(name: str, a: dict, b: dict, skip: tuple[str, ...] = ()) -> list[str]:
    return [f"{name} {key}: {a.get(key)!r} vs {b.get(key)!r}"
            for key in sorted({*a, *b} - set(skip)) if a.get(key) != b.get(key)]


def differences(first: ShardRun, other: ShardRun) -> list[str]:
    """Why two shards cannot be joined; empty when they can."""
    found = _differences("model", first.shard.get("model", {}), other.shard.get("model", {}))
    found += _differences("setting", first.run.summary.get("settings", {}),
                          other.run.summary.get("settings", {}), LOCAL_SETTINGS)
    found += [f"{label}: {first.shard.get(key)!r} vs {other.shard.get(key)!r}"
              for key, label in SHARED_FINGERPRINTS if first.shard.get(key) != other.shard.get(key)]
    return found


def check_joinable(shards: list[ShardRun]) -> None:
    """Same model, settings, data, selection and plan; each shard and case once."""
    problems = []
    first = shards[0]
    for other in shards[1:]:
        problems += [f"{first.folder} and {other.folder} differ in {d}"
                     for d in differences(first, other)]
    if problems:
        raise MergeRefused("; ".join(problems))
    by_index: dict[int, Path] = {}
    owner: dict[str, Path] = {}
    for s in shards:
        if s.index in by_index:
            raise MergeRefused(f"shard {s.index}/{s.shard['count']} given twice: "
                               f"{by_index[s.index]} and {s.folder}; keep one")
        by_index[s.index] = s.folder
        planned = set(s.shard["plan"][s.index])
        for record in s.run.records:
            case_id = record["id"]
            if case_id in owner:
                raise MergeRefused(f"duplicated case {case_id}: in {owner[case_id]} and "
                                   f"{s.folder}")
            if case_id not in planned:
                raise MergeRefused(f"{s.folder} holds case {case_id}, which is not in its "
                                   f"shard {s.index}/{s.shard['count']} of the plan")
            owner[case_id] = s.folder


# --- joining -----------------------------------------------------------------------------


def not_run(case_ids, message: str) -> list[dict]:
    """Error records for planned cases no shard reported, made as a run makes them."""
    from dynbench.session import error_record

    return [error_record(case_id, message) for case_id in sorted(case_ids)]


def join_records(shards: list[ShardRun]) -> tuple[list[dict], list[int]]:
    """All case records, with ``not run`` errors for missing shards' and missing cases;
    also the indices of the missing shards."""
    plan = shards[0].shard["plan"]
    count = len(plan)
    given = {s.index: s for s in shards}
    records: list[dict] = []
    missing = [i for i in range(count) if i not in given]
    for index in range(count):
        s = given.get(index)
        if s is None:
            records += not_run(plan[index], f"not run: shard {index}/{count} has no finished "
                               f"report folder; run it (--shard {index}/{count}, --resume "
                               "reuses what it finished) and merge again")
            continue
        records += s.run.records
        absent = set(plan[index]) - {r["id"] for r in s.run.records}
        records += not_run(absent, f"not run: missing from shard {index}/{count} ({s.folder})")
    return records, missing


ENVIRONMENT_KEYS = ("dynbench", "git", "python", "platform", "host", "packages")


def merged_summary(shards: list[ShardRun], records: list[dict], missing: list[int]) -> dict:
    from dynbench.report import aggregate

    first = shards[0].run.summary
    settings = {k: v for k, v in first.get("settings", {}).items() if k != "dataset_fingerprint"}
    summary = aggregate(records, model=first.get("model", {}), settings=settings)
    summary["merge"] = {
        "count": len(shards[0].shard["plan"]), "missing": missing,
        "shards": [{"index": s.index, "folder": str(s.folder), "source": s.shard.get("source"),
                    "cases": len(s.run.records)} for s in sorted(shards, key=lambda s: s.index)],
        **{key: shards[0].shard.get(key) for key, _ in SHARED_FINGERPRINTS[1:]},
    }
    ordered = sorted(shards, key=lambda s: s.index)
    warnings = {w: None for s in ordered for w in s.run.summary.get("warnings", [])}
    runs = [s.run.summary.get("run") or {} for s in ordered]
    environment = {k: v for k, v in runs[0].items() if k in ENVIRONMENT_KEYS}
    return {"status": "complete", **summary, "warnings": list(warnings),
            "run": {**environment, "shards": runs}}


def merged_report(shards: list[ShardRun], summary: dict, exitcode: int) -> dict:
    """A pytest-json-report document: the shards' test entries, counts recomputed."""
    reports = [s.report for s in sorted(shards, key=lambda s: s.index)]
    tests = [t for r in reports for t in r.get("tests", [])]
    counts = Counter(t.get("outcome") for t in tests)
    totals = {**dict(sorted(counts.items())), "total": len(tests),
              "collected": sum(r.get("summary", {}).get("collected", 0) for r in reports)}
    deselected = sum(r.get("summary", {}).get("deselected", 0) for r in reports)
    if deselected:
        totals["deselected"] = deselected
    doc = {"created": time.time(), "duration": sum(r.get("duration", 0.0) for r in reports),
           "exitcode": exitcode, "root": reports[0].get("root"),
           "environment": reports[0].get("environment", {}), "summary": totals, "tests": tests}
    warnings = [w for r in reports for w in r.get("warnings", [])]
    if warnings:
        doc["warnings"] = warnings
    doc["dynbench"] = summary
    return doc


# --- writing -----------------------------------------------------------------------------


def check_out(out: Path, shards: list[ShardRun]) -> None:
    """Write into a new or empty folder, or over an earlier merge; never over a shard."""
    if any(out.resolve() == s.folder.resolve() for s in shards):
        raise MergeRefused(f"--out {out} is one of the shard folders; choose another")
    if not out.exists():
        return
    if not out.is_dir():
        raise MergeRefused(f"--out {out} exists and is not a folder")
    if not any(out.iterdir()):
        return
    summary = out / runfolder.SUMMARY
    earlier = runfolder.read_json(summary) if summary.is_file() else {}
    if "merge" not in earlier:
        raise MergeRefused(f"--out {out} already holds files that are not an earlier merge; "
                           "choose a new or empty folder")
    for sub in (runfolder.MASKS, runfolder.THUMBS):
        shutil.rmtree(out / sub, ignore_errors=True)


def copy_images(shards: list[ShardRun], out: Path) -> None:
    """Each shard's predicted masks and thumbnail strips, case by case. Copies, not links:
    a shard rerun into its folder rewrites its files, and must not change this merge."""
    for s in shards:
        for record in s.run.records:
            masks = runfolder.mask_dir(s.folder, record["id"])
            if masks.is_dir():
                shutil.copytree(masks, runfolder.mask_dir(out, record["id"]),
                                dirs_exist_ok=True)
            thumb = runfolder.thumb_file(s.folder, record["id"])
            if thumb.is_file():
                target = runfolder.thumb_file(out, record["id"])
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(thumb, target)


def write_merged(out: Path, shards: list[ShardRun], records: list[dict], summary: dict,
                 exitcode: int, data_dir: Path | None) -> str:
    """The merged run folder; returns the report.html line (a warning if it failed)."""
    runfolder.write_run_files(out, records, summary)
    copy_images(shards, out)
    runfolder.write_report(out, merged_report(shards, summary, exitcode))
    try:
        from dynbench.html import write_html

        return f"html: {write_html(out, summary, records, data_dir=data_dir)}"
    except Exception as exc:  # noqa: BLE001 - the merged results are already on disk
        return f"WARNING: report.html not written ({type(exc).__name__}: {exc})"


# --- the command -------------------------------------------------------------------------


def register(sub) -> None:
    m = sub.add_parser("merge", help="join the report folders of --shard runs into one report")
    m.add_argument("shard_dirs", nargs="+", metavar="SHARD_DIR", help="report folders of "
                   "the shards (any order; absent or unfinished ones count as missing)")
    m.add_argument("--out", required=True, metavar="DIR", help="merged report folder (new, "
                   "empty, or an earlier merge)")
    m.add_argument("--data-dir", metavar="DIR", help="dataset root for report.html's frame "
                   "strips (default: the first shard's data_dir)")
    m.add_argument("--baseline", metavar="PATH", help="gate: compare with this earlier run")
    m.add_argument("--max-drop", type=float, metavar="POINTS", help="gate: largest allowed "
                   f"significant drop (default {gate.DEFAULT_MAX_DROP:g})")
    m.add_argument("--alpha", type=float, metavar="A", help="gate: significance level "
                   f"(default {gate.DEFAULT_ALPHA:g})")
    m.add_argument("--fail-under", action="append", metavar="NAME=SCORE,...",
                   help="gate: absolute floors, e.g. cameraqa=40,overall=30")
    m.add_argument("--baseline-force", action="store_true", help="gate: compare even when "
                   "data or scoring settings differ")
    m.add_argument("--allow-missing", action="store_true", help="gate: a --fail-under floor "
                   "on a score the run did not measure passes (default: it fails)")
    m.set_defaults(func=cmd_merge)


def cmd_merge(args: argparse.Namespace) -> int:
    try:
        return merge(args)
    except (MergeRefused, gate.GateUsageError, RunFolderError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return gate.EXIT_USAGE


def error_lines(summary: dict, missing: list[int], most: int = 20) -> list[str]:
    """One line per missing shard, then the other errors (at most ``most``)."""
    count = summary["merge"]["count"]
    prefixes = {i: f"not run: shard {i}/{count} has no finished" for i in missing}
    lines, others = [], []
    for index, prefix in prefixes.items():
        n = sum(str(e["message"]).startswith(prefix) for e in summary["errors"])
        lines.append(f"MISSING shard {index}/{count}: its {n} cases did not run (listed as "
                     "errors in the report)")
    others = [e for e in summary["errors"]
              if not any(str(e["message"]).startswith(p) for p in prefixes.values())]
    lines += [f"ERROR {e['id']}: {e['message']}" for e in others[:most]]
    if len(others) > most:
        lines.append(f"... and {len(others) - most} more errors (report)")
    return lines


def merge(args: argparse.Namespace) -> int:
    from dynbench.report import render_table

    setup = gate.make_setup(baseline=args.baseline, fail_under=args.fail_under,
                            max_drop=args.max_drop, alpha=args.alpha,
                            force=args.baseline_force, cwd=Path.cwd(),
                            allow_missing=args.allow_missing)
    shards, warnings = read_shards([Path(d).expanduser() for d in args.shard_dirs])
    check_joinable(shards)
    gate.preflight(setup, shards[0].run.summary.get("settings", {}))
    out = Path(args.out).expanduser()
    check_out(out, shards)
    records, missing = join_records(shards)
    summary = merged_summary(shards, records, missing)
    exitcode = gate.EXIT_TESTS_FAILED if summary["counts"]["errors"] else 0
    if setup is not None:
        summary["gate"] = gate.evaluate(setup, summary, records)
        exitcode = gate.exit_status(exitcode, summary["gate"])
    data_dir = Path(args.data_dir) if args.data_dir else None
    html_line = write_merged(out, shards, records, summary, exitcode, data_dir)
    lines = [f"warning: {w}" for w in warnings]
    lines.append(f"merged {len(shards)} of {summary['merge']['count']} shards"
                 + (f"; missing: {', '.join(map(str, missing))}" if missing else ""))
    lines += render_table(summary)
    lines += error_lines(summary, missing)
    if summary.get("gate"):
        lines += gate.render_verdict(summary["gate"])
    lines += [f"report: {out}", html_line]
    print("\n".join(lines))
    return exitcode
