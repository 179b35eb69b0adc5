"""The regression gate: compare a run with a baseline run, and check absolute score floors.

Pure functions over summaries (the report's ``"dynbench"`` section) and case-record lists,
with no pytest imports, so the plugin, the command line and the tests share them.

Only the cases both runs scored are compared ("paired"). Dyn-Bench asks several questions
per video and answers about one video are correlated, so each task is tested by video: per
video c, D_c = Σ over its paired cases of (current - baseline) (correct 1 / wrong 0, or
J&F; errors 0), and a two-sided sign-flip test on the D_c (``stats.sign_flip_test``: exact
over 2^k sign patterns for k <= 16 videos with D_c != 0, else 10,000 seeded random
patterns). With one case per video that is the exact McNemar test (QA) and the paired
sign-flip test (masks) on cases.

A task *regresses* when its paired score drops by more than ``max_drop`` points AND the test
is significant (p < ``alpha``). A task with too few paired cases or videos to ever be
significant is ``insufficient``, never ``ok``. No multiple-testing correction is applied
across the (at most six) tasks: the ``max_drop`` threshold keeps noise from failing a build.

The gate refuses (exit 4) to compare what cannot be compared (different scoring settings or
data, unless forced) and a baseline that measured nothing (missing or non-finite scores, no
scored case, every case errored, a task whose paired baseline cases all errored): such a
baseline would turn any run into an "improvement".
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dynbench import runfolder, stats
from dynbench.records import case_value, is_scored, video_of
from dynbench.runfolder import Run
from dynbench.tasks import DIMENSION_TITLES, DIMENSIONS, TASK_ORDER, TASKS

DEFAULT_MAX_DROP = 2.0
DEFAULT_ALPHA = 0.05
MIN_PAIRED_CASES = 10  # fewer paired cases in a task: "insufficient"
DELTA_TOL = 1e-9  # points: a drop of exactly --max-drop is not "larger" despite rounding
SCORING_KEYS = ("protocol", "jf_mode", "bound_th", "max_frames", "qa_mode")
EXIT_GATE = 10  # regression or floor violation, no case errored
EXIT_USAGE = 4  # pytest's usage-error code: the runs cannot be compared
EXIT_TESTS_FAILED = 1


class GateUsageError(ValueError):
    """Bad gate options or an unreadable baseline: a usage error, exit 4."""


# --- loading runs ------------------------------------------------------------------------


def load_run(path: str | Path, *, samples: bool = True) -> Run:
    """:func:`dynbench.runfolder.load_run`; an unreadable run is a gate usage error."""
    try:
        run = runfolder.load_run(path, samples=samples)
    except runfolder.RunFolderError as exc:
        raise GateUsageError(str(exc)) from None
    for number, record in enumerate(run.records, 1):
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise GateUsageError(f"{run.folder / runfolder.SAMPLES}: record {number} is not a "
                                 "case record (no 'id')")
    return run


# --- options -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Floor:
    """``--fail-under name=score``; kind is task, dimension or overall."""

    name: str
    kind: str
    score: float


@dataclass(frozen=True)
class GateSetup:
    baseline: Run | None = None
    floors: tuple[Floor, ...] = ()
    max_drop: float = DEFAULT_MAX_DROP
    alpha: float = DEFAULT_ALPHA
    force: bool = False
    allow_missing: bool = False  # a floor on a score the run did not measure passes


def _floor_kind(name: str) -> str:
    if name == "overall":
        return "overall"
    if name in TASKS:
        return "task"
    if name in DIMENSIONS:
        return "dimension"
    raise GateUsageError(f"--fail-under: unknown name {name!r}; use a task "
                         f"({', '.join(TASK_ORDER)}), a dimension ({', '.join(DIMENSIONS)}) "
                         "or overall")


def parse_floors(items: str | list[str] | tuple[str, ...] | None) -> tuple[Floor, ...]:
    """``cameraqa=40,inter_object=35,overall=30`` (repeatable); later names override."""
    texts = [items] if isinstance(items, str) else list(items or ())
    floors: dict[str, Floor] = {}
    for part in (p.strip() for text in texts for p in text.split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip().lower().replace("-", "_")
        try:
            score = float(value)
        except ValueError:
            score = math.nan
        if not sep or not 0.0 <= score <= 100.0:
            raise GateUsageError(f"--fail-under: expected name=score with a score in 0..100, "
                                 f"got {part!r}")
        floors[name] = Floor(name, _floor_kind(name), score)
    return tuple(floors.values())


def make_setup(*, baseline: str | None, fail_under, max_drop: float | None,
               alpha: float | None, force: bool, cwd: Path,
               allow_missing: bool = False) -> GateSetup | None:
    """The gate's options, validated; ``None`` when no gate was asked for."""
    floors = parse_floors(fail_under)
    max_drop = DEFAULT_MAX_DROP if max_drop is None else float(max_drop)
    alpha = DEFAULT_ALPHA if alpha is None else float(alpha)
    if not max_drop >= 0.0:
        raise GateUsageError(f"--max-drop must be >= 0 points, got {max_drop}")
    if not 0.0 < alpha < 1.0:
        raise GateUsageError(f"--alpha must be in (0, 1), got {alpha}")
    if baseline is None and not floors:
        return None
    run = None
    if baseline is not None:
        path = Path(baseline).expanduser()
        run = load_run(path if path.is_absolute() else cwd / path)
    return GateSetup(run, floors, max_drop, alpha, bool(force), bool(allow_missing))


