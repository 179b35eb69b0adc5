"""Test-only "pretend CUDA": code written for a GPU runs on the CPU, and its GPU calls are logged.

Sa2VA's remote code calls ``.cuda()`` in ``predict_forward`` and keeps SAM2 state on
``torch.device("cuda")``; without a GPU it cannot run a single case. To still exercise that
code on a CPU, :class:`PretendCuda` makes ``torch.cuda`` report GPUs and keeps every tensor a
program places on a CUDA device on the CPU instead, recording which device index it asked
for (``calls``), so tests can check for instance that ``--device cuda:1`` puts the token ids
on GPU 1. Nothing here is used outside the tests.

Use it as a context manager in-process, or as a pytest plugin in a child run
(``pytest -p tests.pretend_cuda``), which keeps it active for the whole session.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.overrides import TorchFunctionMode

DEVICES = 2  # GPUs the pretend machine reports


def _cuda_index(device: Any, current: int) -> int | None:
    """The CUDA index ``device`` names (current device when it names none), else None."""
    if device is None:
        return None
    if isinstance(device, int):
        return device
    device = torch.device(device)
    if device.type != "cuda":
        return None
    return current if device.index is None else device.index


class _KeepOnCpu(TorchFunctionMode):
    """Intercepts every torch call; a CUDA placement is logged and dropped."""

    def __init__(self, owner: PretendCuda) -> None:
        super().__init__()
        self.owner = owner

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func is torch.Tensor.cuda:
            device = args[1] if len(args) > 1 else kwargs.get("device")
            self.owner.log(func, self.owner.current if device is None else
                           _cuda_index(device, self.owner.current))
            return args[0]
        if "device" in kwargs:
            index = _cuda_index(kwargs["device"], self.owner.current)
            if index is not None:
                self.owner.log(func, index)
                kwargs["device"] = "cpu"
        if func is torch.Tensor.to:
            args = tuple(self._strip(func, a) for a in args)
        return func(*args, **kwargs)

    def _strip(self, func, arg):
        if isinstance(arg, (str, torch.device)) and not isinstance(arg, torch.dtype):
            index = _cuda_index(arg, self.owner.current)
            if index is not None:
                self.owner.log(func, index)
                return torch.device("cpu")
        return arg


class _Properties:
    name = "pretend GPU"
    total_memory = 80 * 2**30
    major, minor = 9, 0


class PretendCuda:
    """Context manager: ``torch.cuda`` says GPUs exist; CUDA placements stay on the CPU."""

    def __init__(self) -> None:
        self.current = 0
        self.calls: list[tuple[str, int]] = []  # (torch function name, CUDA index asked for)
        self._mode = _KeepOnCpu(self)
        self._saved: dict[str, Any] = {}

    def log(self, func: Any, index: int | None) -> None:
        self.calls.append((getattr(func, "__name__", str(func)), index))

    def set_device(self, device: Any) -> None:
        self.current = _cuda_index(device, self.current) or 0

    def _device_context(self, device: Any):
        owner = self

        class _Ctx:
            def __enter__(self):
                self.prev = owner.current
                owner.set_device(device)

            def __exit__(self, *exc):
                owner.current = self.prev

        return _Ctx()

    def _fakes(self) -> dict[str, Any]:
        return {
            "is_available": lambda: True,
            "device_count": lambda: DEVICES,
            "current_device": lambda: self.current,
            "set_device": self.set_device,
            "device": self._device_context,
            "is_bf16_supported": lambda *a, **k: True,
            "get_device_name": lambda *a: _Properties.name,
            "get_device_properties": lambda *a: _Properties(),
            "empty_cache": lambda: None,
            "synchronize": lambda *a: None,
            "reset_peak_memory_stats": lambda *a: None,
            "max_memory_allocated": lambda *a: 0,
            "memory_allocated": lambda *a: 0,
        }

    def __enter__(self) -> PretendCuda:
        for name, fake in self._fakes().items():
            self._saved[name] = getattr(torch.cuda, name)
            setattr(torch.cuda, name, fake)
        self._mode.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._mode.__exit__(*exc)
        for name, real in self._saved.items():
            setattr(torch.cuda, name, real)
        self._saved.clear()


# --- as a pytest plugin (-p tests.pretend_cuda): active for the whole child session
_SESSION: PretendCuda | None = None


def pytest_configure(config) -> None:
    global _SESSION
    _SESSION = PretendCuda().__enter__()


def pytest_unconfigure(config) -> None:
    global _SESSION
    if _SESSION is not None:
        _SESSION.__exit__(None, None, None)
        _SESSION = None
