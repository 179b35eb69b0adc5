"""Per-worker GPU assignment (pure logic; no GPU needed)."""

from __future__ import annotations

import os

import pytest

from dynbench.gpus import parse_gpu_list, pin_worker, visible_gpus, worker_slice


def test_one_gpu_per_worker():
    pool = ["0", "1", "2", "3"]
    assert [worker_slice(pool, i, 1) for i in range(4)] == [["0"], ["1"], ["2"], ["3"]]


def test_several_gpus_per_worker():
    pool = ["4", "5", "6", "7"]
    assert worker_slice(pool, 0, 2) == ["4", "5"] and worker_slice(pool, 1, 2) == ["6", "7"]


def test_more_workers_than_gpus_share_with_a_warning():
    with pytest.warns(UserWarning, match="shares GPUs"):
        assert worker_slice(["0", "1"], 3, 1) == ["1"]


def test_no_gpus_means_no_pinning(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert worker_slice([], 2, 1) == []
    assert pin_worker("gw2", [], 1) == []
    assert "CUDA_VISIBLE_DEVICES" not in os.environ


def test_sources_of_the_pool(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert visible_gpus(None) == ["3", "5"]
    assert visible_gpus(["1"]) == ["1"]
    assert parse_gpu_list("0, 2") == ["0", "2"]
    with pytest.raises(ValueError):
        parse_gpu_list(",")


def test_pin_sets_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    assert pin_worker("gw1", ["0", "1", "2", "3"], 2) == ["2", "3"]
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "2,3"
