"""``--shard I/N``: a deterministic, video-atomic, cost-balanced part of the selected cases.

A cluster's job array runs one shard per task; ``dynbench merge`` joins the shards' report
folders into the report one run would have written. The plan depends only on the selected
cases and the frame counts of their videos (read from the folder listing, never by decoding),
so every machine with the same data and options computes the same plan:

* every case of one video lands in the same shard (its frames are decoded once);
* a video costs (cases) x (frames shown), the work the model does on it;
* videos go, most expensive first, to the least-loaded shard (ties: the lower shard index;
  equal costs: by video key), the classic longest-processing-time rule, which stays within
  a small fraction of the mean when there are many more videos than shards;
* together the shards cover every selected case exactly once.

``--shard auto`` reads the index from the job array's environment (Slurm or a Kubernetes
Indexed Job) and says which variables it used.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dynbench.data import Case, DataError
from dynbench.media import list_frames, sample_positions, scene_masks

SHARD_SYNTAX = re.compile(r"^(?:(?P<index>\d+)|(?P<auto>auto))(?:/(?P<count>\d+))?$")


@dataclass(frozen=True)
class Shard:
    """This process's part: ``index`` of ``count`` (0-based), and where that came from."""

    index: int
    count: int
    source: str

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"


def _int(env: Mapping[str, str], name: str) -> int | None:
    value = env.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"--shard auto: {name}={value!r} is not an integer") from None


def _from_slurm(env: Mapping[str, str], given: int | None) -> Shard:
    """Index and count from a job array: its task's place in the array, of the array's
    tasks. With ``auto/N`` and an array of other than N tasks (a resubmission of some tasks,
    ``sbatch --array=5``), the task id itself is the index."""
    task_id = _int(env, "SLURM_ARRAY_TASK_ID")
    count = _int(env, "SLURM_ARRAY_TASK_COUNT")
    if given is not None and count != given:
        if not 0 <= task_id < given:
            raise ValueError(f"--shard auto/{given}: this array has {count} task(s), so its "
                             f"task id is the shard index, but {task_id} is not in "
                             f"0..{given - 1}; number the array from 0 (--array=0-{given - 1})")
        return Shard(task_id, given, f"Slurm job array: SLURM_ARRAY_TASK_ID={task_id} as the "
                                     f"index (the array has {count} task(s), not {given}), "
                                     f"count {given} from --shard auto/{given}")
    if count is None:
        raise ValueError("--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT "
                         "is not; pass the count as --shard auto/N")
    low = _int(env, "SLURM_ARRAY_TASK_MIN") or 0
    high = _int(env, "SLURM_ARRAY_TASK_MAX")
    step = _int(env, "SLURM_ARRAY_TASK_STEP") or 1
    offset, rest = divmod(task_id - low, step)
    even = high is None or high - low == (count - 1) * step
    if rest or not even or not 0 <= offset < count:
        raise ValueError(f"--shard auto: array task {task_id} (min {low}, max {high}, step "
                         f"{step}, count {count}) does not number the shards 0..{count - 1}; "
                         f"submit an even range like --array=0-{count - 1}, or pass "
                         "--shard auto/N or --shard I/N")
    parts = [f"SLURM_ARRAY_TASK_ID={task_id}"]
    parts += [f"SLURM_ARRAY_TASK_MIN={low}"] if low else []
    parts += [f"SLURM_ARRAY_TASK_STEP={step}"] if step != 1 else []
    parts.append(f"SLURM_ARRAY_TASK_COUNT={count}")
    return Shard(offset, count, "Slurm job array: " + ", ".join(parts))


def _from_kubernetes(env: Mapping[str, str], given: int | None) -> Shard:
    index = _int(env, "JOB_COMPLETION_INDEX")
    if given is None:
        raise ValueError(f"--shard auto: JOB_COMPLETION_INDEX={index} (a Kubernetes Indexed "
                         "Job) does not say how many shards there are; pass --shard auto/N "
                         "with N = the Job's completions")
    if not 0 <= index < given:
        raise ValueError(f"--shard auto/{given}: JOB_COMPLETION_INDEX={index} is not in "
                         f"0..{given - 1}; N must equal the Job's completions")
    return Shard(index, given, f"Kubernetes Indexed Job: JOB_COMPLETION_INDEX={index}, count "
                               f"{given} from --shard auto/{given}")


def parse_shard(text: str | None, env: Mapping[str, str]) -> Shard | None:
    """``I/N``, ``auto`` or ``auto/N``; ``None`` when no sharding was asked for."""
    if text is None:
        return None
    m = SHARD_SYNTAX.match(text.strip())
    if not m or (m["auto"] is None and m["count"] is None):
        raise ValueError(f"--shard: expected I/N (0 <= I < N), auto or auto/N, got {text!r}")
    given = None if m["count"] is None else int(m["count"])
    if given is not None and given < 1:
        raise ValueError(f"--shard {text}: the shard count must be at least 1")
    if m["auto"] is None:
        index = int(m["index"])
        if index >= given:
            raise ValueError(f"--shard {text}: the index must be in 0..{given - 1} (0-based)")
        return Shard(index, given, f"--shard {text.strip()}")
    if env.get("SLURM_ARRAY_TASK_ID"):
        return _from_slurm(env, given)
    if env.get("JOB_COMPLETION_INDEX"):
        return _from_kubernetes(env, given)
    raise ValueError("--shard auto: neither SLURM_ARRAY_TASK_ID (Slurm job array) nor "
                     "JOB_COMPLETION_INDEX (Kubernetes Indexed Job) is set; pass --shard I/N")


