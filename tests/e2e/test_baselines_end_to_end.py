"""A tiny real fraud sweep's baselines, read back as a user would: their rows in the report, their sentence in the
verdict, their runs in MLflow (role ``baseline``, one per baseline and seed), never a registered model."""

from __future__ import annotations

import json
from pathlib import Path

from mlflow import MlflowClient

BASELINES = ("logistic regression", "gradient-boosted trees")


def test_the_baselines_are_beside_the_cells_in_the_report_and_in_mlflow(tiny_sweep, tmp_path: Path) -> None:
    store, result = tiny_sweep
    for name in BASELINES:
        assert f"| {name} (baseline) | - | - | " in result.stdout

    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("gatelab-fraud")
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    (parent,) = [run for run in runs if run.data.tags.get("gatelab.role") == "sweep"]
    fits = [run for run in runs if run.data.tags.get("gatelab.role") == "baseline"]
    seeds = {run.data.tags["gatelab.seed"] for run in runs if run.data.tags.get("gatelab.role") == "selection"}
    assert sorted((run.data.tags["gatelab.baseline"], run.data.tags["gatelab.seed"]) for run in fits) == sorted(
        (name, seed) for name in BASELINES for seed in seeds)
    for run in fits:
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id and run.info.status == "FINISHED"
        assert run.data.tags["gatelab.cell"] == "-" and run.data.tags["gatelab.trial"] == "-"
        assert {"test/auprc", "test/auroc", "test/card_precision_at_10", "fit_seconds"} <= set(run.data.metrics)
        assert not client.list_artifacts(run.info.run_id)  # no model: nothing to register or serve
    registered = {version.run_id for version in client.search_model_versions("name = 'gatelab-fraud'")}
    assert registered and not registered & {run.info.run_id for run in fits}

    report = json.loads(Path(client.download_artifacts(parent.info.run_id, "verdict.json", str(tmp_path))).read_text())
    verdict = report["verdict"]
    assert [baseline["name"] for baseline in verdict["baselines"]] == list(BASELINES)
    by_name = {run.info.run_id: run for run in fits}
    for baseline in verdict["baselines"]:
        values = [by_name[run_id].data.metrics["test/auprc"] for run_id in baseline["seed_runs"]]
        assert baseline["test"]["test/auprc"] == values and len(values) == len(seeds)
        name = "baseline." + baseline["name"].replace(" ", "_").replace("-", "_")
        assert parent.data.metrics[f"{name}.test/auprc.mean"] == baseline["intervals"]["test/auprc"]["mean"]
    assert {found["cell"] for found in verdict["baseline_comparisons"]} == {cell["cell"] for cell in verdict["cells"]}
    sentence, choice = verdict["sentence"], verdict["choice"]
    assert f"**Verdict:** {sentence}" in result.stdout
    chosen = next(found for found in verdict["baseline_comparisons"] if found["cell"] == choice)
    assert f"difference {choice.upper()} - {chosen['baseline']} " in sentence
    assert ("beats the best baseline" in sentence) == chosen["beaten"]
    page = Path(client.download_artifacts(parent.info.run_id, "report.html", str(tmp_path))).read_text()
    assert all(f"<td>{name} (baseline)</td>" in page for name in BASELINES)
