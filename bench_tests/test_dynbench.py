"""Every Dyn-Bench sample is one parametrized case (ids like ``cameraqa/<source>/<scene>/q3``).

A wrong answer or a low J&F is a score, not a failure: the case passes. A case fails only
when its data is broken or inference raised; a QA-only model's mask cases are skipped.
"""


def test_qa(qa_case, dynbench_run):
    dynbench_run(qa_case)


def test_mask(mask_case, dynbench_run):
    dynbench_run(mask_case)


def test_data_file(data_case, dynbench_run):
    """Files that yield no case at all (e.g. an unknown task suffix) fail here by name."""
    dynbench_run(data_case)
