"""Builders of tiny checkpoints from families' real public code (opt-in, DYNBENCH_REALCODE).

One module per family; each exposes ``CHECKPOINTS``: name -> :class:`common.RealCheckpoint`.
``tests/test_realcode.py`` collects them all and runs each through ``pytest --model``.
"""
