"""Shared fixtures of the suite's own tests."""

import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """Build each tiny checkpoint once per session, offline, with a throwaway HF_HOME."""
    from dynbench.tiny import native

    root = tmp_path_factory.mktemp("tiny-native")
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            folder = root / name
            folder.mkdir()
            getattr(native, f"build_{name}")(folder)
            built[name] = folder
        return built[name]

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("HF_HOME", str(root / "hf-home"))
        yield get


@pytest.fixture(scope="session")
def gate_world(tmp_path_factory):
    """A 32-scene generated dataset and a clean baseline run over every task (three
    cameraqa answers wrong), shared by the gate and recompute tests."""
    from tests.runs import make_world

    return make_world(tmp_path_factory.mktemp("gate-world"), scenes=32)
