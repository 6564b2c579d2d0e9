"""A sweep killed with SIGKILL mid-trial resumes: nothing finished is lost or repeated."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
from mlflow import MlflowClient
from optuna.trial import TrialState


def running_child(store: Path) -> str | None:
    """The id of a RUNNING trial run that has logged an epoch, read straight from the SQLite file.

    (An MlflowClient here would race the sweep's own creation of the database's tables.)
    """
    database = store / "mlflow.db"
    if not database.exists():
        return None
    query = """SELECT r.run_uuid FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid AND t.key = 'mlflow.parentRunId'
               WHERE r.status = 'RUNNING'
               AND EXISTS (SELECT 1 FROM metrics m WHERE m.run_uuid = r.run_uuid AND m.key = 'val/auprc')"""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            row = connection.execute(query).fetchone()
    except sqlite3.OperationalError:
        return None
    return row[0] if row else None


def test_sigkill_mid_trial_then_same_command_finishes_the_budget(tmp_path: Path, tiny_config) -> None:
    store = tmp_path / "mlruns"
    config = tiny_config(trials=2, epochs=20, sweep="prune: false")
    command = [sys.executable, "-m", "gatelab.cli", "sweep", "--task", "fraud", "--config", str(config),
               "--store", str(store), "--progress", "false", "--seeds", "0"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        killed_run = None
        while killed_run is None and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
            killed_run = running_child(store)
        assert killed_run is not None, "no trial was seen running before the sweep ended"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()

    resumed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]

    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    killed = client.get_run(killed_run)
    assert killed.info.status == "KILLED" and killed.data.tags["gatelab.state"] == "killed"
    experiment = client.get_experiment_by_name("gatelab-fraud")
    runs = client.search_runs([experiment.experiment_id])
    assert not [run for run in runs if run.info.status == "RUNNING"]
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(store / "optuna.journal")))
    for name in optuna.get_all_study_names(storage):
        trials = optuna.load_study(study_name=name, storage=storage).get_trials()
        assert sum(trial.state == TrialState.COMPLETE for trial in trials) == 2, name
        assert all(trial.state in (TrialState.COMPLETE, TrialState.FAIL) for trial in trials)
    finished = [run for run in runs if run.info.status == "FINISHED" and "mlflow.parentRunId" in run.data.tags]
    assert sorted((run.data.tags["gatelab.cell"], run.data.tags["gatelab.trial"]) for run in finished) == sorted(
        {(run.data.tags["gatelab.cell"], run.data.tags["gatelab.trial"]) for run in finished})
    assert len(finished) == 4
    assert not (tmp_path / "mlflow.db").exists(), "the sweep wrote an MLflow store outside --store"
