"""--shard: parsing (explicit, Slurm, Kubernetes) and the plan (cover, atomic, balanced)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from dynbench import shards
from dynbench.data import read_dataset
from dynbench.masks import index_masks
from dynbench.media import list_frames
from tests.builders import QUESTION, write_scene


@pytest.mark.parametrize("text, env, expected", [
    ("2/8", {}, (2, 8)),
    ("0/1", {}, (0, 1)),
    (" 7/8 ", {}, (7, 8)),
    ("auto", {"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"}, (3, 4)),
    ("auto", {"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "4",
              "SLURM_ARRAY_TASK_COUNT": "4"}, (1, 4)),  # --array=4-7
    ("auto", {"SLURM_ARRAY_TASK_ID": "14", "SLURM_ARRAY_TASK_MIN": "10",
              "SLURM_ARRAY_TASK_STEP": "2", "SLURM_ARRAY_TASK_COUNT": "3"}, (2, 3)),  # 10-14:2
    ("auto/4", {"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "4"}, (0, 4)),
    ("auto/8", {"JOB_COMPLETION_INDEX": "7"}, (7, 8)),
    ("auto/8", {"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "5",
                "SLURM_ARRAY_TASK_COUNT": "1"}, (5, 8)),  # resubmitted: sbatch --array=5
    ("auto/8", {"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "4",
                "SLURM_ARRAY_TASK_COUNT": "8"}, (1, 8)),  # the whole array 4-11
])
def test_parse_shard(text, env, expected):
    shard = shards.parse_shard(text, env)
    assert (shard.index, shard.count) == expected
    assert shard.label == f"{expected[0]}/{expected[1]}"


def test_auto_says_which_source_it_used():
    slurm = shards.parse_shard("auto", {"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "4",
                                        "SLURM_ARRAY_TASK_COUNT": "4"})
    assert slurm.source == ("Slurm job array: SLURM_ARRAY_TASK_ID=5, SLURM_ARRAY_TASK_MIN=4, "
                            "SLURM_ARRAY_TASK_COUNT=4")
    rerun = shards.parse_shard("auto/8", {"SLURM_ARRAY_TASK_ID": "5",
                                          "SLURM_ARRAY_TASK_COUNT": "1"})
    assert rerun.source == ("Slurm job array: SLURM_ARRAY_TASK_ID=5 as the index (the array "
                            "has 1 task(s), not 8), count 8 from --shard auto/8")
    k8s = shards.parse_shard("auto/8", {"JOB_COMPLETION_INDEX": "2"})
    assert k8s.source == "Kubernetes Indexed Job: JOB_COMPLETION_INDEX=2, count 8 from --shard " \
        "auto/8"
    assert shards.parse_shard("1/2", {"SLURM_ARRAY_TASK_ID": "0"}).source == "--shard 1/2"
    assert shards.parse_shard(None, {"SLURM_ARRAY_TASK_ID": "0"}) is None


@pytest.mark.parametrize("text, env, message", [
    ("8/8", {}, "index must be in 0..7"),
    ("3", {}, "expected I/N"),
    ("-1/4", {}, "expected I/N"),
    ("a/b", {}, "expected I/N"),
    ("0/0", {}, "at least 1"),
    ("auto", {}, "neither SLURM_ARRAY_TASK_ID"),
    ("auto", {"JOB_COMPLETION_INDEX": "1"}, "pass --shard auto/N"),
    ("auto/2", {"JOB_COMPLETION_INDEX": "2"}, "not in 0..1"),
    ("auto/4", {"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "1"}, "not in 0..3"),
    ("auto", {"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1",
              "SLURM_ARRAY_TASK_MAX": "7", "SLURM_ARRAY_TASK_COUNT": "3"}, "even range"),
    ("auto", {"SLURM_ARRAY_TASK_ID": "1"}, "SLURM_ARRAY_TASK_COUNT is not"),
    ("auto", {"SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_TASK_COUNT": "3"}, "--array=0-2"),
    ("auto", {"SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "3"}, "not an integer"),
])
def test_parse_shard_errors(text, env, message):
    with pytest.raises(ValueError, match=message):
        shards.parse_shard(text, env)


def uneven_costs(videos: int, seed: int) -> dict[str, int]:
    """Videos with 1-30 cases and 8-600 frames (log-normal): a few long ones, many short."""
    rng = random.Random(seed)
    return {f"src/video_{i:04d}": rng.randint(1, 30) * min(600, max(8, int(rng.lognormvariate(
        4.0, 0.8)))) for i in range(videos)}


def _loads(costs: dict[str, int], owner: dict[str, int], count: int) -> list[int]:
    loads = [0] * count
    for key, index in owner.items():
        loads[index] += costs[key]
    return loads


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("count", [2, 4, 8, 16])
def test_balance_on_1000_uneven_videos(seed, count):
    costs = uneven_costs(1000, seed)
    owner = shards.assign(costs, count)
    assert set(owner) == set(costs) and set(owner.values()) == set(range(count))
    loads = _loads(costs, owner, count)
    mean = sum(costs.values()) / count
    assert max(loads) <= 1.05 * mean, (max(loads) / mean, max(costs.values()) / mean)


def test_assignment_ignores_input_order_and_keeps_lpt_bound():
    costs = uneven_costs(300, 11)
    items = list(costs.items())
    random.Random(0).shuffle(items)
    assert shards.assign(dict(items), 7) == shards.assign(costs, 7)
    # any list schedule ends within (largest item) of the mean: an independent bound
    loads = _loads(costs, shards.assign(costs, 7), 7)
    assert max(loads) <= sum(costs.values()) / 7 + max(costs.values())


def test_more_shards_than_videos_leaves_empty_shards():
    owner = shards.assign({"a/x": 5, "a/y": 3}, 4)
    assert sorted(owner.values()) == [0, 1]


def _dataset(tmp_path):
    write_scene(tmp_path, "s", "long", frames=12, qa={"cameraqa": [QUESTION] * 3})
    write_scene(tmp_path, "s", "short", frames=3, qa={"cameraqa": [QUESTION, QUESTION],
                                                      "qa": [QUESTION]})
    write_scene(tmp_path, "s", "mid", frames=6)
    (tmp_path / "multi_json" / "s" / "gone_qa.json").write_text('[{"question": "q", '
                                                                 '"options": ["A. a", "B. b"], '
                                                                 '"answer": "A"}]')
    return read_dataset(tmp_path)


def test_costs_are_cases_times_frames_shown(tmp_path):
    dataset = _dataset(tmp_path)
    assert shards.video_costs(dataset.cases, tmp_path, None) == {
        "s/long": 4 * 12, "s/short": 4 * 3, "s/mid": 3 * 6, "s/gone": 1}  # no frames: 1 a case
    assert shards.video_costs(dataset.cases, tmp_path, 4) == {
        "s/long": 4 * 4, "s/short": 4 * 3, "s/mid": 3 * 4, "s/gone": 1}


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_plan_covers_every_case_once_video_by_video(tmp_path, count):
    dataset = _dataset(tmp_path)
    plan = shards.make_plan(dataset.cases, tmp_path, None, count)
    ids = [i for part in plan.cases for i in part]
    assert sorted(ids) == sorted(c.id for c in dataset.cases)
    where = {i: n for n, part in enumerate(plan.cases) for i in part}
    for case in dataset.cases:
        assert {where[c.id] for c in dataset.cases if c.scene_key == case.scene_key} == \
            {where[case.id]}
    assert sum(plan.costs) == 48 + 12 + 18 + 1 and sum(plan.videos) == 4
    again = shards.make_plan(list(reversed(dataset.cases)), tmp_path, None, count)
    assert [set(p) for p in again.cases] == [set(p) for p in plan.cases]
    assert plan.balance == max(plan.costs) / (sum(plan.costs) / count)


def test_fingerprints_follow_selection_and_content(tmp_path):
    dataset = _dataset(tmp_path)
    cases = dataset.cases
    base = shards.selection_fingerprint(cases, ("cameraqa",), None)
    assert shards.selection_fingerprint(list(reversed(cases)), ("cameraqa",), None) == base
    assert shards.selection_fingerprint(cases[1:], ("cameraqa",), None) != base
    assert shards.selection_fingerprint(cases, ("cameraqa",), 2) != base
    data = shards.data_fingerprint(cases, tmp_path)
    (tmp_path / "frames" / "s" / "long" / "frame_0000.png").write_bytes(b"changed")
    list_frames.cache_clear()
    changed = shards.data_fingerprint(cases, tmp_path)
    assert changed != data
    (tmp_path / "masks" / "s" / "mid" / "frame_0002_obj1.png").unlink()
    index_masks.cache_clear()
    assert shards.data_fingerprint(cases, tmp_path) != changed
    assert shards.selection_fingerprint(cases, ("cameraqa",), None) == base
    question = replace(cases[0], question="another question")
    assert shards.data_fingerprint([question, *cases[1:]], tmp_path) != \
        shards.data_fingerprint(cases, tmp_path)
