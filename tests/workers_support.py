"""What the multi-worker tests share: running `gatelab`, finding a worker mid-trial, checking a finished sweep."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import optuna
from gatelab.search.studies import counts_towards_budget
from mlflow import MlflowClient
from optuna.trial import FrozenTrial, TrialState

OWNER = "gatelab.worker"


def gatelab(*args: str, cwd: Path, env: Mapping[str, str] | None = None, **popen) -> subprocess.Popen[str]:
    """Start `gatelab` as a user does, in its own process; output captured as text."""
    command = [sys.executable, "-m", "gatelab.cli", *args]
    return subprocess.Popen(command, cwd=cwd, env=dict(os.environ) | dict(env or {}), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def studies(storage: optuna.storages.BaseStorage) -> dict[str, list[FrozenTrial]]:
    """Every study's trials, by study name."""
    return {name: optuna.load_study(study_name=name, storage=storage).get_trials()
            for name in optuna.get_all_study_names(storage)}


def seconds_since(moment: datetime, now: datetime | None = None) -> float:
    """Seconds from ``moment`` (aware, or naive local time as Optuna's RDB storage keeps it) to ``now``."""
    return ((now or datetime.now(UTC)) - moment.astimezone(UTC)).total_seconds()


def wait_for_owners(storage: optuna.storages.BaseStorage, count: int, process: subprocess.Popen[str],
                    limit: float = 300) -> list[FrozenTrial]:
    """Wait until ``count`` different workers each run a trial, training for a second; returns those trials."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.5)
        try:
            running = [trial for trials in studies(storage).values() for trial in trials
                       if trial.state == TrialState.RUNNING and "mlflow_run_id" in trial.user_attrs
                       and seconds_since(trial.datetime_start) > 1]
        except (KeyError, ValueError, OSError):  # the studies are still being created
            continue
        by_owner = {trial.user_attrs[OWNER]: trial for trial in running}
        if len(by_owner) >= count:
            return list(by_owner.values())
    raise AssertionError(f"never saw {count} workers running trials at once (sweep exit code {process.poll()})")


def check_finished_sweep(storage: optuna.storages.BaseStorage, client: MlflowClient, budget: int,
                         killed: list[FrozenTrial]) -> None:
    """Each cell met its budget exactly with configurations of its own (no worker repeated another's), killed
    trials ended FAIL and were retried with the same hyperparameters, and MLflow has one ended run per counted
    trial and no run left RUNNING."""
    all_trials = studies(storage)
    assert len(all_trials) == 2
    for name, trials in all_trials.items():
        counted = [trial for trial in trials if counts_towards_budget(trial)]
        assert len(counted) == len({tuple(sorted(trial.params.items())) for trial in counted}) == budget, name
        assert not [trial for trial in trials if trial.state in (TrialState.RUNNING, TrialState.WAITING)], name
        for trial in trials:
            if trial.state == TrialState.FAIL:
                retries = [t for t in trials if t.system_attrs.get("failed_trial") == trial.number]
                assert len(retries) == 1 and retries[0].params == trial.params, (name, trial.number)
    killed_ids = {trial._trial_id for trial in killed}
    for trials in all_trials.values():
        assert all(trial.state == TrialState.FAIL for trial in trials if trial._trial_id in killed_ids)
    experiment = client.get_experiment_by_name("gatelab-fraud")
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    assert not [run.info.run_name for run in runs if run.info.status == "RUNNING"]
    children = [run for run in runs if "mlflow.parentRunId" in run.data.tags  # the trials, not the selection's
                and run.data.tags.get("gatelab.role") not in ("selection", "baseline")]  # nor the baselines
    finished = [(run.data.tags["gatelab.cell"], run.data.tags["gatelab.trial"]) for run in children
                if run.data.tags["gatelab.state"] in ("complete", "pruned", "diverged")]
    assert len(finished) == len(set(finished)) == 2 * budget
    failed = {(name.rsplit("-", 1)[1], str(trial.number)) for name, trials in all_trials.items()
              for trial in trials if trial.state == TrialState.FAIL}
    for run in children:
        if (run.data.tags["gatelab.cell"], run.data.tags["gatelab.trial"]) in failed:
            assert run.info.status == "KILLED" and run.data.tags["gatelab.state"] == "killed"
    parent = [run for run in runs if run.data.tags.get("gatelab.role") == "sweep"]
    assert len(parent) == 1 and parent[0].info.status == "FINISHED" and "gatelab.verdict" in parent[0].data.tags


POSTGRES = os.environ.get("GATELAB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def fresh_database(password: str = "") -> Iterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards); yields its URL, with ``password`` in it.

    The server is ``GATELAB_TEST_POSTGRES`` (default: local, trust authentication, which ignores
    the password); `.ci/run` starts it when it is down.
    """
    import psycopg

    name = f"gatelab_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(POSTGRES)
    netloc = f"{parts.username}:{password}@{parts.hostname}:{parts.port}" if password else parts.netloc
    try:
        yield urlunsplit((parts.scheme, netloc, f"/{name}", "", ""))
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def mlflow_server(backend: str, store: Path) -> Iterator[str]:
    """`gatelab ui` (what `make mlflow-server BACKEND=...` runs) on a free local port; yields its http URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "gatelab.cli", "ui", "--port", str(port), "--store", str(store)]
    server = subprocess.Popen(command, env=os.environ | {"MLFLOW_BACKEND_STORE_URI": backend},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5):
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "the mlflow server did not start"
                time.sleep(1)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()
