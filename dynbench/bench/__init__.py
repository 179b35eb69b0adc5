"""The benchmark's test module, shipped inside the package so ``dynbench run`` works from any
folder after ``pip install``; ``bench_tests/test_dynbench.py`` re-exports it in this
repository."""