# --- comparability -----------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def settings_problems(current: dict, baseline: dict) -> list[str]:
    """Scoring settings that differ: scores measured differently are not comparable."""
    return [f"scoring setting {key}: baseline {baseline.get(key)!r}, this run "
            f"{current.get(key)!r}" for key in SCORING_KEYS
            if not _same(current.get(key), baseline.get(key))]


def hash_problems(current: list[dict], baseline: list[dict]) -> list[str]:
    """Common cases whose data (content_hash) changed since the baseline."""
    base = {r["id"]: r.get("content_hash") for r in baseline}
    changed = sorted(r["id"] for r in current if r["id"] in base and None not in
                     (base[r["id"]], r.get("content_hash"))
                     and base[r["id"]] != r.get("content_hash"))
    if not changed:
        return []
    return [f"{len(changed)} common case(s) have different data than in the baseline "
            f"(content_hash), e.g. {', '.join(changed[:3])}"]


def comparability_problems(summary: dict, records: list[dict], baseline: Run) -> list[str]:
    """Every reason the two runs' scores cannot be compared; empty when they can.
    ``--baseline-force`` turns these into warnings."""
    problems = settings_problems(summary.get("settings", {}), baseline.summary.get("settings",
                                                                                   {}))
    problems += hash_problems(records, baseline.records)
    if not {r["id"] for r in records} & {r["id"] for r in baseline.records}:
        problems.append("the runs have no case in common")
    return problems


def _examples(ids: list[str]) -> str:
    return ", ".join(sorted(ids)[:3]) + (", ..." if len(ids) > 3 else "")


def score_problems(records: list[dict], who: str) -> list[str]:
    """Scored cases whose score is missing or not a finite number in range (a NaN J&F, a
    hand-edited file): compared as numbers they would make any drop read as a gain."""
    bad = [r["id"] for r in records if is_scored(r) and r.get("status") != "error"
           and not _valid_score(r)]
    dupes = _duplicates([r["id"] for r in records])
    problems = [f"{who} has {len(bad)} case(s) with a missing or non-finite score "
                f"(e.g. {_examples(bad)})"] if bad else []
    if dupes:
        problems.append(f"{who} lists {len(dupes)} case id(s) more than once "
                        f"(e.g. {_examples(dupes)})")
    return problems


def _valid_score(record: dict) -> bool:
    if TASKS[record["task"]].kind == "qa":
        return isinstance(record.get("correct"), (bool, np.bool_))
    jf = record.get("jf")
    return isinstance(jf, numbers.Real) and not isinstance(jf, (bool, np.bool_)) and \
        0.0 <= jf <= 1.0


def _duplicates(ids: list[str]) -> list[str]:
    seen: set[str] = set()
    return sorted({i for i in ids if i in seen or seen.add(i)})


