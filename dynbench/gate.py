"""The regression gate: compare a run with a baseline run, and check absolute score floors.

Pure functions over summaries (the report's ``"dynbench"`` section) and case-record lists,
with no pytest imports, so the plugin, the command line and the tests share them.

Only the cases both runs scored are compared ("paired"); each task gets a paired test:

* QA (correct / wrong per case): exact McNemar test, i.e. a two-sided binomial test with
  p = 1/2 on the discordant pairs (broken = right before, wrong now; fixed = the reverse),
  in exact integer arithmetic up to ``EXACT_BINOMIAL_MAX_N`` pairs.
* Masks (J&F per case): paired sign-flip permutation test on the per-case differences, with
  the statistic |sum of differences|; exact enumeration of all 2^n sign patterns when at most
  ``EXACT_MAX_N`` cases differ, else ``PERMUTATIONS`` random patterns from a fixed seed with
  p = (1 + hits) / (1 + permutations).

A task *regresses* when its paired score drops by more than ``max_drop`` points AND the test
is significant (p < ``alpha``). No multiple-testing correction is applied across the (at most
six) tasks: the ``max_drop`` threshold is what keeps noise from failing a build.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dynbench import runfolder
from dynbench.runfolder import Run
from dynbench.tasks import DIMENSION_TITLES, DIMENSIONS, TASK_ORDER, TASKS

DEFAULT_MAX_DROP = 2.0
DEFAULT_ALPHA = 0.05
PERMUTATIONS = 10_000
EXACT_MAX_N = 16
EXACT_BINOMIAL_MAX_N = 1000
SEED = 0
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
        return runfolder.load_run(path, samples=samples)
    except runfolder.RunFolderError as exc:
        raise GateUsageError(str(exc)) from None


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
               alpha: float | None, force: bool, cwd: Path) -> GateSetup | None:
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
    return GateSetup(run, floors, max_drop, alpha, force)


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
    """Every reason the two runs' scores cannot be compared; empty when they can."""
    problems = settings_problems(summary.get("settings", {}), baseline.summary.get("settings",
                                                                                   {}))
    problems += hash_problems(records, baseline.records)
    if not {r["id"] for r in records} & {r["id"] for r in baseline.records}:
        problems.append("the runs have no case in common")
    return problems


def preflight(setup: GateSetup | None, settings: dict) -> None:
    """Refuse mismatched scoring settings before the run starts, not hours later."""
    if setup is None or setup.baseline is None or setup.force:
        return
    problems = settings_problems(settings, setup.baseline.summary.get("settings", {}))
    if problems:
        raise GateUsageError(refusal_message(setup.baseline.folder, problems))


def refusal_message(folder: Path, problems: list[str]) -> str:
    return (f"refusing to compare with baseline {folder}: "
            f"{'; '.join(problems)}. Pass --baseline-force to compare anyway.")


# --- statistics --------------------------------------------------------------------------


def mcnemar_exact(broken: int, fixed: int) -> float:
    """Two-sided exact McNemar p: binomial(n = broken + fixed, 1/2) tail, doubled."""
    n = broken + fixed
    if n == 0:
        return 1.0
    if n > EXACT_BINOMIAL_MAX_N:  # big-integer sums get slow; scipy's cdf is accurate here
        from scipy.stats import binom

        return float(min(1.0, 2.0 * binom.cdf(min(broken, fixed), n, 0.5)))
    tail = sum(math.comb(n, i) for i in range(min(broken, fixed) + 1))
    return min(1.0, 2 * tail / 2**n)  # exact integer arithmetic, one rounding


def sign_flip_p(diffs: list[float], *, permutations: int = PERMUTATIONS, seed: int = SEED,
                exact_max: int = EXACT_MAX_N) -> tuple[float, str]:
    """Two-sided paired sign-flip test of mean(diffs) == 0; returns (p, method)."""
    d = np.asarray([x for x in diffs if x != 0.0], dtype=float)
    if len(d) == 0:
        return 1.0, "exact"
    observed = abs(float(d.sum())) - 1e-9 * max(1.0, float(np.abs(d).sum()))  # float ties
    if len(d) <= exact_max:
        bits = (np.arange(2 ** len(d))[:, None] >> np.arange(len(d))) & 1
        sums = (1 - 2 * bits) @ d
        return float(np.mean(np.abs(sums) >= observed)), "exact"
    rng = np.random.default_rng(seed)
    hits, done = 0, 0
    while done < permutations:
        chunk = min(1000, permutations - done)
        signs = rng.integers(0, 2, size=(chunk, len(d)), dtype=np.int8) * 2 - 1
        hits += int(np.count_nonzero(np.abs(signs @ d) >= observed))
        done += chunk
    return (1 + hits) / (1 + permutations), f"monte-carlo ({permutations})"


# --- comparison --------------------------------------------------------------------------


def _scored(record: dict) -> bool:
    return (record.get("task") in TASKS and record.get("status") not in ("n/a", "skipped")
            and not record.get("file_problem"))


def case_value(record: dict) -> float:
    """What a case scores, as the task score counts it (errors: wrong / 0)."""
    if TASKS[record["task"]].kind == "qa":
        return 1.0 if record.get("correct") else 0.0
    return float(record.get("jf") or 0.0)


