"""Load failures of published model code: which mean "needs transformers 4", which do not."""

from __future__ import annotations

import pytest

from dynbench.adapters import compat
from dynbench.adapters.base import LoadError

SEEN_UNDER_5 = [  # what the published code of each family raised under transformers 5.24
    ModuleNotFoundError("No module named 'transformers.modeling_attn_mask_utils'"),
    ImportError("cannot import name 'MODEL_FOR_VISION_2_SEQ_MAPPING_NAMES' from "
                "'transformers.models.auto.modeling_auto' (/x/modeling_auto.py)"),
    AttributeError("'LLaVAOneVision1_5_TextConfig' object has no attribute 'pad_token_id'"),
    AttributeError("'Sa2VAChatModel' object has no attribute 'all_tied_weights_keys'"),
    KeyError("default"),
]
NOT_VERSION = [
    ModuleNotFoundError("No module named 'nncore'"),
    KeyError("vision_config"),
    AttributeError("'NoneType' object has no attribute 'shape'"),
    ValueError("Video features and video tokens do not match: tokens: 4, features 8"),
]


def raised(exc: BaseException) -> BaseException:
    """``exc`` with a traceback, wrapped the way from_pretrained re-raises."""
    try:
        try:
            raise exc
        except BaseException as inner:
            raise RuntimeError("while loading") from inner
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize("exc", SEEN_UNDER_5, ids=lambda e: type(e).__name__)
def test_transformers_5_failures_become_one_load_error(exc, monkeypatch):
    monkeypatch.setattr(compat, "transformers_version", lambda: "5.24.0")
    error = compat.load_error("org/model", "its remote code", raised(exc))
    assert isinstance(error, LoadError)
    text = str(error)
    assert text.startswith("org/model: its remote code was written for transformers 4")
    assert "5.24.0" in text and compat.INSTALL_TRANSFORMERS_4 in text
    assert "test_compat.py:" in text  # where it failed


@pytest.mark.parametrize("exc", SEEN_UNDER_5, ids=lambda e: type(e).__name__)
def test_the_same_failures_under_transformers_4_are_not_blamed_on_the_version(exc,
                                                                              monkeypatch):
    monkeypatch.setattr(compat, "transformers_version", lambda: "4.57.6")
    assert compat.needs_transformers_4("m", "code", raised(exc)) is None


@pytest.mark.parametrize("exc", NOT_VERSION, ids=lambda e: str(e)[:20])
def test_other_failures_stay_what_they_are(exc, monkeypatch):
    monkeypatch.setattr(compat, "transformers_version", lambda: "5.24.0")
    assert compat.load_error("m", "code", raised(exc)) is None
    with pytest.raises(RuntimeError):
        compat.raise_load_error("m", "code", raised(exc))


def test_remote_code_missing_packages_is_a_load_error():
    exc = ImportError("This modeling file requires the following packages that were not "
                      "found in your environment: flash_attn. Run `pip install flash_attn`")
    error = compat.load_error("org/m", "code", raised(exc))
    assert isinstance(error, LoadError) and "pip install flash_attn" in str(error)
    with pytest.raises(LoadError) as caught:
        compat.raise_load_error("org/m", "code", raised(exc))
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_a_load_error_is_not_wrapped_twice(monkeypatch):
    monkeypatch.setattr(compat, "transformers_version", lambda: "5.24.0")
    inner = LoadError("org/m: its remote code was written for transformers 4 and cannot run "
                      "under transformers 5.24.0: it imports "
                      "transformers.modeling_attn_mask_utils (No module named "
                      "'transformers.modeling_attn_mask_utils'). Fix: "
                      f"{compat.INSTALL_TRANSFORMERS_4}")
    with pytest.raises(LoadError) as caught:
        compat.raise_load_error("org/m", "its remote code", inner)
    assert caught.value is inner and str(caught.value).count("cannot run under") == 1
