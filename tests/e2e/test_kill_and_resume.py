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


def running_child(store: Path, role: str = "trial") -> str | None:
    """The id of a RUNNING run that has logged an epoch, read straight from the SQLite file: a sweep's trial
    run (a child run), or a ``gatelab train`` run (``role="train"``).

    (An MlflowClient here would race the sweep's own creation of the database's tables.)
    """
    database = store / "mlflow.db"
    if not database.exists():
        return None
    kind = ("t.key = 'mlflow.parentRunId'" if role == "trial"
            else f"t.key = 'gatelab.role' AND t.value = '{role}'")
    query = f"""SELECT r.run_uuid FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid AND {kind}
               WHERE r.status = 'RUNNING'
               AND EXISTS (SELECT 1 FROM metrics m WHERE m.run_uuid = r.run_uuid AND m.key = 'val/auprc')"""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            row = connection.execute(query).fetchone()
    except sqlite3.OperationalError:
        return None
    return row[0] if row else None


def wait_for_a_running_trial(process: subprocess.Popen, store: Path, role: str = "trial") -> str:
    """The MLflow run of the first trial (or ``train`` run) seen running and logging epochs in ``process``."""
    deadline = time.monotonic() + 240
    run_id = None
    while run_id is None and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
        run_id = running_child(store, role)
    assert run_id is not None, "no trial was seen running before the sweep ended"
    return run_id


def start(command: list[str], cwd: Path) -> subprocess.Popen:
    """Start ``command`` as a user's terminal would: with Ctrl-C's default action, even where this test process
    ignores SIGINT (a shell starts background jobs so, and the child would inherit it)."""
    return subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def interrupt(process: subprocess.Popen) -> str:
    """Ctrl-C ``process``; its stderr. A process that ignores it is killed, so that no test leaves one running."""
    process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=120)[1]
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError("the process was still running 120 s after Ctrl-C") from None


def sweep_command(tmp_path: Path, tiny_config, epochs: int = 20) -> list[str]:
    config = tiny_config(trials=2, epochs=epochs, sweep="prune: false")
    return [sys.executable, "-m", "gatelab.cli", "sweep", "--task", "fraud", "--config", str(config),
            "--store", str(tmp_path / "mlruns"), "--progress", "false", "--seeds", "0"]


def test_ctrl_c_mid_trial_closes_the_run_as_killed_and_says_how_to_resume(tmp_path: Path, tiny_config) -> None:
    # trials far longer than the interrupt takes to arrive: the sweep cannot finish first
    process = start(sweep_command(tmp_path, tiny_config, epochs=2000), tmp_path)
    try:
        run_id = wait_for_a_running_trial(process, tmp_path / "mlruns")
    finally:
        stderr = interrupt(process)
    assert process.returncode == 130 and "interrupted; run the same command again to resume" in stderr
    run = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}").get_run(run_id)
    assert run.info.status == "KILLED" and run.data.tags["gatelab.state"] == "killed"


def test_ctrl_c_mid_train_ends_its_run_killed_as_a_sweep_does(tmp_path: Path, tiny_config) -> None:
    command = [sys.executable, "-m", "gatelab.cli", "train", "--task", "fraud", "--config", str(tiny_config()),
               "--epochs", "2000", "--store", str(tmp_path / "mlruns")]
    process = start(command, tmp_path)
    try:
        run_id = wait_for_a_running_trial(process, tmp_path / "mlruns", role="train")
    finally:
        stderr = interrupt(process)
    assert process.returncode == 130 and "interrupted" in stderr
    run = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}").get_run(run_id)
    assert run.info.status == "KILLED" and run.data.tags["gatelab.state"] == "killed"


def test_sigkill_mid_trial_then_same_command_finishes_the_budget(tmp_path: Path, tiny_config) -> None:
    store = tmp_path / "mlruns"
    command = sweep_command(tmp_path, tiny_config)
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        killed_run = wait_for_a_running_trial(process, store)
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
