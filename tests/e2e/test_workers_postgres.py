"""Four workers on a fresh PostgreSQL study database, tracked by an MLflow server with a PostgreSQL backend.

One worker is killed with SIGKILL mid-trial: its heartbeat stops, another worker fails the trial
and retries it, and the sweep meets its budget exactly without being restarted. Passwords given
in the URLs appear in no output and in no MLflow param or tag.
"""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import optuna
from mlflow import MlflowClient
from optuna.trial import TrialState
from workers_support import (
    OWNER,
    check_finished_sweep,
    fresh_database,
    gatelab,
    mlflow_server,
    seconds_since,
    studies,
    wait_for_owners,
)

PASSWORD = "s3cret-pw"


def test_four_workers_on_postgres_heartbeat_fails_and_retries_a_killed_workers_trial(tmp_path: Path,
                                                                                    tiny_config) -> None:
    config = tiny_config(trials=2, epochs=15, sweep="prune: false")
    with fresh_database(PASSWORD) as studies_url, fresh_database(PASSWORD) as tracking_db, \
            mlflow_server(tracking_db, tmp_path / "server") as server:
        env = {"MLFLOW_TRACKING_URI": server}
        sweep = gatelab("sweep", "--task", "fraud", "--config", str(config), "--store", str(tmp_path / "mlruns"),
                        "--workers", "4", "--storage", studies_url, "--heartbeat", "1", "--progress", "false",
                        cwd=tmp_path, env=env)
        storage = optuna.storages.RDBStorage(studies_url)
        try:
            victim = wait_for_owners(storage, 2, sweep)[0]
            os.kill(int(victim.user_attrs[OWNER].split(":")[1]), signal.SIGKILL)
            killed_at = datetime.now(UTC)
            out, err = sweep.communicate(timeout=600)
        finally:
            sweep.kill()
        assert sweep.returncode == 0, err[-3000:]
        assert "**Verdict:**" in out

        client = MlflowClient(server)
        check_finished_sweep(storage, client, 2, [victim])
        trials = [trial for trials in studies(storage).values() for trial in trials]
        failed = next(trial for trial in trials if trial._trial_id == victim._trial_id)
        retry = next(trial for trial in trials if trial.system_attrs.get("failed_trial") == victim.number
                     and trial.params == victim.params)
        print(f"stale trial failed {-seconds_since(failed.datetime_complete, killed_at):.1f} s and its retry "
              f"started {-seconds_since(retry.datetime_start, killed_at):.1f} s after the SIGKILL "
              "(heartbeat 1 s, grace 3 s)")
        assert retry.state == TrialState.COMPLETE

        assert PASSWORD not in out + err
        verdicts = list((tmp_path / "server" / "artifacts").rglob("verdict.json"))
        assert verdicts, "artifacts did not go through the server"
        experiment = client.get_experiment_by_name("gatelab-fraud")
        for run in client.search_runs([experiment.experiment_id], max_results=1000):
            assert PASSWORD not in str(run.data.params) + str(run.data.tags)
