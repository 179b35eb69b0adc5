"""Video-prefix KV cache of ``HFChatAdapter``: a video's shared prompt prefix prefilled once.

The prompt up to and including the last visual token is identical for every question of a
video. It is prefilled once (vision encoder included) and each question generates from a
copy of that KV cache, prefilling only its own suffix tokens. Position ids (M-RoPE for
Qwen-VL) are computed from the *full* input exactly as ``generate`` computes them for a
fresh prompt, so the cached path sees the same positions, tokens and settings as the plain path
and gives the same greedy answers. Transformers 5.x computes them with
``_prepare_position_ids_for_generation`` and takes them as ``position_ids``; transformers 4.57
computes M-RoPE with the model's ``get_rope_index`` and continues decoding from the
``rope_deltas`` it keeps on the model (set here exactly as its own prefill would set them);
models without M-RoPE count positions along the attention mask in both. Where the cached path cannot
run (``generation: {prefix_cache: false}``, an unsupported model or transformers, or an
error the plain path does not share) the plain path answers; ``describe()`` says which ran.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dynbench.adapters import loading

# processor outputs aligned with ``input_ids`` (sliced with it for the prefix)
SEQUENCE_KEYS = ("input_ids", "attention_mask", "mm_token_type_ids", "token_type_ids")


@dataclass
class _Prefix:
    """The KV cache of one video's shared prompt prefix (one entry: the current video)."""

    key: tuple
    ids: Any  # 1-D CPU tensor of the prefix tokens
    cache: Any
    length: int


