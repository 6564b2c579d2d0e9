"""Errors a user can fix: the CLI prints their message alone and exits non-zero."""

from __future__ import annotations

__all__ = ["ConfigError", "DataError", "GatelabError", "MissingResultsError"]


class GatelabError(Exception):
    """A problem with the user's input, stated with what is wrong and how to fix it."""


class ConfigError(GatelabError):
    """An unknown key, a bad value or an unknown task in a configuration."""


class DataError(GatelabError):
    """A missing, empty or malformed data file."""


class MissingResultsError(GatelabError):
    """A sweep lacks what a verdict needs (it never ran, or has completed trials in fewer than two cells).

    Args:
        message: what is missing and which options complete it (``gatelab`` spelling).
        task: the sweep's task, for the command line's ``make`` spelling of the fix.
        sweep: the sweep's id, where one is known.
    """

    def __init__(self, message: str, task: str, sweep: str | None = None) -> None:
        super().__init__(message)
        self.task, self.sweep = task, sweep
