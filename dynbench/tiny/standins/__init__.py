"""Stand-in model code for remote-code families (NOT the real models).

Each stand-in is written next to a tiny checkpoint's weights and imported back through
``trust_remote_code=True``, exactly like the real checkpoint's code. It follows the real
call contract (inputs, call signature, output shapes, special tokens) with a tiny, seeded
torch network, and reproduces the real code's traits that decide where it runs: the same
imports (so a missing package or transformers 5 fails at load as for the real model), no
``post_init()`` where the real class has none, the same hard-coded dtype casts and CUDA
calls. Their outputs carry no meaning; each config says ``dynbench_standin: true``.

Layout like a real checkpoint: ``*_config.py`` (imports only transformers) and ``*_parts.py``
(torch-only layers, from which the builders write weights without importing the model
module), plus one model module per real model class. None of them imports ``dynbench``.
"""
