"""One run lifecycle: a run ends FINISHED, FAILED or KILLED by how the block that drives it ended.

The rule, in one place (as Optuna's ``_run_trial`` turns an exception into a trial state):

| how the block ended                           | MLflow status | ``gatelab.state`` |
|-----------------------------------------------|---------------|-------------------|
| normally                                      | FINISHED      | ``complete``      |
| ``optuna.TrialPruned``                        | KILLED        | ``pruned``        |
| ``MissingResultsError`` (a sweep's search is not complete enough for a verdict) | FINISHED | ``incomplete`` |
| ``DivergedError`` (NaN or infinite loss)      | FAILED        | ``diverged``      |
| any other ``Exception``                       | FAILED        | ``crashed``       |
| Ctrl-C, a stop signal (``KeyboardInterrupt``, ``SystemExit``) | KILLED | ``killed`` |

When the store itself fails (``StoreError``: locked past the limit, or a full disk), the run is closed once
the store takes writes again (``Tracker.close_after_failure``), or else left for the next start, which closes
it as killed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import optuna

from gatelab.errors import MissingResultsError
from gatelab.tracking.client import Tracker
from gatelab.tracking.store import StoreError
from gatelab.training.module import DivergedError

__all__ = ["close_run", "end_run", "outcome", "tracked", "tracked_run"]


def outcome(error: BaseException | None) -> tuple[str, str]:
    """The MLflow status and ``gatelab.state`` of a run whose block ended with ``error`` (None: normally)."""
    if error is None:
        return "FINISHED", "complete"
    if isinstance(error, optuna.TrialPruned):
        return "KILLED", "pruned"
    if isinstance(error, MissingResultsError):
        return "FINISHED", "incomplete"
    if isinstance(error, DivergedError):
        return "FAILED", "diverged"
    if isinstance(error, Exception):
        return "FAILED", "crashed"
    return "KILLED", "killed"


def close_run(tracker: Tracker, run_id: str, status: str, state: str) -> None:
    """Tag the run's ``gatelab.state`` and end it with MLflow ``status``."""
    tracker.close(run_id, status, state)


def end_run(tracker: Tracker, run_id: str, error: BaseException | None) -> None:
    """End a run as ``outcome`` says for a block that ended with ``error`` (None: normally).

    Raises:
        StoreError: closing it failed (the store stayed locked past the limit, or its disk is full); the run is
            closed after all if the store takes writes again in time, else left for the next start.
    """
    if isinstance(error, StoreError):
        tracker.close_after_failure(run_id, *outcome(error), error)
        return
    try:
        close_run(tracker, run_id, *outcome(error))
    except StoreError as failure:
        tracker.close_after_failure(run_id, *outcome(failure), failure)
        raise


@contextlib.contextmanager
def tracked(tracker: Tracker, run_id: str) -> Iterator[str]:
    """Drive an existing (new or reopened) run in a ``with`` block; it ends as the block ends."""
    try:
        yield run_id
    except BaseException as error:
        end_run(tracker, run_id, error)
        raise
    end_run(tracker, run_id, None)


@contextlib.contextmanager
def tracked_run(tracker: Tracker, name: str, tags: Mapping[str, str], params: Mapping[str, Any] = {},
                parent: str | None = None) -> Iterator[str]:
    """Create a run (a child of ``parent`` if given) and drive it in a ``with`` block; yields its id."""
    with tracked(tracker, tracker.start_run(name, tags, parent=parent)) as run_id:
        tracker.log_params(run_id, params)  # inside the block: a run whose params could not be logged ends too
        yield run_id
