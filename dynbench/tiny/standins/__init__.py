"""Stand-in model code for remote-code families (NOT the real models).

Each module here is copied next to a tiny checkpoint's weights by ``save_pretrained`` and
imported back through ``trust_remote_code=True``, exactly like the real checkpoint's code.
They follow the real call contracts (inputs, call signature, output shapes) with a tiny,
seeded torch network, so the adapters' side of each contract can be tested offline. Their
outputs carry no meaning; each config says ``dynbench_standin: true``.

The modules must stay self-contained: they may import torch, transformers, numpy and PIL,
never ``dynbench``.
"""
