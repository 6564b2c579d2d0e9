"""A busy or full store: a lock another process holds is waited for within a limit, then one line says what to do.

- The limit: ``GATELAB_STORE_TIMEOUT`` seconds (default 120), read when a store is used.
- The MLflow store on SQLite: every connection waits up to the limit for a lock another process holds
  (SQLite's busy timeout, https://www.sqlite.org/c3ref/busy_timeout.html). MLflow sets a busy timeout of
  its own, 20 s, at the start of every session (``PRAGMA busy_timeout = 20000`` in
  ``mlflow.store.db.utils``); ``wait_for_locks`` replaces it with the limit, on every SQLite connection that
  SQLAlchemy opens in this process.
- The Optuna journal: its lock file is waited for up to the limit (``gatelab.search.storage``).

Past the limit, or when the disk is full, the command ends with a ``StoreError``: one line naming the store
and the fix. Rerunning the same command once the store takes writes again resumes the sweep.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import math
import os
import re
import sqlite3
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from gatelab.errors import ConfigError, GatelabError

__all__ = ["DEFAULT_TIMEOUT", "TIMEOUT_ENV", "StoreError", "busy_error", "full_error", "store_errors",
           "store_failure", "store_timeout", "wait_for_locks"]

TIMEOUT_ENV = "GATELAB_STORE_TIMEOUT"
#: Seconds a store's lock is waited for when ``GATELAB_STORE_TIMEOUT`` is unset.
DEFAULT_TIMEOUT = 120.0

_LOCKED = ("database is locked", "database table is locked")
_FULL = "database or disk is full"
_BUSY_PRAGMA = re.compile(r"\s*PRAGMA\s+busy_timeout\s*=\s*\d+\s*;?\s*$", re.IGNORECASE)


def store_timeout() -> float:
    """``GATELAB_STORE_TIMEOUT`` in seconds, else ``DEFAULT_TIMEOUT``.

    Raises:
        ConfigError: it is not a number above 0.
    """
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{TIMEOUT_ENV}={raw}: not a number of seconds above 0; give the seconds a store's lock "
                          f"is waited for (e.g. {TIMEOUT_ENV}={DEFAULT_TIMEOUT:g}, the default), or unset it.")
    return value


class StoreError(GatelabError):
    """A store stayed locked past the limit, or its disk is full; ``unclosed`` lists the runs the command opened
    that it could not close (the same command closes them as killed when it starts again)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.unclosed: list[str] = []

    def __str__(self) -> str:
        text = super().__str__()
        if self.unclosed:
            runs = f"{len(self.unclosed)} run{'s' if len(self.unclosed) > 1 else ''}"
            text += (f" ({runs} it opened could not be closed and show RUNNING until then: the same command "
                     "closes them as KILLED when it starts.)")
        return text


def busy_error(store: str, limit: float) -> StoreError:
    """The error for ``store`` locked by another process for longer than ``limit`` seconds."""
    return StoreError(f"{store}: another process held the store's lock for more than {limit:g} s ({TIMEOUT_ENV}); "
                      f"let it finish (or set {TIMEOUT_ENV} higher), then run the same command again to resume.")


def full_error(store: str) -> StoreError:
    """The error for ``store`` on a full disk."""
    return StoreError(f"{store}: the disk is full; free space on it (or move the store to a disk with room), then "
                      "run the same command again to resume.")


def store_failure(error: BaseException, store: str) -> StoreError | None:
    """The ``StoreError`` an error raised while using ``store`` amounts to: SQLite's "database is locked" (past
    the limit) or "database or disk is full", or no space left on the device (``ENOSPC``, ``EDQUOT``); None for
    any other error. Looks through the chain of causes (MLflow wraps SQLAlchemy's error, which wraps SQLite's)."""
    link: BaseException | None = error
    while link is not None:
        if isinstance(link, StoreError):
            return link
        if isinstance(link, OSError) and link.errno in (errno.ENOSPC, errno.EDQUOT):
            return full_error(store)
        text = str(link)
        if _FULL in text:
            return full_error(store)
        if any(marker in text for marker in _LOCKED):
            return busy_error(store, store_timeout())
        link = link.__cause__ or link.__context__
    return None


@contextlib.contextmanager
def store_errors(store: str) -> Iterator[None]:
    """Inside the ``with`` block, an error of a busy or full ``store`` is raised as its ``StoreError``
    (``store_failure``); any other error passes unchanged."""
    try:
        yield
    except Exception as error:
        failure = store_failure(error, store)
        if failure is None or failure is error:
            raise
        raise failure from error


def _busy_timeout_ms() -> int:
    return round(store_timeout() * 1000)


def _on_connect(connection: Any, record: Any) -> None:
    if isinstance(connection, sqlite3.Connection):
        connection.execute(f"PRAGMA busy_timeout = {_busy_timeout_ms()}")


def _before_execute(connection: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                    executemany: bool) -> tuple[str, Any]:
    if connection.dialect.name == "sqlite" and _BUSY_PRAGMA.match(statement):
        statement = f"PRAGMA busy_timeout = {_busy_timeout_ms()}"
    return statement, parameters


@functools.cache
def wait_for_locks() -> None:
    """Make every SQLite connection of SQLAlchemy in this process wait up to the limit for another process's lock
    (once per process; see the module's docstring)."""
    store_timeout()  # a bad value is refused before any store is opened
    event.listen(Pool, "connect", _on_connect)
    event.listen(Engine, "before_cursor_execute", _before_execute, retval=True)
