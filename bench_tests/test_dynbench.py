"""The benchmark cases (defined in the package, so that ``dynbench run`` ships them)."""

from dynbench.bench.test_dynbench import test_mask, test_qa  # noqa: F401