def baseline_problems(baseline: Run) -> list[str]:
    """Why the baseline measured nothing usable; never overridden by ``--baseline-force``."""
    scored = [r for r in baseline.records if is_scored(r)]
    problems = score_problems(baseline.records, "the baseline")
    if not scored:
        n_a = sum(r.get("status") == "n/a" for r in baseline.records)
        problems.append(f"the baseline scored no case ({len(baseline.records)} records, "
                        f"{n_a} not applicable)")
    elif all(r.get("status") == "error" for r in scored):
        first = next((r.get("error") for r in scored if r.get("error")), "no message")
        problems.append(f"the baseline errored on every case it scored ({len(scored)}; "
                        f"e.g. {str(first)[:120]!r})")
    return problems


def preflight(setup: GateSetup | None, settings: dict) -> None:
    """Refuse an unusable baseline or mismatched scoring settings before the run starts,
    not hours later."""
    if setup is None or setup.baseline is None:
        return
    problems = baseline_problems(setup.baseline)
    if problems:
        raise GateUsageError(unusable_message(setup.baseline.folder, problems))
    problems = [] if setup.force else settings_problems(
        settings, setup.baseline.summary.get("settings", {}))
    if problems:
        raise GateUsageError(refusal_message(setup.baseline.folder, problems))


def refusal_message(folder: Path, problems: list[str]) -> str:
    return (f"refusing to compare with baseline {folder}: "
            f"{'; '.join(problems)}. Pass --baseline-force to compare anyway.")


def unusable_message(folder: Path, problems: list[str]) -> str:
    only_too_few = all(p.startswith("no task has enough paired cases") for p in problems)
    advice = ("A verdict on so few cases would be noise; compare runs over more of the "
              "benchmark (a larger --limit or none)." if only_too_few else
              "It would make any run look like an improvement; use a clean run (exit 0) as "
              "the baseline.")
    return f"refusing baseline {folder}: {'; '.join(problems)}. {advice}"


# --- pairing and testing -----------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """One case both runs scored: its video and its value in each run."""

    id: str
    video: str
    baseline: float
    current: float
    baseline_error: bool


def paired_values(current: list[dict], baseline: list[dict]) -> dict[str, list[Pair]]:
    """task -> the cases both runs scored, by id, in id order."""
    base = {r["id"]: r for r in baseline if is_scored(r)}
    pairs: dict[str, list[Pair]] = {}
    for r in sorted(current, key=lambda r: r["id"]):
        b = base.get(r["id"])
        if b is not None and is_scored(r) and b["task"] == r["task"]:
            pairs.setdefault(r["task"], []).append(Pair(
                r["id"], video_of(r), case_value(b), case_value(r),
                b.get("status") == "error"))
    return pairs


def video_differences(pairs: list[Pair]) -> dict[str, float]:
    """D_c per video c (sorted by video): Σ (current - baseline), computed exactly and
    rounded once (``fsum`` of the values and the negated baseline values)."""
    by_video: dict[str, list[float]] = {}
    for p in pairs:
        by_video.setdefault(p.video, []).extend((p.current, -p.baseline))
    return {v: math.fsum(by_video[v]) for v in sorted(by_video)}


def smallest_p(videos: int) -> float:
    """The smallest p-value the test can give with this many videos (all of them moved the
    same way): 2 / 2^C when enumerated exactly, 1 / (1 + flips) otherwise."""
    if videos <= stats.EXACT_MAX:
        return 2.0 / 2**videos if videos else 1.0
    return 1.0 / (1 + stats.FLIPS)


def insufficient_reason(n_cases: int, videos: int, alpha: float) -> str | None:
    """Why a task cannot be tested; ``None`` when it can."""
    if n_cases < MIN_PAIRED_CASES:
        return f"{n_cases} paired case(s), fewer than {MIN_PAIRED_CASES}"
    if smallest_p(videos) >= alpha:
        return (f"{videos} paired video(s): even if every one moved the same way, p would be "
                f"{smallest_p(videos):.3g} >= alpha {alpha:g}")
    return None


def verdict(delta: float, p: float, n: int, max_drop: float, alpha: float,
            testable: bool = True) -> str:
    if n == 0:
        return "n/a"
    if not testable:
        return "insufficient"
    if abs(delta) <= max_drop + DELTA_TOL:
        return "ok"
    if p >= alpha:
        return "not significant"
    return "regression" if delta < 0 else "improved"


