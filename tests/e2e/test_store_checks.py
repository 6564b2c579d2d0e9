"""A damaged or wrong store is refused, or repaired and said, before anything is written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TINY
from mlflow import MlflowClient


def sweep(folder: Path, store: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``gatelab sweep`` on the tiny fraud config (one trial per cell, one epoch, no selection) in ``folder``."""
    config = folder / "tiny.yaml"
    config.write_text(TINY.format(trials=1, epochs=1, sweep=""))
    command = [sys.executable, "-m", "gatelab.cli", "sweep", "--task", "fraud", "--config", str(config),
               "--store", str(store), "--seeds", "0", "--progress", "false"]
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=600,
                          env=os.environ | (env or {}))


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a finished tiny sweep's store, ``mlruns/``."""
    folder = tmp_path_factory.mktemp("finished")
    result = sweep(folder, folder / "mlruns")
    assert result.returncode == 0, result.stderr[-2000:]
    return folder


def runs(uri: str) -> list:
    client = MlflowClient(uri)
    return [run for experiment in client.search_experiments() for run in client.search_runs([experiment.experiment_id])]


def test_a_half_written_journal_record_is_set_aside_and_the_sweep_resumes(finished: Path, tmp_path: Path) -> None:
    shutil.copytree(finished / "mlruns", tmp_path / "mlruns")
    journal = tmp_path / "mlruns" / "optuna.journal"
    whole = journal.read_bytes()
    journal.write_bytes(whole[:-40])  # a crash in the middle of writing the last record

    result = sweep(tmp_path, tmp_path / "mlruns")

    assert result.returncode == 0, result.stderr[-2000:]
    assert "optuna.journal: its last record was half-written" in result.stderr
    (backup,) = (tmp_path / "mlruns").glob("optuna.journal.partial-*")
    assert backup.read_bytes() == whole[whole[:-40].rfind(b"\n") + 1 : -40]
    assert journal.read_bytes().endswith(b"\n")
    statuses = {run.info.status for run in runs(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")}
    assert "RUNNING" not in statuses


def test_a_tracking_uri_naming_a_plain_folder_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    result = sweep(tmp_path, tmp_path / "mlruns", {"MLFLOW_TRACKING_URI": str(tmp_path / "somewhere")})

    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("gatelab: error: MLFLOW_TRACKING_URI=") and f"sqlite:///{tmp_path / 'somewhere'}" in line
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "mlruns").exists() and not (tmp_path / "somewhere").exists()


def test_resuming_with_runs_sent_to_another_tracking_store_is_refused(finished: Path, tmp_path: Path) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    journal = (finished / "mlruns" / "optuna.journal").read_bytes()

    result = sweep(finished, finished / "mlruns", {"MLFLOW_TRACKING_URI": other})

    assert result.returncode == 2, result.stderr[-2000:]
    (line,) = result.stderr.strip().splitlines()
    assert "<store>/mlflow.db" in line and str(finished / "mlruns") in line and other in line and "--storage" in line
    assert (finished / "mlruns" / "optuna.journal").read_bytes() == journal
    assert not (tmp_path / "other.db").exists()
    assert {run.info.status for run in runs(f"sqlite:///{finished / 'mlruns' / 'mlflow.db'}")} <= {"FINISHED", "KILLED"}
