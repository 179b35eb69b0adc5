"""Generation for remote LLM classes written before transformers 4.50, as 4.49 ran them.

Sa2VA-8B/-26B ship an InternLM2 LLM (``modeling_internlm2.py``, written for transformers
4.42) whose class inherits ``GenerationMixin`` only through ``PreTrainedModel``. From 4.50 on
that no longer gives it generation; under 4.57 three things break, one after the other
(read off the real files):

1. the class gets no ``generation_config``, so ``generate()`` fails at once;
2. ``generate()`` hands it a ``DynamicCache``, which its ``prepare_inputs_for_generation``
   indexes as the legacy tuple cache (``past_key_values[0][0].shape[2]``);
3. 4.57 passes ``output_hidden_states`` through ``prepare_inputs_for_generation``, which
   this code drops; Sa2VA then gets no hidden states and cannot find its ``[SEG]`` token.

:func:`restore` gives such an LLM exactly what 4.49 gave it: ``GenerationMixin``, a
generation config from its model config, the legacy tuple cache (no default
``DynamicCache``) and the output flags added to its inputs. On a tiny checkpoint built from
the real Sa2VA files, 2048 greedy tokens and every step's last hidden state under 4.57.6 with
this were bit-identical to transformers 4.49.0 without it (README, "Remote-code families").
The model's own code and weights are untouched.
"""

from __future__ import annotations

import functools
from typing import Any

OUTPUT_FLAGS = ("output_hidden_states", "output_attentions")


def needs_restoring(llm: Any) -> bool:
    """An LLM with a ``generate`` method but no generation config: the pre-4.50 pattern."""
    return llm is not None and hasattr(llm, "generate") and \
        getattr(llm, "generation_config", None) is None


def _with_output_flags(prepare: Any) -> Any:
    @functools.wraps(prepare)  # keeps the signature generate() validates kwargs against
    def prepare_inputs_for_generation(self: Any, *args: Any, **kwargs: Any) -> dict:
        inputs = prepare(self, *args, **kwargs)
        inputs.update({k: kwargs[k] for k in OUTPUT_FLAGS if kwargs.get(k)})
        return inputs
    return prepare_inputs_for_generation


def _no_default_dynamic_cache(cls: Any) -> bool:
    return False


def restore(llm: Any) -> None:
    """Give ``llm`` (in place) the generation transformers 4.49 gave its class."""
    from transformers import GenerationConfig, GenerationMixin

    cls = type(llm)
    llm.__class__ = type(cls.__name__, (cls, GenerationMixin), {
        "__module__": cls.__module__,
        "__doc__": f"{cls.__name__} with transformers-4.49 generation (dynbench)",
        "_supports_default_dynamic_cache": classmethod(_no_default_dynamic_cache),
        "prepare_inputs_for_generation": _with_output_flags(cls.prepare_inputs_for_generation),
    })
    llm.generation_config = GenerationConfig.from_model_config(llm.config)