def compare_task(task: str, pairs: list[Pair], max_drop: float, alpha: float) -> dict:
    """Paired scores, delta (points), the by-video test and the verdict of one task."""
    n = len(pairs)
    diffs = video_differences(pairs)
    test = stats.sign_flip_test(list(diffs.values()))
    base = 100.0 * math.fsum(p.baseline for p in pairs) / n if n else None
    cur = 100.0 * math.fsum(p.current for p in pairs) / n if n else None
    delta = cur - base if n else 0.0
    why = insufficient_reason(n, len(diffs), alpha)
    row: dict[str, Any] = {"metric": TASKS[task].metric, "n_paired": n,
                           "videos_paired": len(diffs), "videos_changed": test.nonzero}
    if TASKS[task].kind == "qa":
        row.update(broken=sum(p.baseline > p.current for p in pairs),
                   fixed=sum(p.current > p.baseline for p in pairs))
    return {**row, "baseline": base, "current": cur, "delta": delta, "p_value": test.p,
            "test": f"video sign-flip {test.method}", "insufficient": why,
            "verdict": verdict(delta, test.p, n, max_drop, alpha, testable=why is None)}


def compare_runs(summary: dict, records: list[dict], baseline: Run, max_drop: float,
                 alpha: float) -> dict:
    """Per task (tested), per dimension and overall (deltas) over the paired cases."""
    pairs = paired_values(records, baseline.records)
    tasks = {t: compare_task(t, pairs[t], max_drop, alpha) for t in TASK_ORDER if t in pairs}
    cur_ids, base_ids = {r["id"] for r in records}, {r["id"] for r in baseline.records}
    return {"tasks": tasks, "dimensions": _dimension_deltas(tasks),
            "overall": _overall_delta(tasks),
            "cases": {"paired": sum(len(v) for v in pairs.values()),
                      "only_current": len(cur_ids - base_ids),
                      "only_baseline": len(base_ids - cur_ids)},
            "not_compared": sorted({*summary.get("tasks", {}),
                                    *baseline.summary.get("tasks", {})} - set(tasks)),
            "notes": _baseline_error_notes(pairs), "problems": pairing_problems(pairs, tasks)}


def _baseline_error_notes(pairs: dict[str, list[Pair]]) -> list[str]:
    notes = []
    for task, rows in pairs.items():
        errored = sum(p.baseline_error for p in rows)
        if errored and errored < len(rows):
            notes.append(f"the baseline errored on {errored} of {len(rows)} paired {task} "
                         "case(s), scored 0 there: a gain on them may only be a fixed error")
    return notes


def pairing_problems(pairs: dict[str, list[Pair]], tasks: dict[str, dict]) -> list[str]:
    """Reasons the paired comparison says nothing (never overridden by --baseline-force)."""
    problems = [f"the baseline errored on all {len(rows)} paired {task} case(s)"
                for task, rows in pairs.items() if rows and all(p.baseline_error for p in rows)]
    if not pairs:
        problems.append("no case was scored by both runs")
    elif all(row["insufficient"] for row in tasks.values()):
        problems.append("no task has enough paired cases to test ("
                        + "; ".join(f"{t}: {row['insufficient']}" for t, row in tasks.items())
                        + f"); the gate needs at least {MIN_PAIRED_CASES} paired cases in "
                          "enough videos per task")
    return problems


