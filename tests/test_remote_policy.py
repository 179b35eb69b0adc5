"""The load-time policy of remote-code families, and the test-only pretend-CUDA shim.

``remote_common.load_failure`` reads the failure itself: the transformers-5 install hint is
given only for a 4.x-code signature under transformers >= 5, never by version alone.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dynbench.adapters import compat, loading
from dynbench.adapters import remote_common as rc
from dynbench.adapters.base import LoadError
from dynbench.modelspec import ModelSpec
from tests.pretend_cuda import PretendCuda
from tests.remote_helpers import INSTALL

SPEC = ModelSpec(name="ByteDance/Sa2VA-4B")


def failure(exc: BaseException, version: str, monkeypatch) -> str:
    monkeypatch.setattr(compat, "transformers_version", lambda: version)
    return str(rc.load_failure(exc, SPEC))


@pytest.mark.parametrize("exc, cause", [
    (ModuleNotFoundError("No module named 'transformers.modeling_attn_mask_utils'",
                         name="transformers.modeling_attn_mask_utils"),
     "imports transformers.modeling_attn_mask_utils"),
    (AttributeError("'Sa2VAChatModelQwen' object has no attribute 'all_tied_weights_keys'"),
     "never calls post_init()"),
    (ImportError("cannot import name 'MODEL_FOR_VISION_2_SEQ_MAPPING_NAMES'"),
     "MODEL_FOR_VISION_2_SEQ_MAPPING_NAMES"),
])
def test_transformers_5_signatures_give_the_install_command(exc, cause, monkeypatch):
    message = failure(exc, "5.24.0", monkeypatch)
    assert message.startswith("ByteDance/Sa2VA-4B: its remote code was written for "
                              "transformers 4 and cannot run under transformers 5.24.0")
    assert cause in message and message.endswith(f"Fix: {INSTALL}")


def test_the_same_failure_under_4x_is_not_blamed_on_the_version(monkeypatch):
    exc = AttributeError("'M' object has no attribute 'all_tied_weights_keys'")
    message = failure(exc, "4.57.6", monkeypatch)
    assert INSTALL not in message and "all_tied_weights_keys" in message


@pytest.mark.parametrize("exc, command", [
    (ImportError("This modeling file requires the following packages that were not found in "
                 "your environment: peft, timm. Run `pip install peft timm`"),
     "pip install peft timm"),
    (ModuleNotFoundError("No module named 'qwen_vl_utils'", name="qwen_vl_utils"),
     "pip install 'qwen-vl-utils==0.0.14'"),
])
def test_missing_packages_give_their_pip_command(exc, command, monkeypatch):
    assert failure(exc, "4.57.6", monkeypatch).endswith(f"Fix: {command}")


def test_other_failures_keep_their_text_and_hint_only_under_5(monkeypatch):
    exc = ValueError("Unsupported architecture: ")
    assert failure(exc, "4.57.6", monkeypatch) == ("ByteDance/Sa2VA-4B: loading failed under "
                                                  "transformers 4.57.6: ValueError: "
                                                  "Unsupported architecture: .")
    assert failure(exc, "5.0.0", monkeypatch).endswith(INSTALL)


def test_remote_load_errors_wraps_and_chains():
    with pytest.raises(LoadError) as info, rc.remote_load_errors(SPEC):
        raise OSError("disk gone")
    assert isinstance(info.value.__cause__, OSError) and "disk gone" in str(info.value)


@pytest.mark.parametrize("dtype, ok", [("auto", True), ("bfloat16", True), ("float32", False),
                                       ("float16", False)])
def test_fixed_dtype(dtype, ok):
    spec = ModelSpec(name="ByteDance/Sa2VA-4B", torch_dtype=dtype)
    if ok:
        assert rc.fixed_dtype(spec, "cpu", "casts") is torch.bfloat16
    else:
        with pytest.raises(LoadError, match=f"--dtype {dtype} cannot work.*casts"):
            rc.fixed_dtype(spec, "cpu", "casts")


def test_fixed_dtype_refuses_a_gpu_without_bf16(monkeypatch):
    with PretendCuda():
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
        with pytest.raises(LoadError, match="does not support"):
            rc.fixed_dtype(SPEC, "cuda", "casts")


def test_uniform_dtype_check_names_the_cast_modules():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2).to(torch.bfloat16))
    rc.check_uniform_dtype(model.to(torch.bfloat16), SPEC, torch.bfloat16)
    model[0].float()
    with pytest.raises(LoadError, match=r"loaded in float32, but its remote code casts 1 "
                                        r"\(bfloat16\) itself"):
        rc.check_uniform_dtype(model, SPEC, torch.float32)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only behaviour")
def test_require_cuda():
    with pytest.raises(LoadError, match="no CUDA GPU is visible"):
        rc.require_cuda(SPEC, "cpu", "it calls .cuda()")
    with PretendCuda():
        rc.require_cuda(SPEC, "cuda:1", "it calls .cuda()")
        with pytest.raises(LoadError, match="--device cpu was asked for"):
            rc.require_cuda(SPEC, "cpu", "it calls .cuda()")


def test_cuda_index_and_current_device():
    assert [loading.cuda_index(d) for d in ("cuda:3", "cuda", "cpu")] == [3, None, None]
    with PretendCuda() as pretend:
        with loading.current_cuda("cuda:1"):
            torch.zeros(2).cuda()
        torch.zeros(2).cuda()
        loading.set_current_cuda("cuda:1")
        torch.zeros(2).cuda()
    assert pretend.calls == [("cuda", 1), ("cuda", 0), ("cuda", 1)]


# ---------------------------------------------------------------- the shim itself


def test_pretend_cuda_keeps_gpu_placements_on_the_cpu():
    with PretendCuda() as pretend:
        assert torch.cuda.is_available() and torch.cuda.device_count() == 2
        a = torch.ones(2).cuda()
        b = torch.full((2,), 1.0, device=torch.device("cuda"))
        c = torch.ones(2).to("cuda:1", non_blocking=True)
        d = torch.ones(2).to(torch.device("cuda"), torch.bfloat16)
        m = torch.nn.Linear(2, 2).cuda(1).to("cuda")
    assert {t.device.type for t in (a, b, c, d)} == {"cpu"} and d.dtype == torch.bfloat16
    assert next(m.parameters()).device.type == "cpu"
    assert ("cuda", 0) in pretend.calls and ("to", 1) in pretend.calls
    assert ("full", 0) in pretend.calls


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a GPU machine CUDA calls succeed")
def test_without_the_shim_gpu_placements_fail():
    assert not torch.cuda.is_available()
    with pytest.raises((RuntimeError, AssertionError)):
        torch.ones(2).cuda()


def test_mask_stack_shapes_and_dtypes():
    four_d = np.zeros((1, 3, 4, 5), dtype=np.float32)
    four_d[0, 1, 2, 3] = 0.7
    assert rc.mask_stack(four_d, 3, "m")[1, 2, 3] and rc.mask_stack(four_d, 3, "m").sum() == 1
    assert rc.mask_stack(np.full((3, 4, 5), 255, np.uint8), 3, "m").all()
    assert rc.mask_stack(np.ones((4, 5), bool), 1, "m").shape == (1, 4, 5)
    with pytest.raises(rc.MisalignedOutput, match="shape"):
        rc.mask_stack(np.ones((2, 3, 4, 5), bool), 3, "m")
