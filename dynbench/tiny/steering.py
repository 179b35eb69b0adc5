"""Make a tiny random-weight decoder emit a chosen token sequence under greedy decoding.

Random weights make a tiny model's greedy output arbitrary bytes, which cannot exercise code
that reacts to particular tokens (UniPixel segments when it emits ``<|seg|>``). Steering
reserves a few residual-stream dimensions: the token embedding marks each token class in one
of them, no attention or MLP output writes into them, and the final norm and LM head read
only them. The next token then depends only on the current one, by the given chain, while
every other dimension of the network still computes (vision features, attention, the hidden
states a segmentation head reads).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

Chain = Sequence[tuple[int | None, int]]  # (current token, or None for "any other", next)


def steer_decoder(embed: Any, writers: Iterable[Any], norm: Any, lm_head: Any,
                  chain: Chain) -> None:
    """Rewrite weights in place so that greedy decoding follows ``chain``.

    ``writers`` are the linear layers that add into the residual stream (attention output and
    MLP down projections); ``norm`` is the final RMSNorm, ``lm_head`` the untied output layer.
    """
    import torch

    hidden = embed.weight.shape[1]
    dims = list(range(hidden - len(chain), hidden))
    named = {token for token, _ in chain if token is not None}
    others = torch.ones(embed.weight.shape[0], dtype=torch.bool)
    others[list(named)] = False
    with torch.no_grad():
        for layer in writers:
            layer.weight[dims] = 0
            if getattr(layer, "bias", None) is not None:
                layer.bias[dims] = 0
        embed.weight[:, dims] = 0
        norm.weight.zero_()
        norm.weight[dims] = 1
        lm_head.weight.zero_()
        for dim, (token, following) in zip(dims, chain, strict=True):
            embed.weight[others if token is None else token, dim] = 1
            lm_head.weight[following, dim] = 1


def qwen_writers(language_model: Any) -> list[Any]:
    """The residual writers of a Qwen-style decoder: attention ``o_proj``, MLP ``down_proj``."""
    return [w for layer in language_model.layers
            for w in (layer.self_attn.o_proj, layer.mlp.down_proj)]
