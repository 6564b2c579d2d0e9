"""A tiny real physio sweep through the CLI on the fixture records, read back from MLflow; bad input via the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from gatelab.cli import main
from mlflow import MlflowClient

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mitdb"
TINY = f"""
data:
  init_args:
    path: {FIXTURES}
    cache_dir: {{cache}}
    split: {{{{train_records: [114, 200, 208, 232], val_records: [200], test_records: [210, 233]}}}}
    preprocess: {{{{downsample: 6, lowpass_hz: 25.0{{preprocess}}}}}}
trainer: {{{{max_epochs: 2}}}}
sweep: {{{{trials: 1, startup_trials: 1, pruner_startup_trials: 1}}}}
search_space:
  - {{{{name: model.hidden_size, type: int, low: 4, high: 8}}}}
  - {{{{name: optim.lr, type: float, low: 0.003, high: 0.01, log: true}}}}
"""
PER_CLASS = [f"test/{kind}_{cls}" for kind in ("se", "ppv") for cls in "NSVF"]


def sweep_args(tmp_path: Path, preprocess: str = "") -> list[str]:
    """`gatelab` arguments of a tiny physio sweep on the fixture records."""
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY.format(cache=tmp_path / "cache", preprocess=preprocess))
    return ["sweep", "--task", "physio", "--config", str(config), "--store", str(tmp_path / "mlruns"),
            "--progress", "false"]


def test_tiny_physio_sweep_logs_clinical_metrics_and_confusion_matrices(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "gatelab.cli", *sweep_args(tmp_path)]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "**Verdict:** Pick" in result.stdout
    assert "Downloading artifacts" not in result.stdout + result.stderr  # MLflow's bars for what the report reads
    header = next(line for line in result.stdout.splitlines() if line.startswith("| cell"))
    assert all(key in header for key in ("val macro_f1", "test/accuracy", "test/macro_f1", *PER_CLASS))

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("gatelab-physio")
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    (parent,) = [run for run in runs if run.data.tags.get("gatelab.role") == "sweep"]
    children = [run for run in runs if run.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    trials = [run for run in children if run.data.tags.get("gatelab.role") not in ("selection", "baseline")]
    assert sorted(run.data.tags["gatelab.cell"] for run in trials) == ["gru", "lstm"]
    for child in trials:  # a trial sees the validation split only
        assert not any(key.startswith("test/") for key in child.data.metrics), "a trial scored the test split"
    selection = [run for run in children if run.data.tags.get("gatelab.role") == "selection"]
    assert selection and all(run.data.tags["gatelab.state"] == "complete" for run in selection)
    for child in selection:  # each selection seed scores the test split once
        assert {"test/macro_f1", "test/accuracy", "best_val/macro_f1", *PER_CLASS} <= set(child.data.metrics)
        assert not any("confmat" in key for key in child.data.metrics)  # a matrix is a figure, not a metric
        assert [item.path for item in client.list_artifacts(child.info.run_id, "figures")] == \
            ["figures/confusion_matrix.png"]
        assert len(client.get_metric_history(child.info.run_id, "val/macro_f1")) == 2

    verdict = json.loads(Path(client.download_artifacts(parent.info.run_id, "verdict.json",
                                                        str(tmp_path))).read_text())["verdict"]
    for cell in verdict["cells"]:
        assert set(PER_CLASS) <= set(cell["intervals"])
        png = tmp_path / "parent" / cell["cell"]
        png.mkdir(parents=True)
        copied = Path(client.download_artifacts(parent.info.run_id, f"figures/{cell['cell']}/confusion_matrix.png",
                                                str(png)))
        assert copied.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(list((tmp_path / "cache").glob("beats-*.npz"))) == 1
    # logging figures used the client only: nothing (no ./mlflow.db, no ./mlruns) in the working folder
    assert {path.name for path in tmp_path.iterdir()} == {"tiny.yaml", "mlruns", "cache", "verdict.json", "parent"}


@pytest.mark.parametrize(("preprocess", "message"), [
    (", leads: [V5]", r"record 200: no lead 'V5'; it has \['MLII', 'V1'\]"),
    (", before_s: 70.0", r"record 114: the beat window .* longer than the record"),
])
def test_bad_input_stops_the_cli_with_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                     preprocess: str, message: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(sweep_args(tmp_path, preprocess))
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("gatelab: error: ") and re.search(message, error), error
    assert not (tmp_path / "mlruns" / "mlflow.db").exists()  # stopped before any run was recorded