class PrefixCacheMixin:
    """The prefix-cache path of ``HFChatAdapter`` and its fallback to the plain path.

    Uses the host's ``model``, ``generation``, ``spec``, ``facts``, ``stats``, ``last_call``
    and its ``_to_model`` / ``_decode`` / ``_keep_last`` helpers; its state is set up in the
    host's ``__init__``.
    """

    model: Any
    spec: Any
    prefix_cache: bool
    generation: dict[str, Any]
    facts: dict[str, Any]
    stats: dict[str, int]
    last_call: dict[str, Any]
    _prefix: _Prefix | None
    _prefix_off: str | None
    _deltas: Any = None  # rope_deltas of the current prompt (transformers 4.57 M-RoPE)

    # --- whether it runs ------------------------------------------------------------------
    def _path_setting(self) -> str:
        """``prefix_cache`` when questions reuse their video's prefix, else ``plain``."""
        return "prefix_cache" if self.prefix_cache and not self._prefix_off else "plain"

    def _prefix_unsupported(self) -> str | None:
        """Why the prefix cache cannot run with this model / transformers / settings."""
        if not self.prefix_cache:
            return "prefix_cache: false"
        model = self.model
        if self._position_mode() is None:
            return (f"{type(model).__name__} keeps M-RoPE state this prefix cache does not know "
                    "(no _prepare_position_ids_for_generation, no get_rope_index/rope_deltas)")
        params = inspect.signature(model.forward).parameters
        if "position_ids" not in params or self._cache_kwarg() is None:
            return f"{type(model).__name__}.forward takes no position_ids or cache"
        if int(self.generation.get("num_beams") or 1) > 1 or \
                int(self.generation.get("num_return_sequences") or 1) > 1:
            return "beam search / several return sequences"
        return None

    def _position_mode(self) -> str | None:
        """How this model and transformers compute the positions of a fresh prompt."""
        if hasattr(self.model, "_prepare_position_ids_for_generation"):
            return "generation"  # transformers 5.x
        if self._rope_holder() is not None:
            return "rope_deltas"  # transformers 4.57 M-RoPE (Qwen-VL)
        if any(hasattr(m, "get_rope_index") for m in self._rope_candidates()):
            return None
        return "sequential"

    def _rope_candidates(self) -> list[Any]:
        return [m for m in (self.model, getattr(self.model, "model", None)) if m is not None]

    def _rope_holder(self) -> Any:
        """The module owning ``get_rope_index`` and the ``rope_deltas`` decoding continues from."""
        for module in self._rope_candidates():
            if callable(getattr(module, "get_rope_index", None)) and \
                    "rope_deltas" in vars(module):
                return module
        return None

    def _cache_kwarg(self) -> str | None:
        params = inspect.signature(self.model.forward).parameters
        for name in ("cache", "past_key_values"):  # transformers >= 5.2x renamed it ``cache``
            if name in params:
                return name
        return None

    def _cached(self, inputs: Any, key: tuple, cached: Callable, plain: Callable) -> Any:
        """Run the prefix-cache path when it can, else the plain one.

        Should the cached path raise where the plain path works (a model or transformers
        version it does not fit), the plain path answers and the prefix cache is switched
        off for the rest of the run, said once and recorded in ``describe()``.
        """
        split = None
        if self.prefix_cache and self._prefix_off is None:
            split = self.prefix_length(inputs["input_ids"])
        if split is not None:
            try:
                return cached(inputs, key, split)
            except Exception as exc:
                if loading.is_oom(exc):
                    raise
                self._prefix = None
                result = self._plain(inputs, plain)  # raises if the input itself is at fault
                self._prefix_off = f"{type(exc).__name__}: {exc}"
                self.facts.update(qa_path="plain", prefix_cache_off=self._prefix_off)
                loading.say_once(f"prefix cache switched off after an error (the plain path "
                                 f"works): {self._prefix_off}")
                return result
        return self._plain(inputs, plain)

    def _plain(self, inputs: Any, plain: Callable) -> Any:
        self.stats["plain"] += 1
        self.last_call["path"] = "plain"
        return plain(inputs)

    # --- the cached path ------------------------------------------------------------------
    def prefix_length(self, input_ids: Any) -> int | None:
        """Tokens up to and including the last visual placeholder; None without any."""
        import torch

        config = self.model.config
        ids = {getattr(config, name, None) for name in ("video_token_id", "image_token_id")}
        ids.discard(None)
        if not ids or input_ids.shape[0] != 1:
            return None
        hits = torch.isin(input_ids[0].cpu(), torch.tensor(sorted(ids))).nonzero()
        if len(hits) == 0 or int(hits.max()) + 1 >= input_ids.shape[1]:
            return None
        return int(hits.max()) + 1

    def positions(self, inputs: Any) -> Any:
        """Position ids of the full prompt, exactly as ``generate`` computes them for a fresh
        prompt (M-RoPE from the image/video grids for Qwen-VL), on the CPU."""
        return self._positions_and_deltas(inputs)[0]

    def _positions_and_deltas(self, inputs: Any) -> tuple[Any, Any]:
        """Positions of the full prompt, and (transformers 4.57 M-RoPE) its ``rope_deltas``."""
        ids = inputs["input_ids"]
        mode = self._position_mode()
        if mode == "generation":
            kwargs = {k: v for k, v in inputs.items() if k != "input_ids"}
            return self.model._prepare_position_ids_for_generation(ids, kwargs), None
        if mode == "rope_deltas":
            holder = self._rope_holder()
            params = inspect.signature(holder.get_rope_index).parameters
            kwargs = {k: inputs[k] for k in params if k != "input_ids" and k in inputs}
            return holder.get_rope_index(ids, **kwargs)
        mask = inputs.get("attention_mask")
        if mask is None:
            import torch

            return torch.arange(ids.shape[1]).unsqueeze(0), None
        positions = mask.long().cumsum(-1) - 1
        return positions.masked_fill(mask == 0, 1), None

    def _prefix_cache(self, inputs: Any, key: tuple, split: int, positions: Any) -> Any:
        """A private copy of the video's prefix cache, prefilling the prefix if needed."""
        import torch

        ids = inputs["input_ids"][0, :split].cpu()
        prefix = self._prefix
        if prefix is not None and prefix.key == key and prefix.length == split \
                and torch.equal(prefix.ids, ids):
            self.stats["prefix_reused"] += 1
            self.last_call["prefix"] = "reused"
        else:
            self._prefix = prefix = None  # free the previous video's cache first
            prefix = _Prefix(key, ids, self._prefill(inputs, split, positions), split)
            self._prefix = prefix
            self.stats["prefix_built"] += 1
            self.last_call["prefix"] = "built"
        self.last_call.update(path="prefix_cache", prefix_tokens=split,
                              suffix_tokens=int(inputs["input_ids"].shape[1]) - split)
        return copy.deepcopy(prefix.cache)

    def _prefill(self, inputs: Any, split: int, positions: Any) -> Any:
        """Encode the frames and run the prompt prefix once; returns its KV cache."""
        import torch

        length = inputs["input_ids"].shape[1]
        part = {}
        for name, value in inputs.items():
            aligned = isinstance(value, torch.Tensor) and not value.is_floating_point() \
                and value.dim() == 2 and tuple(value.shape) == (1, length)
            part[name] = value[:, :split] if name in SEQUENCE_KEYS or aligned else value
        part = self._to_model(part)
        part["position_ids"] = positions[..., :split].to(self.model.device)
        with torch.inference_mode():
            out = self.model(**part, use_cache=True, **self._keep_last())
        cache = getattr(out, "cache", None)
        return cache if cache is not None else out.past_key_values

    def _suffix_kwargs(self, inputs: Any, key: tuple, split: int) -> dict[str, Any]:
        """Full-length ids, mask and positions plus a copy of the prefix cache: the model
        only runs the suffix tokens, at the positions a full prefill would give them."""
        positions, deltas = self._positions_and_deltas(inputs)
        self._deltas = deltas
        cache = self._prefix_cache(inputs, key, split, positions)
        device = self.model.device
        kwargs = {"input_ids": inputs["input_ids"].to(device),
                  "position_ids": positions.to(device), self._cache_kwarg(): cache}
        if inputs.get("attention_mask") is not None:
            kwargs["attention_mask"] = inputs["attention_mask"].to(device)
        return kwargs

    def _generate_cached(self, inputs: Any, key: tuple, split: int) -> str:
        import torch

        kwargs = self._suffix_kwargs(inputs, key, split)
        if self._position_mode() != "generation":
            # 4.57 ``generate`` derives decoding positions itself: from the attention mask, or
            # for M-RoPE from the ``rope_deltas`` its prefill would have left on the model
            del kwargs["position_ids"]
            if self._deltas is not None:
                self._rope_holder().rope_deltas = self._deltas.to(self.model.device)
        self._seed_if_sampling()
        with torch.inference_mode():
            out = self.model.generate(**kwargs, **self.generation)
        return self._decode(out, kwargs["input_ids"].shape[1])

    def _logits_cached(self, inputs: Any, key: tuple, split: int) -> Any:
        import torch

        kwargs = self._suffix_kwargs(inputs, key, split)
        kwargs["input_ids"] = kwargs["input_ids"][:, split:]
        kwargs["position_ids"] = kwargs["position_ids"][..., split:]
        with torch.inference_mode():
            out = self.model(**kwargs, use_cache=True, **self._keep_last())
        return out.logits[0, -1]
