"""Local workers: four on the default journal store, one killed mid-trial, then the whole sweep, then
resumed (how the launcher shares out GPUs or CPU cores: tests/unit/launch/test_local.py)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import optuna
from mlflow import MlflowClient
from workers_support import OWNER, check_finished_sweep, gatelab, wait_for_owners


def test_four_workers_killed_worker_then_killed_sweep_resume_to_the_exact_budget(tmp_path: Path, tiny_config) -> None:
    store = tmp_path / "mlruns"
    store.mkdir()
    # trials long enough (40 epochs) that two workers are seen in trials at once, even when one starts late
    config = tiny_config(trials=2, epochs=40, sweep="prune: false")
    args = ("sweep", "--task", "fraud", "--config", str(config), "--store", str(store), "--workers", "4",
            "--progress", "false", "--seeds", "2")
    sweep = gatelab(*args, cwd=tmp_path)
    journal = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(store / "optuna.journal")))
    try:
        running = wait_for_owners(journal, 2, sweep)
        victim = running[0]
        os.kill(int(victim.user_attrs[OWNER].split(":")[1]), signal.SIGKILL)
    finally:
        sweep.send_signal(signal.SIGKILL)  # the whole sweep: its workers die with it
        sweep.communicate()

    resumed = gatelab(*args, cwd=tmp_path)
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err[-3000:]
    assert "**Verdict:**" in out

    check_finished_sweep(journal, MlflowClient(f"sqlite:///{store / 'mlflow.db'}"), 2, running)
    owners = {trial.user_attrs[OWNER] for study in optuna.get_all_study_names(journal)
              for trial in optuna.load_study(study_name=study, storage=journal).get_trials()}
    assert len(owners) >= 3, "the trials were not spread over the workers"
