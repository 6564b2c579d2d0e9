"""`--seeds auto`: selection seeds retrained in rounds up to sweep.max_seeds, and a max_seeds below 2 refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mlflow import MlflowClient


def test_auto_seeds_stop_at_max_seeds_when_the_precision_target_is_out_of_reach(tmp_path: Path, tiny_config) -> None:
    # a tie tolerance of 0 asks for an interval of width 0: never reached, so the rounds stop at max_seeds
    config = tiny_config(trials=1, epochs=1, sweep="max_seeds: 4, tie_tolerance: 0.0")
    store = tmp_path / "mlruns"
    command = [sys.executable, "-m", "gatelab.cli", "sweep", "--task", "fraud", "--config", str(config), "--store",
               str(store), "--seeds", "auto", "--progress", "false"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Seeds: seeds=auto: stopped at sweep.max_seeds=4" in result.stdout
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("gatelab-fraud").experiment_id
    runs = client.search_runs([experiment], max_results=100)
    selection = [run for run in runs if run.data.tags.get("gatelab.role") == "selection"]
    assert sorted(run.data.tags["gatelab.cell"] for run in selection) == ["gru"] * 4 + ["lstm"] * 4
    (parent,) = [run for run in runs if run.data.tags.get("gatelab.role") == "sweep"]
    report = json.loads(Path(client.download_artifacts(parent.info.run_id, "verdict.json", str(tmp_path))).read_text())
    verdict = report["verdict"]
    assert all(len(cell["seeds"]) == 4 for cell in verdict["cells"])
    comparison = verdict["comparisons"][0]
    assert comparison["detectable"] >= 0 and "Evidence: 4 seeds detect" in verdict["sentence"]
    for cell in verdict["cells"]:  # AUPRC's interval stays in [0, 1]
        interval = cell["intervals"]["test/auprc"]
        assert 0.0 <= interval["low"] <= interval["high"] <= 1.0


def test_max_seeds_below_two_is_refused_before_any_training(tmp_path: Path, tiny_config) -> None:
    config = tiny_config(sweep="max_seeds: 1")
    command = [sys.executable, "-m", "gatelab.cli", "sweep", "--task", "fraud", "--config", str(config), "--store",
               str(tmp_path / "mlruns"), "--seeds", "auto", "--progress", "false"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "sweep.max_seeds" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "mlruns" / "mlflow.db").exists()
