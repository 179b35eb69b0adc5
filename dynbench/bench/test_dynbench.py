"""Every Dyn-Bench sample is one parametrized case (ids like ``cameraqa/<source>/<scene>/q3``).

A wrong answer or a low J&F is a score, not a failure: the case passes. A case fails only
when its data is broken or inference raised; a QA-only model's mask cases are skipped.
Files that yield no case at all (e.g. an unknown task suffix) run, and fail, as QA cases
with ids like ``data/<source>/<scene>/file``.
"""


def test_qa(qa_case, dynbench_run):
    dynbench_run(qa_case)


def test_mask(mask_case, dynbench_run):
    dynbench_run(mask_case)

