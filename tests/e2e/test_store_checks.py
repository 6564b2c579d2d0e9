"""A damaged or wrong store is refused, or repaired and said, before anything is written; a busy or full store is
waited for within GATELAB_STORE_TIMEOUT, else one line, every run closed (or closed as killed at the next start), and
the same command resumes."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TINY
from mlflow import MlflowClient


def sweep_command(folder: Path, store: Path, trials: int = 1) -> list[str]:
    """``gatelab sweep`` on the tiny fraud config (``trials`` per cell, one epoch, no selection) in ``folder``."""
    config = folder / "tiny.yaml"
    config.write_text(TINY.format(trials=trials, epochs=1, sweep=""))
    return [sys.executable, "-m", "gatelab.cli", "sweep", "--task", "fraud", "--config", str(config),
            "--store", str(store), "--seeds", "0", "--progress", "false"]


def sweep(folder: Path, store: Path, env: dict[str, str] | None = None,
          trials: int = 1) -> subprocess.CompletedProcess[str]:
    """Run ``sweep_command`` to its end."""
    return subprocess.run(sweep_command(folder, store, trials), cwd=folder, capture_output=True, text=True,
                          timeout=600, env=os.environ | (env or {}))


HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print(time.time(), flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("ROLLBACK")
print(time.time(), flush=True)
"""


def sweep_with_the_lock_held(folder: Path, seconds: float, limit: str) -> tuple[subprocess.CompletedProcess[str],
                                                                                  tuple[float, float]]:
    """The tiny sweep with ``GATELAB_STORE_TIMEOUT=limit``, while another process holds its MLflow database's write
    lock (``BEGIN EXCLUSIVE``) for ``seconds`` from the moment its first trial's run exists; returns the sweep's
    result and when the lock was taken and released (epoch seconds)."""
    store = folder / "mlruns"
    database = store / "mlflow.db"
    running = subprocess.Popen(sweep_command(folder, store), cwd=folder, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=os.environ | {"GATELAB_STORE_TIMEOUT": limit})
    while not trial_runs(database):
        assert running.poll() is None, running.communicate()[1][-2000:]
        time.sleep(0.2)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(database), str(seconds)], stdout=subprocess.PIPE,
                              text=True)
    out, err = running.communicate(timeout=600)
    taken, released = map(float, holder.communicate()[0].split())
    return subprocess.CompletedProcess(running.args, running.returncode, out, err), (taken, released)


def trial_runs(database: Path) -> list[tuple[str, str]]:
    """The names and statuses of the sweep's trial runs so far (none while the database is not made yet)."""
    if not database.exists():
        return []
    connection = sqlite3.connect(database, timeout=60)
    try:
        return connection.execute("SELECT name, status FROM runs WHERE name LIKE 'lstm-%' OR name LIKE 'gru-%'"
                                  ).fetchall()
    except sqlite3.OperationalError:  # MLflow is still creating its tables
        return []
    finally:
        connection.close()


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


def assert_resumed(uri: str, trials: int) -> None:
    """The resumed sweep ended: no run RUNNING, the parent finished, ``trials`` per cell done (complete or pruned),
    and the trial the store failed during closed as crashed or killed."""
    found = runs(uri)
    assert "RUNNING" not in {run.info.status for run in found}
    states = [(run.data.tags.get("gatelab.role"), run.info.status, run.data.tags.get("gatelab.state")) for run in found]
    assert ("sweep", "FINISHED", "complete") in states
    assert sum(state in ("complete", "pruned") for role, _, state in states if role != "sweep") == 2 * trials
    assert {(status, state) for _, status, state in states} - {("FINISHED", "complete"), ("KILLED", "pruned")} <= {
        ("FAILED", "crashed"), ("KILLED", "killed")}


def test_a_lock_held_mid_sweep_is_waited_for(tmp_path: Path) -> None:
    result, (_, released) = sweep_with_the_lock_held(tmp_path, 4, "120")

    assert result.returncode == 0, result.stderr[-2000:]
    found = runs(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    assert {run.info.status for run in found} == {"FINISHED"} and len(found) == 3
    assert max(run.info.end_time for run in found) / 1000 > released  # the sweep went on after the lock was freed


def test_a_lock_held_past_the_limit_ends_with_one_line_and_the_same_command_resumes(tmp_path: Path) -> None:
    result, _ = sweep_with_the_lock_held(tmp_path, 15, "1")

    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"gatelab: error: {tmp_path / 'mlruns' / 'mlflow.db'}: another process held the store's "
                           "lock for more than 1 s (GATELAB_STORE_TIMEOUT)"), line
    assert "run the same command again to resume" in line
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    left = [run for run in runs(uri) if run.info.status == "RUNNING"]
    assert len(left) == 0 or f"{len(left)} run" in line  # a run it could not close is said, and closed below

    again = sweep(tmp_path, tmp_path / "mlruns")

    assert again.returncode == 0, again.stderr[-2000:]
    assert_resumed(uri, trials=1)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MiB tmpfs (needs root, as on CI's and these machines' containers): a disk that fills."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)]).returncode:
        pytest.skip("mounting a small tmpfs needs root: the full-disk test runs where it can")
    try:
        yield mount
    finally:
        # lazily: MLflow's client in this process keeps its database connection open until the process ends
        subprocess.run(["umount", "--lazy", str(mount)], check=True)


def test_a_full_disk_ends_with_one_line_and_the_same_command_resumes_once_there_is_room(small_disk: Path,
                                                                                         tmp_path: Path) -> None:
    first = sweep(tmp_path, small_disk)
    assert first.returncode == 0, first.stderr[-2000:]
    room = os.statvfs(small_disk)
    (small_disk / "filler").write_bytes(bytes(room.f_bavail * room.f_frsize - 40 * 1024))  # 40 KiB left

    full = sweep(tmp_path, small_disk, trials=2)

    assert full.returncode == 2 and "Traceback" not in full.stderr, full.stderr[-3000:]
    line = full.stderr.strip().splitlines()[-1]
    assert line.startswith(f"gatelab: error: {small_disk}/") and ": the disk is full; free space on it" in line, line
    assert "run the same command again to resume" in line
    (small_disk / "filler").unlink()

    again = sweep(tmp_path, small_disk, trials=2)

    assert again.returncode == 0, again.stderr[-2000:]
    assert_resumed(f"sqlite:///{small_disk / 'mlflow.db'}", trials=2)
