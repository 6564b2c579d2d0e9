"""`gatelab claims` at the tiny budget, every rule, read back from MLflow as a user would (and resumed)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from conftest import run_cli
from mlflow import MlflowClient

from claims.evidence import VERDICTS


def test_every_rule_gets_a_verdict_an_interval_and_runs_that_hold_its_measurements(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    store, out = tmp_path / "mlruns", tmp_path / "claims"
    code, stdout, err = run_cli(capsys, "claims", "--budget", "tiny", "--store", str(store), "--out", str(out),
                                "--progress", "false")
    assert code == 0, err[-3000:]
    assert "estimate" in stdout and "| **R1** |" in stdout

    claims = json.loads((out / "claims.json").read_text())
    assert list(claims["rules"]) == [f"R{index}" for index in range(1, 9)]
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("gatelab-claims")
    parent = client.get_run(claims["run"])
    assert parent.info.experiment_id == experiment.experiment_id and parent.info.status == "FINISHED"
    for rule, entry in claims["rules"].items():
        assert entry["verdict"] in VERDICTS, rule
        for finding in entry["findings"]:
            effect = finding["effect"]
            assert all(math.isfinite(effect[key]) for key in ("estimate", "low", "high", "detectable")), finding
            assert effect["low"] <= effect["estimate"] <= effect["high"], finding
            runs = [client.get_run(run_id) for run_id in finding["runs"]]  # every linked run exists
            rule_run = runs[-1]
            assert rule_run.data.tags["mlflow.parentRunId"] == parent.info.run_id
            assert rule_run.data.tags["gatelab.rule"] == rule and rule_run.data.metrics, rule
            assert any(item.path == "findings.json" for item in client.list_artifacts(rule_run.info.run_id))
            for run in runs[:-1]:  # a sweep's parent run holds its verdict, a selection run its test metrics
                if run.data.tags.get("gatelab.role") == "sweep":
                    assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
                    assert run.data.tags["gatelab.verdict"] in ("lstm", "gru")
                else:
                    assert any(key.startswith("test/") for key in run.data.metrics), run.info.run_name

    # R3's counted figures and R5's measured latency ratio appear as numbers in the table.
    table = (out / "claims.md").read_text()
    r3 = claims["rules"]["R3"]["findings"]
    counted = {finding["effect"]["method"].split("(")[-1].rstrip(")"): finding for finding in r3
               if finding["effect"]["method"].startswith("exact")}
    assert set(counted) == {"parameters", "multiply-accumulates"}
    assert 0 < counted["parameters"]["effect"]["estimate"] < 1  # GRU has 3 gate blocks to LSTM's 4
    for name, value in counted["parameters"]["numbers"].items():  # counted: whole numbers, shown in full
        assert value == int(value) > 0 and f"{name} {int(value):,}" in table
    (target,) = [finding for finding in r3 if "training seconds until val/accuracy reaches" in finding["experiment"]]
    assert target["effect"]["method"] == "geometric mean over 2 seeds, t interval of the logs"
    assert "not reached within 20 steps (counted at the cap" in target["notes"]
    r5 = claims["rules"]["R5"]["findings"][0]["effect"]
    assert r5["null"] == 1 and f"{r5['estimate']:.4g} [{r5['low']:.4g}, {r5['high']:.4g}]" in table
    html = (out / "claims.html").read_text()
    assert html.count("data:image/png;base64,") == 8 and "src='http" not in html
    assert client.search_registered_models() == [], "claims sweeps register no model"

    # A re-run resumes: every rule is read back, nothing new is trained.
    before = len(client.search_runs([experiment.experiment_id], max_results=10000))
    code, stdout, err = run_cli(capsys, "claims", "--budget", "tiny", "--store", str(store), "--out", str(out),
                                "--progress", "false")
    assert code == 0, err[-3000:]
    assert "8 rules read back" in stdout
    assert len(client.search_runs([experiment.experiment_id], max_results=10000)) == before
    assert json.loads((out / "claims.json").read_text())["run"] == claims["run"]
