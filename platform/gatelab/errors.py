"""Errors a user can fix: the CLI prints their message alone and exits non-zero."""

from __future__ import annotations

__all__ = ["ConfigError", "DataError", "GatelabError"]


class GatelabError(Exception):
    """A problem with the user's input, stated with what is wrong and how to fix it."""


class ConfigError(GatelabError):
    """An unknown key, a bad value or an unknown task in a configuration."""


class DataError(GatelabError):
    """A missing, empty or malformed data file."""
