"""The exit codes of a benchmark run, in one table (README "Exit codes").

0-5 are pytest's own; dynbench adds codes for outcomes that a script must tell apart.
"""

from __future__ import annotations

OK = 0  # every case ran and scored (wrong answers are scores, not failures)
CASES_FAILED = 1  # some case errored (broken sample, inference raised); the report is written
INTERRUPTED = 2  # interrupted (Ctrl-C)
USAGE = 4  # bad options, unusable data dir or report folder, non-comparable baseline
NO_CASES = 5  # no case selected
GATE = 10  # regression gate: a significant drop or a floor violation (dynbench.gate)
LOAD_FAILED = 11  # the model or predictions folder cannot be used here; no case ran
REPORT_NOT_WRITTEN = 12  # the report folder filled up or became unwritable during the run

MEANINGS = {OK: "ok", CASES_FAILED: "some case errored", INTERRUPTED: "interrupted",
            USAGE: "usage error", NO_CASES: "no case selected",
            GATE: "regression gate failed", LOAD_FAILED: "the model could not be loaded",
            REPORT_NOT_WRITTEN: "the report could not be written"}
