"""One run lifecycle: how a block ends decides the run's MLflow status and gatelab.state (a real SQLite store)."""

from __future__ import annotations

import contextlib

import optuna
import pytest
from gatelab.errors import MissingResultsError
from gatelab.tracking.client import Tracker
from gatelab.tracking.lifecycle import tracked_run
from gatelab.training.module import DivergedError


@pytest.fixture(scope="module")
def tracker(tmp_path_factory: pytest.TempPathFactory) -> Tracker:
    return Tracker(tmp_path_factory.mktemp("lifecycle") / "mlruns", "fraud")


@pytest.mark.parametrize(("error", "status", "state"), [
    (None, "FINISHED", "complete"),
    (optuna.TrialPruned(), "KILLED", "pruned"),
    (DivergedError("loss is nan"), "FAILED", "diverged"),
    (ValueError("a bug"), "FAILED", "crashed"),
    (KeyboardInterrupt(), "KILLED", "killed"),
    (SystemExit(1), "KILLED", "killed"),
    (MissingResultsError("no completed trial", "fraud"), "FINISHED", "incomplete"),
])
def test_how_a_block_ends_decides_the_runs_status(tracker: Tracker, error: BaseException | None, status: str,
                                                  state: str) -> None:
    started = []
    with pytest.raises(type(error)) if error is not None else contextlib.nullcontext():
        with tracked_run(tracker, "run", {"gatelab.cell": "gru"}) as run_id:
            started.append(run_id)
            assert tracker.client.get_run(run_id).info.status == "RUNNING"
            if error is not None:
                raise error
    run = tracker.client.get_run(started[0])
    assert (run.info.status, run.data.tags["gatelab.state"]) == (status, state)