def paired_values(current: list[dict], baseline: list[dict]) -> dict[str, list[tuple]]:
    """task -> [(baseline value, current value)] over cases both runs scored, by id."""
    base = {r["id"]: r for r in baseline if _scored(r)}
    pairs: dict[str, list[tuple]] = {}
    for r in sorted(current, key=lambda r: r["id"]):
        if _scored(r) and r["id"] in base:
            pairs.setdefault(r["task"], []).append((case_value(base[r["id"]]), case_value(r)))
    return pairs


def verdict(delta: float, p: float, n: int, max_drop: float, alpha: float) -> str:
    if n == 0:
        return "n/a"
    if abs(delta) <= max_drop:
        return "ok"
    if p >= alpha:
        return "not significant"
    return "regression" if delta < 0 else "improved"


def compare_task(task: str, pairs: list[tuple], max_drop: float, alpha: float) -> dict:
    """Paired scores, delta (points), test and verdict of one task."""
    n = len(pairs)
    base = 100.0 * math.fsum(b for b, _ in pairs) / n if n else None
    cur = 100.0 * math.fsum(c for _, c in pairs) / n if n else None
    delta = round(cur - base, 9) if n else 0.0  # a drop of exactly max_drop is not "larger"
    row: dict[str, Any] = {"metric": TASKS[task].metric, "n_paired": n}
    if TASKS[task].kind == "qa":
        broken = sum(b > c for b, c in pairs)
        fixed = sum(c > b for b, c in pairs)
        p, test = mcnemar_exact(broken, fixed), "mcnemar-exact"
        row.update(broken=broken, fixed=fixed)
    else:
        p, method = sign_flip_p([c - b for b, c in pairs])
        test = f"sign-flip {method}"
    return {**row, "baseline": _round(base), "current": _round(cur), "delta": _round(delta),
            "p_value": round(p, 6), "test": test,
            "verdict": verdict(delta, p, n, max_drop, alpha)}


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


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
                                    *baseline.summary.get("tasks", {})} - set(tasks))}


def _dimension_deltas(tasks: dict[str, dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for dim in DIMENSIONS:
        row: dict[str, Any] = {"title": DIMENSION_TITLES[dim]}
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
    if not entered:
        return {"baseline": None, "current": None, "delta": None, "entered": []}
    base = math.fsum(tasks[t]["baseline"] for t in entered) / len(entered)
    cur = math.fsum(tasks[t]["current"] for t in entered) / len(entered)
    return {"baseline": _round(base), "current": _round(cur), "delta": _round(cur - base),
            "entered": entered}


# --- floors ------------------------------------------------------------------------------


def _floor_row(floor: Floor, task: str | None, score: float | None) -> dict:
    state = "not measured" if score is None else ("ok" if score >= floor.score else "below")
    return {"name": floor.name, "kind": floor.kind, "task": task, "score": score,
            "floor": floor.score, "verdict": state}


def check_floors(summary: dict, floors: tuple[Floor, ...]) -> list[dict]:
    """One row per checked score. A dimension floor applies to each of its available scores
    (QA accuracy and mask J&F separately: they are different metrics, a mean would let one
    hide the other). A floor on a score the run did not measure is reported, not failed."""
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
                              "forced": setup.force, "baseline": None, "warnings": [],
                              "regressions": [], "floors": check_floors(summary, setup.floors)}
    if setup.baseline is not None:
        result["baseline"] = _baseline_facts(setup.baseline)
        problems = comparability_problems(summary, records, setup.baseline)
        if problems and not setup.force:
            return {**result, "status": "refused", "problems": problems,
                    "message": refusal_message(setup.baseline.folder, problems)}
        result["warnings"] = problems
        result.update(compare_runs(summary, records, setup.baseline, setup.max_drop,
                                   setup.alpha))
        result["regressions"] = [t for t, row in result["tasks"].items()
                                 if row["verdict"] == "regression"]
    result["floor_violations"] = [_floor_label(r) for r in result["floors"]
                                  if r["verdict"] == "below"]
    failed = result["regressions"] or result["floor_violations"]
    return {**result, "status": "fail" if failed else "pass"}


def _baseline_facts(run: Run) -> dict:
    settings = run.summary.get("settings", {})
    return {"path": str(run.folder), "model": run.label,
            "dataset_fingerprint": settings.get("dataset_fingerprint"),
            "settings": {k: settings.get(k) for k in SCORING_KEYS}}


def _floor_label(row: dict) -> str:
    where = row["name"] if row["task"] in (None, row["name"]) else f"{row['name']}:{row['task']}"
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
             f"{'p-value':>8}  {'test':<26} verdict"]
    for name, t in tasks.items():
        lines.append(f"{name:<11} {_num(t['baseline']):>8} {_num(t['current']):>8} "
                     f"{_num(t['delta'], True):>7} {t['n_paired']:>5} {t['p_value']:>8.4f}  "
                     f"{t['test']:<26} {t['verdict']}")
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
                     f"{result['cases']['paired']} paired cases")
        lines += [f"warning (--baseline-force): {w}" for w in result["warnings"]]
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
    if result["status"] == "pass":
        return "GATE: PASS"
    why = [f"regression in {', '.join(result['regressions'])}"] if result["regressions"] else []
    if result["floor_violations"]:
        why.append(f"below floor: {', '.join(result['floor_violations'])}")
    return f"GATE: FAIL ({'; '.join(why)}); exit code {EXIT_GATE} unless cases errored (1)"
