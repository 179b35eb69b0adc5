"""Warnings that must reach the user: collected for the terminal summary and report.json.

Loading decisions (``say_once``: "flash-attn is not installed ... using SDPA"), skipped cache
lines and unsaved files are logged on the ``dynbench`` logger, which pytest only shows for
failing tests. A :class:`Notices` handler keeps every distinct message once, per process;
xdist workers send theirs to the controller, which prints them after the score table.
"""

from __future__ import annotations

import logging

LOGGER = "dynbench"
log = logging.getLogger(LOGGER)


class Notices(logging.Handler):
    """Distinct warning messages of the ``dynbench`` logger, in the order first seen."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self._messages: dict[str, None] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.add(record.getMessage())

    def add(self, message: str) -> None:
        self._messages.setdefault(str(message), None)

    def extend(self, messages) -> None:
        for message in messages:
            self.add(message)

    @property
    def messages(self) -> list[str]:
        return list(self._messages)

    def attach(self) -> Notices:
        logger = logging.getLogger(LOGGER)
        if self not in logger.handlers:
            logger.addHandler(self)
        return self

    def detach(self) -> None:
        logging.getLogger(LOGGER).removeHandler(self)


def warn(message: str) -> None:
    """A warning for the summary (and the log), from anywhere in dynbench."""
    log.warning(message)
