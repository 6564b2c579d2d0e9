"""A tiny real sweep's selection, verdict, report and registered models, read back as a user would."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
import mlflow.pytorch
import numpy as np
import pytest
import torch
from conftest import free_port, run_cli, stop_group
from gatelab.verdict import is_bounded
from mlflow import MlflowClient
from mlflow.models import Model
from scipy.special import expit, logit

PLOTS = {"validation_curves.png", "test_metric_per_seed.png", "metric_vs_latency.png", "optuna_history_lstm.png",
         "optuna_history_gru.png", "optuna_importances_lstm.png", "optuna_importances_gru.png",
         "gates_lstm_means.png", "gates_lstm_saturation.png", "gates_gru_means.png", "gates_gru_saturation.png",
         "budget_curves.png"}


def open_store(store: Path) -> tuple[MlflowClient, str, list]:
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("gatelab-fraud").experiment_id
    return client, experiment, client.search_runs([experiment], max_results=1000)


def parent_and_report(client: MlflowClient, runs: list, folder: Path) -> tuple:
    (parent,) = [run for run in runs if run.data.tags.get("gatelab.role") == "sweep"]
    path = client.download_artifacts(parent.info.run_id, "verdict.json", str(folder))
    return parent, json.loads(Path(path).read_text())


def test_report_files_agree_with_the_runs(tiny_sweep, tmp_path: Path) -> None:
    store, result = tiny_sweep
    client, _, runs = open_store(store)
    parent, report = parent_and_report(client, runs, tmp_path)
    verdict = report["verdict"]
    assert parent.info.status == "FINISHED" and parent.data.tags["gatelab.verdict"] == verdict["choice"]
    assert {verdict["choice"], verdict["runner_up"]} == {"lstm", "gru"}
    assert f"**Verdict:** {verdict['sentence']}" in result.stdout and "| LSTM" in result.stdout
    artifacts = {item.path for item in client.list_artifacts(parent.info.run_id)}
    assert {"verdict.md", "verdict.json", "report.html", "sweep_config.yaml", "plots"} <= artifacts
    assert {Path(item.path).name for item in client.list_artifacts(parent.info.run_id, "plots")} == PLOTS
    assert sorted(report["plots"]) == sorted(PLOTS)

    selection = [run for run in runs if run.data.tags.get("gatelab.role") == "selection"]
    assert len(selection) == 4 and all(run.info.status == "FINISHED" for run in selection)
    for cell in verdict["cells"]:
        seed_runs = [client.get_run(run_id) for run_id in cell["seed_runs"]]
        assert [run.data.tags["mlflow.parentRunId"] for run in seed_runs] == [parent.info.run_id] * 2
        assert [run.data.tags["gatelab.cell"] for run in seed_runs] == [cell["cell"]] * 2
        assert [int(run.data.tags["gatelab.seed"]) for run in seed_runs] == cell["seeds"]
        assert [run.data.tags["gatelab.trial"] for run in seed_runs] == [str(cell["best_trial"])] * 2
        for key, values in cell["test"].items():
            assert values == pytest.approx([run.data.metrics[key] for run in seed_runs])
            # scores in [0, 1]: the centre of the logit-scale interval, mapped back
            centre = expit(np.mean(logit(np.clip(values, 1e-6, 1 - 1e-6)))) if is_bounded(key) else np.mean(values)
            assert cell["intervals"][key]["mean"] == pytest.approx(centre)
            assert parent.data.metrics[f"{cell['cell']}.{key}.mean"] == pytest.approx(centre)
        assert cell["costs"]["params"] == seed_runs[0].data.metrics["params"]
        for key in ("macs", "peak_train_memory_mib", "seconds_to_best_epoch"):  # measured per seed
            assert cell["costs"][key] == pytest.approx(np.median([run.data.metrics[key] for run in seed_runs]))
            assert cell["costs"][key] > 0
        for key in ("latency_ms_batch1", "latency_ms_batch1024"):  # timed side by side, round by round
            interval = cell["cost_intervals"][key]
            assert interval["n"] == 30 and 0 < interval["low"] <= cell["costs"][key] <= interval["high"]
            assert not any(key in run.data.metrics for run in seed_runs)
        assert cell["costs"]["throughput_per_s"] == pytest.approx(1e3 / cell["costs"]["latency_ms_batch1024"])
        assert cell["costs"]["peak_inference_memory_mib"] > 0
        assert client.get_run(cell["run_id"]).data.metrics["best_val/auprc"] == pytest.approx(cell["best_val"])
        # the budget curve over the finished trials, from their values (pruned: their best reported value)
        trials = [run for run in runs if run.data.tags.get("gatelab.cell") == cell["cell"]
                  and run.data.tags.get("gatelab.role") != "selection"
                  and run.data.tags.get("gatelab.state") in ("complete", "pruned", "diverged")]
        curve = cell["budget"]
        assert curve["n"] == list(range(1, len(trials) - cell["budget_left_out"] + 1))
        assert max(curve["expected"]) == curve["expected"][-1] <= cell["best_val"] + 1e-9
        assert len(curve["spread"]) == len(curve["n"]) and all(spread >= 0 for spread in curve["spread"])
    assert report["selection_seconds"] > 0 and report["search_seconds"] > 0
    timed = json.loads(Path(client.download_artifacts(parent.info.run_id, "costs/side_by_side.json",
                                                      str(tmp_path))).read_text())
    assert timed["models"] == {cell["cell"]: cell["model_run"] for cell in verdict["cells"]}
    assert {(ratio["cell"], ratio["against"]) for ratio in verdict["cost_ratios"]} == {("lstm", "gru"), ("gru", "lstm")}
    words = {"cost": "cheaper by a distinguishable margin", "macs": "fewer multiply-accumulates per sequence wins",
             "equal": "the better mean is kept", "quality": "better beyond the seed noise"}
    assert words[verdict["rule"]] in verdict["sentence"]

    markdown = Path(client.download_artifacts(parent.info.run_id, "verdict.md", str(tmp_path))).read_text()
    page = Path(client.download_artifacts(parent.info.run_id, "report.html", str(tmp_path))).read_text()
    assert verdict["sentence"] in markdown and markdown in result.stdout
    note = next(line for line in markdown.splitlines() if line.startswith("Budget curves"))
    rising = "still rose over the last doubling of trials"
    assert (rising in note) == ("Budget: the expected best" in verdict["sentence"])
    assert page.count("data:image/png;base64,") == len(PLOTS) and "<table>" in page and "src='http" not in page
    assert not (store.parent / "mlflow.db").exists(), "the sweep wrote an MLflow store in its working folder"


def test_selection_runs_record_their_gates_every_epoch(tiny_sweep, tmp_path: Path) -> None:
    store, _ = tiny_sweep
    client, _, runs = open_store(store)
    selection = [run for run in runs if run.data.tags.get("gatelab.role") == "selection"]
    assert {run.data.tags["gatelab.cell"] for run in selection} == {"lstm", "gru"}
    for run in selection:
        epochs = int(run.data.metrics["epochs"])
        names = {Path(item.path).name for item in client.list_artifacts(run.info.run_id, "gates")}
        assert names == {f"epoch-{epoch}.json" for epoch in range(epochs)}
        summary = json.loads(Path(client.download_artifacts(run.info.run_id, "gates/epoch-0.json", str(tmp_path)))
                             .read_text())
        expected = {"lstm": {"input", "forget", "output"}, "gru": {"reset", "update"}}[run.data.tags["gatelab.cell"]]
        (layer,) = summary["layers"]
        assert set(layer["gates"]) == expected
        assert all(0.0 < gate["mean"] < 1.0 for gate in layer["gates"].values())


def test_the_champion_is_registered_and_loads_and_predicts(tiny_sweep, tmp_path: Path) -> None:
    store, _ = tiny_sweep
    client, _, runs = open_store(store)
    _, report = parent_and_report(client, runs, tmp_path)
    verdict = report["verdict"]
    by_cell = {cell["cell"]: cell for cell in verdict["cells"]}
    champion = client.get_model_version_by_alias("gatelab-fraud", "champion")
    assert champion.run_id == by_cell[verdict["choice"]]["model_run"]
    assert champion.tags["gatelab.role"] == "champion" and champion.tags["gatelab.cell"] == verdict["choice"]
    (runner,) = [version for version in client.search_model_versions("name = 'gatelab-fraud'")
                 if version.tags.get("gatelab.role") == "runner-up"]
    assert runner.run_id == by_cell[verdict["runner_up"]]["model_run"] and runner.version != champion.version

    mlflow.set_tracking_uri(f"sqlite:///{store / 'mlflow.db'}")  # as a user does; it also sets MLFLOW_TRACKING_URI
    try:
        model = mlflow.pytorch.load_model("models:/gatelab-fraud@champion")
        pyfunc = mlflow.pyfunc.load_model("models:/gatelab-fraud@champion")
        local = mlflow.artifacts.download_artifacts(champion.source, dst_path=str(tmp_path / "champion"))
    finally:
        mlflow.set_tracking_uri(None)  # unsets it again (conftest starts the tests without it)
    # The input example reads back in the signature's dtype, object (so that the server's check sees a posted
    # string as sent, docs/serving.md); the exported program takes it as float32.
    stored = Model.load(local).load_input_example(local)
    assert stored.shape[0] == 5 and stored.dtype == np.dtype(object)
    example = stored.astype(np.float32)
    probabilities = model(torch.from_numpy(example)).detach().numpy()
    assert probabilities.shape == (5,) and ((probabilities >= 0) & (probabilities <= 1)).all()
    assert np.asarray(pyfunc.predict(stored)) == pytest.approx(probabilities, abs=1e-6)
    assert pyfunc.metadata.get_input_schema().inputs[0].shape == (-1, *example.shape[1:])


def test_rerunning_the_report_is_idempotent(tiny_sweep, tmp_path: Path, capsys, monkeypatch) -> None:
    store, _ = tiny_sweep
    monkeypatch.chdir(tmp_path)
    client, _, runs = open_store(store)
    _, before = parent_and_report(client, runs, tmp_path / "before")
    versions = client.search_model_versions("name = 'gatelab-fraud'")

    code, out, err = run_cli(capsys, "report", "--task", "fraud", "--store", str(store), "--seeds", "2")
    assert code == 0, err[-3000:]
    client, _, runs_after = open_store(store)
    _, after = parent_and_report(client, runs_after, tmp_path / "after")
    assert len(runs_after) == len(runs), "the report retrained or created runs again"
    assert sorted(v.version for v in client.search_model_versions("name = 'gatelab-fraud'")) == \
        sorted(v.version for v in versions)
    assert after["verdict"] == before["verdict"] and after["versions"] == before["versions"]
    assert f"**Verdict:** {after['verdict']['sentence']}" in out
    assert not (tmp_path / "mlflow.db").exists(), "the report wrote an MLflow store in its working folder"


def trial_started(store: Path) -> bool:
    """Whether a trial run of the sweep exists, read from the SQLite file (MLflow may still be creating it)."""
    database = store / "mlflow.db"
    if not database.exists():
        return False
    query = "SELECT 1 FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid AND t.key = 'mlflow.parentRunId'"
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            return connection.execute(query).fetchone() is not None
    except sqlite3.OperationalError:
        return False


def test_report_explains_what_is_missing(tmp_path: Path, tiny_config, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "mlruns"
    report = ("report", "--task", "fraud", "--store", str(store))
    code, _, err = run_cli(capsys, *report)
    assert code == 2 and "no sweep of task 'fraud'" in err and "make sweep" in err

    config = str(tiny_config(trials=1, epochs=200, sweep="prune: false"))
    sweep = ("sweep", "--task", "fraud", "--config", config, "--store", str(store), "--progress", "false")
    process = subprocess.Popen([sys.executable, "-m", "gatelab.cli", *sweep], cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not trial_started(store) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        assert trial_started(store), "the sweep's first trial never started"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    code, _, err = run_cli(capsys, *report)
    assert code == 2 and "has no completed trial in any cell" in err and "LSTM has no completed trial" in err

    code, _, err = run_cli(capsys, *sweep, "--cells", "[lstm]", "--epochs", "1", "--seeds", "2")
    assert code == 2 and "completed trials for LSTM only" in err and "CELLS=" in err
    code, _, err = run_cli(capsys, *report)
    assert code == 2 and "completed trials for LSTM only" in err and "make report TASK=fraud SWEEP=" in err
    code, _, err = run_cli(capsys, *report, "--seeds", "1")
    assert code == 2 and "at least 2 seeds" in err


def test_dashboard_serves_the_sweeps_studies_on_localhost(tiny_sweep, tmp_path: Path) -> None:
    store, _ = tiny_sweep
    port = free_port()
    command = [sys.executable, "-m", "gatelab.cli", "dashboard", "--task", "fraud", "--store", str(store),
               "--port", str(port)]
    log = (tmp_path / "dashboard.log").open("w")
    server = subprocess.Popen(command, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, studies = time.monotonic() + 180, None
        while studies is None:
            assert server.poll() is None, (tmp_path / "dashboard.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "optuna-dashboard did not answer"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=2) as answer:
                    studies = json.load(answer)["study_summaries"]
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
    finally:
        stop_group(server, timeout=30)
        log.close()
    names = {study["study_name"] for study in studies}
    sweep = next(iter(names)).split("-")[1]
    assert names == {f"fraud-{sweep}-lstm", f"fraud-{sweep}-gru"}
    printed = (tmp_path / "dashboard.log").read_text()
    assert f"http://127.0.0.1:{port}/dashboard/studies/" in printed and f"sweep {sweep}'s studies" in printed