# --- the plan ----------------------------------------------------------------------------


def frame_count(root: Path, case: Case) -> int:
    """Frames of the case's video, from the folder listing; 0 when it cannot be listed."""
    try:
        return len(list_frames(root, case.source, case.scene))
    except DataError:
        return 0


def video_costs(cases: Sequence[Case], root: Path, max_frames: int | None) -> dict[str, int]:
    """Video key -> cases x frames shown. A case costs at least 1 (a broken case is quick,
    but still a case)."""
    costs: dict[str, int] = {}
    for case in cases:
        shown = len(sample_positions(frame_count(root, case), max_frames))
        costs[case.scene_key] = costs.get(case.scene_key, 0) + max(1, shown)
    return costs


def assign(costs: Mapping[str, int], count: int) -> dict[str, int]:
    """Video key -> shard index: most expensive video first onto the least-loaded shard."""
    loads = [(0, index) for index in range(count)]  # a heap of (load, shard index)
    owner: dict[str, int] = {}
    for key in sorted(costs, key=lambda k: (-costs[k], k)):
        load, index = heapq.heappop(loads)
        owner[key] = index
        heapq.heappush(loads, (load + costs[key], index))
    return owner


@dataclass(frozen=True)
class Plan:
    """Which selected case runs in which shard."""

    count: int
    cases: tuple[tuple[str, ...], ...]  # case ids per shard, in selection order
    costs: tuple[int, ...]  # estimated cost per shard
    videos: tuple[int, ...]  # videos per shard

    @property
    def balance(self) -> float:
        """Max shard cost / mean shard cost (1.0 = perfect)."""
        mean = sum(self.costs) / self.count
        return max(self.costs) / mean if mean else 1.0

    @property
    def fingerprint(self) -> str:
        return _digest([list(ids) for ids in self.cases])


def make_plan(cases: Sequence[Case], root: Path, max_frames: int | None, count: int) -> Plan:
    costs = video_costs(cases, root, max_frames)
    owner = assign(costs, count)
    ids: list[list[str]] = [[] for _ in range(count)]
    for case in cases:
        ids[owner[case.scene_key]].append(case.id)
    per_shard, videos = [0] * count, [0] * count
    for key, index in owner.items():
        per_shard[index] += costs[key]
        videos[index] += 1
    return Plan(count, tuple(map(tuple, ids)), tuple(per_shard), tuple(videos))


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def selection_fingerprint(cases: Sequence[Case], tasks: Sequence[str],
                          limit: int | None) -> str:
    """What was selected: the options and the case ids (not their content)."""
    return _digest({"tasks": list(tasks), "limit": limit, "ids": sorted(c.id for c in cases)})


def _file_list(paths) -> list[tuple[str, int]]:
    out = []
    for path in paths:
        try:
            out.append((path.name, path.stat().st_size))
        except OSError:
            out.append((path.name, -1))
    return out


def _video_files(root: Path, source: str, scene: str) -> list:
    """Names and sizes of a video's frame and mask files (or why it has none)."""
    try:
        frames = _file_list(list_frames(root, source, scene).paths)
    except DataError as exc:
        frames = [str(exc)]
    try:
        objects = scene_masks(root, source, scene).objects
    except DataError as exc:
        return [frames, [str(exc)]]
    return [frames, [(obj, _file_list([path for _, path in sorted(found.files.items())]))
                     for obj, found in sorted(objects.items())]]


def data_fingerprint(cases: Sequence[Case], root: Path) -> str:
    """What the selected cases contain: what ``content_hash`` (the key of ``--resume`` and of
    the gate's data check) covers, each case's JSON entry and the names and sizes of its
    video's frame and mask files, with each video's files read once."""
    entries = sorted((c.id, c.question, [(o.letter, o.text) for o in c.options], c.truth,
                      c.obj, c.problem) for c in cases)
    videos = {(c.source, c.scene) for c in cases}
    return _digest([entries, [(v, _video_files(root, *v)) for v in sorted(videos)]])


def shard_document(shard: Shard, plan: Plan, *, selection: str, data: str, model: dict,
                   total_cases: int) -> dict:
    """``shard.json``: what ``dynbench merge`` needs to check and join the shards."""
    return {
        "format": 1, "index": shard.index, "count": shard.count, "source": shard.source,
        "selection_fingerprint": selection, "data_fingerprint": data,
        "plan_fingerprint": plan.fingerprint, "model": model,
        "selected_cases": total_cases, "cases": list(plan.cases[shard.index]),
        "plan": [list(ids) for ids in plan.cases],
        "cost": {"this": plan.costs[shard.index], "per_shard": list(plan.costs),
                 "balance": round(plan.balance, 4), "videos": list(plan.videos)},
    }


def describe(shard: Shard, plan: Plan) -> str:
    """One line for the terminal."""
    i = shard.index
    mean = sum(plan.costs) / plan.count
    share = plan.costs[i] / mean if mean else 1.0
    return (f"shard {shard.label}: {len(plan.cases[i])} of {sum(map(len, plan.cases))} cases, "
            f"{plan.videos[i]} of {sum(plan.videos)} videos, cost {share:.3f} x mean "
            f"(max/mean over shards {plan.balance:.3f}); {shard.source}")