def _dimension_deltas(tasks: dict[str, dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for dim in DIMENSIONS:
        row: dict[str, Any] = {"title": DIMENSION_TITLES[dim],
                               "combined": "not combined: one row per task (qa, mask)"}
        for name, task in TASKS.items():
            if task.dimension == dim:
                t = tasks.get(name)
                row[task.kind] = None if t is None else {
                    k: t[k] for k in ("baseline", "current", "delta", "verdict")}
        out[dim] = row
    return out


def _overall_delta(tasks: dict[str, dict]) -> dict:
    """Mean of the paired task scores, as the overall score is a mean of task scores."""
    entered = [t for t, row in tasks.items() if row["n_paired"]]
    combined = "unweighted mean of the paired task scores; no test of its own"
    if not entered:
        return {"baseline": None, "current": None, "delta": None, "entered": [],
                "combined": combined}
    base = math.fsum(tasks[t]["baseline"] for t in entered) / len(entered)
    cur = math.fsum(tasks[t]["current"] for t in entered) / len(entered)
    return {"baseline": base, "current": cur, "delta": cur - base, "entered": entered,
            "combined": combined}


# --- floors ------------------------------------------------------------------------------


def _floor_row(floor: Floor, task: str | None, score: float | None) -> dict:
    state = "not measured" if score is None else (
        "ok" if score >= floor.score - DELTA_TOL else "below")
    return {"name": floor.name, "kind": floor.kind, "task": task, "score": score,
            "floor": floor.score, "verdict": state}


def check_floors(summary: dict, floors: tuple[Floor, ...]) -> list[dict]:
    """One row per checked score. A dimension floor applies to each of its available scores
    (QA accuracy and mask J&F separately: they are different metrics, a mean would let one
    hide the other). A floor on a score the run did not measure is "not measured" (it fails
    the gate unless ``--allow-missing``)."""
    tasks = summary.get("tasks", {})
    rows = []
    for floor in floors:
        if floor.kind == "overall":
            rows.append(_floor_row(floor, None, summary.get("overall", {}).get("score")))
        elif floor.kind == "task":
            rows.append(_floor_row(floor, floor.name, tasks.get(floor.name, {}).get("score")))
        else:
            names = [t for t, s in TASKS.items() if s.dimension == floor.name
                     and tasks.get(t, {}).get("score") is not None]
            rows += [_floor_row(floor, t, tasks[t]["score"]) for t in names] or \
                [_floor_row(floor, None, None)]
    return rows


# --- the verdict -------------------------------------------------------------------------


def evaluate(setup: GateSetup, summary: dict, records: list[dict]) -> dict:
    """The gate's verdict: ``status`` is pass, fail or refused (with the reasons)."""
    result: dict[str, Any] = {"max_drop": setup.max_drop, "alpha": setup.alpha,
                              "forced": setup.force, "allow_missing": setup.allow_missing,
                              "min_paired_cases": MIN_PAIRED_CASES, "baseline": None,
                              "warnings": [], "notes": [], "regressions": [],
                              "insufficient": [], "floors": check_floors(summary, setup.floors)}
    if setup.baseline is not None:
        refused = _refusal(setup, summary, records)
        if refused is not None:
            return {**result, **refused, "status": "refused"}
        result["warnings"] = comparability_problems(summary, records, setup.baseline)
        result.update(compare_runs(summary, records, setup.baseline, setup.max_drop,
                                   setup.alpha))
        result["baseline"] = _baseline_facts(setup.baseline)
        if result["problems"]:
            return {**result, "status": "refused",
                    "message": unusable_message(setup.baseline.folder, result["problems"])}
        result["regressions"] = _with_verdict(result["tasks"], "regression")
        result["insufficient"] = _with_verdict(result["tasks"], "insufficient")
    result["floor_violations"] = [_floor_label(r) for r in result["floors"]
                                  if _floor_fails(r, setup.allow_missing)]
    failed = result["regressions"] or result["floor_violations"]
    return {**result, "status": "fail" if failed else "pass"}


def _refusal(setup: GateSetup, summary: dict, records: list[dict]) -> dict | None:
    """The refusal fields when the runs cannot be compared at all, else ``None``."""
    baseline = setup.baseline
    facts = {"baseline": _baseline_facts(baseline)}
    unusable = baseline_problems(baseline) + score_problems(records, "this run")
    if unusable:
        return {**facts, "problems": unusable,
                "message": unusable_message(baseline.folder, unusable)}
    problems = comparability_problems(summary, records, baseline)
    if problems and not setup.force:
        return {**facts, "problems": problems,
                "message": refusal_message(baseline.folder, problems)}
    return None


def _with_verdict(tasks: dict[str, dict], verdict_name: str) -> list[str]:
    return [t for t, row in tasks.items() if row["verdict"] == verdict_name]


def _floor_fails(row: dict, allow_missing: bool) -> bool:
    return row["verdict"] == "below" or (row["verdict"] == "not measured" and
                                         not allow_missing)


def _baseline_facts(run: Run) -> dict:
    settings = run.summary.get("settings", {})
    return {"path": str(run.folder), "model": run.label,
            "dataset_fingerprint": settings.get("dataset_fingerprint"),
            "settings": {k: settings.get(k) for k in SCORING_KEYS}}


def _floor_label(row: dict) -> str:
    where = row["name"] if row["task"] in (None, row["name"]) else f"{row['name']}:{row['task']}"
    if row["verdict"] == "not measured":
        return f"{where} not measured"
    return f"{where}<{row['floor']:g}"


def exit_status(current: int, result: dict | None) -> int:
    """pytest's status, adjusted by the gate: errors keep 1, a refusal is 4, a failed gate 10."""
    if result is None:
        return current
    if result["status"] == "refused" and current in (0, EXIT_TESTS_FAILED):
        return EXIT_USAGE
    if result["status"] == "fail" and current == 0:
        return EXIT_GATE
    return current


# --- terminal rendering ------------------------------------------------------------------


def _num(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x:+.1f}" if signed else f"{x:.1f}"


def _task_lines(tasks: dict[str, dict]) -> list[str]:
    lines = [f"{'task':<11} {'baseline':>8} {'current':>8} {'delta':>7} {'n':>5} "
             f"{'videos':>6} {'p-value':>8}  {'test':<36} verdict"]
    for name, t in tasks.items():
        lines.append(f"{name:<11} {_num(t['baseline']):>8} {_num(t['current']):>8} "
                     f"{_num(t['delta'], True):>7} {t['n_paired']:>5} {t['videos_paired']:>6} "
                     f"{t['p_value']:>8.4f}  {t['test']:<36} {t['verdict']}")
        if t.get("insufficient"):
            lines.append(f"{'':<11} insufficient: {t['insufficient']}")
    return lines


def _dimension_lines(result: dict) -> list[str]:
    lines = []
    for row in result.get("dimensions", {}).values():
        parts = [f"{kind} {_num(row[kind]['delta'], True)}" for kind in ("qa", "mask")
                 if row.get(kind)]
        if parts:
            lines.append(f"{row['title']:<15} delta {', '.join(parts)}")
    o = result.get("overall")
    if o and o.get("delta") is not None:
        lines.append(f"{'overall':<15} {_num(o['baseline'])} -> {_num(o['current'])} "
                     f"(delta {_num(o['delta'], True)}, mean of {len(o['entered'])} paired "
                     "task scores)")
    return lines


def render_verdict(result: dict) -> list[str]:
    """The verdict table for the terminal."""
    if result["status"] == "refused":
        return [f"GATE REFUSED: {result['message']}"]
    lines = []
    if result.get("baseline"):
        lines.append(f"baseline: {result['baseline']['path']} ({result['baseline']['model']}); "
                     f"max drop {result['max_drop']:g} points, alpha {result['alpha']:g}; "
                     f"{result['cases']['paired']} paired cases; tests by video")
        lines += [f"warning (--baseline-force): {w}" for w in result["warnings"]]
        lines += [f"note: {n}" for n in result.get("notes", [])]
        lines += _task_lines(result["tasks"]) + _dimension_lines(result)
        if result["not_compared"]:
            lines.append(f"not compared (no paired cases): {', '.join(result['not_compared'])}")
    for row in result["floors"]:
        target = f"{row['name']}" + (f" ({row['task']})" if row["task"] not in
                                      (None, row["name"]) else "")
        lines.append(f"floor {target} >= {row['floor']:g}: {_num(row['score'])} "
                     f"{row['verdict']}")
    lines.append(status_line(result))
    return lines


def status_line(result: dict) -> str:
    """One line: PASS, or FAIL with the regressions and floor violations."""
    untested = result.get("insufficient") or []
    if result["status"] == "pass":
        return "GATE: PASS" + (f" (not tested, insufficient: {', '.join(untested)})"
                               if untested else "")
    why = [f"regression in {', '.join(result['regressions'])}"] if result["regressions"] else []
    below = [v for v in result["floor_violations"] if not v.endswith("not measured")]
    missing = [v for v in result["floor_violations"] if v.endswith("not measured")]
    if below:
        why.append(f"below floor: {', '.join(below)}")
    if missing:
        why.append(f"floor on a score not measured: {', '.join(missing)} "
                   "(--allow-missing accepts that)")
    return f"GATE: FAIL ({'; '.join(why)}); exit code {EXIT_GATE} unless cases errored (1)"
