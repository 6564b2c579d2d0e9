"""A tiny real sweep through the CLI, read back from MLflow as a user would see it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
from gatelab.pipeline import sweep_id
from mlflow import MlflowClient

TAGS = ("gatelab.task", "gatelab.cell", "gatelab.sweep", "gatelab.trial", "gatelab.seed", "gatelab.git_sha",
        "gatelab.data_fingerprint")


def gatelab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the `gatelab` command as a user does, in its own process."""
    command = [sys.executable, "-m", "gatelab.cli", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)


def runs_of(store: Path) -> tuple[MlflowClient, list]:
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("gatelab-fraud")
    return client, client.search_runs([experiment.experiment_id], max_results=1000)


def test_tiny_sweep_tracks_parent_children_tags_and_metrics(tmp_path: Path, tiny_config) -> None:
    store = tmp_path / "mlruns"
    config = tiny_config(trials=2, epochs=2)
    result = gatelab("sweep", "--task", "fraud", "--config", str(config), "--store", str(store), "--seeds", "0",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "selection and verdict skipped (seeds=0)" in result.stdout and "make report" in result.stdout

    client, runs = runs_of(store)
    parents = [run for run in runs if run.data.tags.get("gatelab.role") == "sweep"]
    assert len(parents) == 1
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    children = [run for run in runs if run.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert sorted(run.data.tags["gatelab.cell"] for run in children) == ["gru", "gru", "lstm", "lstm"]
    for child in children:
        assert all(tag in child.data.tags for tag in TAGS)
        assert child.data.tags["gatelab.sweep"] == parent.data.tags["gatelab.sweep"]
        assert child.info.status in ("FINISHED", "KILLED", "FAILED")
        assert child.data.tags["gatelab.state"] in ("complete", "pruned", "diverged")
        assert "model.hidden_size" in child.data.params and "optim.lr" in child.data.params
        history = client.get_metric_history(child.info.run_id, "val/auprc")
        assert [point.step for point in history][:1] == [0]
        if child.data.tags["gatelab.state"] == "complete":
            assert len(history) == 2
            assert {"best_val/auprc", "train/loss", "params", "seconds_per_epoch"} <= set(child.data.metrics)
        assert not any(key.startswith("test/") for key in child.data.metrics), "a trial scored the test split"

    assert "sweep_config.yaml" in {item.path for item in client.list_artifacts(parent.info.run_id)}
    assert parent.data.tags["gatelab.verdict"] == "pending"


def test_rerun_resumes_and_a_bigger_budget_extends(tmp_path: Path, tiny_config) -> None:
    store = tmp_path / "mlruns"
    config = tiny_config(trials=1, epochs=1)
    args = ("sweep", "--task", "fraud", "--config", str(config), "--store", str(store), "--progress", "false",
            "--seeds", "0")
    assert gatelab(*args, cwd=tmp_path).returncode == 0
    again = gatelab(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    _, runs = runs_of(store)
    assert sum(run.data.tags.get("gatelab.role") == "sweep" for run in runs) == 1
    assert sum("mlflow.parentRunId" in run.data.tags for run in runs) == 2

    more = gatelab(*args, "--trials", "2", cwd=tmp_path)
    assert more.returncode == 0, more.stderr[-2000:]
    _, runs = runs_of(store)
    assert sum(run.data.tags.get("gatelab.role") == "sweep" for run in runs) == 1
    assert sorted(run.data.tags["gatelab.trial"] for run in runs if "mlflow.parentRunId" in run.data.tags) == \
        ["0", "0", "1", "1"]

    reseeded = gatelab(*args, "--seed", "7", cwd=tmp_path)
    assert reseeded.returncode == 0, reseeded.stderr[-2000:]
    _, runs = runs_of(store)
    assert sum(run.data.tags.get("gatelab.role") == "sweep" for run in runs) == 2
    studies = optuna.get_all_study_names(optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(store / "optuna.journal"))))
    assert len(studies) == 4


def test_sweep_id_ignores_budget_and_cells_only() -> None:
    from gatelab.training.experiment import load_experiment

    base = load_experiment("fraud")
    assert sweep_id(base) == sweep_id(load_experiment("fraud", overrides={"sweep.trials": 50, "sweep.cells": ["gru"]}))
    assert sweep_id(base) != sweep_id(load_experiment("fraud", overrides={"seed": 3}))
    assert sweep_id(base) != sweep_id(load_experiment("fraud", overrides={"trainer.max_epochs": 2}))
