"""The shared fraud input cases through the real CLI: refused with one line and exit 2, or read right and run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.entities import ViewType

pytestmark = pytest.mark.e2e

CASES = Path(__file__).parents[1] / "fixtures" / "cases"
CONFIG = """
data:
  init_args:
    source:
      class_path: tasks.fraud.CsvSource
      init_args:
        path: {path}
        columns: {{card: card_number, timestamp: tx_time, amount: tx_amount, terminal: merchant_id, label: is_fraud}}
{settings}
    split: {{warmup_days: 5, train_days: 14, delay_days: 3, val_gap_days: 3, val_days: 7, test_gap_days: 0,
             test_days: 7}}
    history: 5
sweep: {{trials: 1, startup_trials: 1, pruner_startup_trials: 1}}
search_space:
  - {{name: model.hidden_size, type: int, low: 4, high: 8}}
  - {{name: optim.lr, type: float, low: 0.001, high: 0.01, log: true}}
"""


def sweep(tmp_path: Path, case: str, **settings: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run a tiny `gatelab sweep` on a case file with the given source settings; returns the process and its store."""
    lines = "".join(f"        {key}: {value}\n" for key, value in settings.items())
    config = tmp_path / f"{case}.yaml"
    config.write_text(CONFIG.format(path=CASES / f"{case}.csv", settings=lines.rstrip("\n")))
    store = tmp_path / "mlruns"
    command = [sys.executable, "-m", "gatelab.cli", "sweep", "--task", "fraud", "--config", str(config),
               "--trials", "1", "--epochs", "1", "--seeds", "0", "--store", str(store), "--progress", "false"]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600), store


def runs_recorded(store: Path) -> list[str]:
    """Statuses of the runs in the store that say a run is under way or done (RUNNING, FINISHED)."""
    database = store / "mlflow.db"
    if not database.exists():
        return []
    client = MlflowClient(f"sqlite:///{database}")
    experiments = [experiment.experiment_id for experiment in client.search_experiments(view_type=ViewType.ALL)]
    runs = client.search_runs(experiments, run_view_type=ViewType.ALL) if experiments else []
    return [run.info.status for run in runs if run.info.status in ("RUNNING", "FINISHED")]


@pytest.mark.parametrize(
    ("case", "refusal"),
    [("fraud_dayfirst_dates", "column 'tx_time' is not ISO 8601 (line 2: '01/03/2024 00:04:34': 1 March 2024 with "
                              "dayfirst: true, 3 January 2024 with dayfirst: false) and dates are never guessed; set "
                              "timestamp_format"),
     ("fraud_semicolon_decimal_comma", "the header reads as one column 'card_number;tx_time;tx_amount;merchant_id;"
                                       "is_fraud' with sep ','; the file looks ';'-separated: "
                                       "set sep: ';' on the source"),
     ("fraud_no_fraud_in_val", "split 'val' (2024-03-23..2024-03-29) has no fraud: 334 transactions, 0 frauds")],
)
def test_case_is_refused_before_anything_is_recorded(tmp_path: Path, case: str, refusal: str) -> None:
    result, store = sweep(tmp_path, case)
    assert result.returncode == 2, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("gatelab: error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert errors[0].startswith(f"gatelab: error: {CASES / case}.csv: {refusal}")
    assert runs_recorded(store) == []


def test_semicolon_case_runs_with_sep_and_decimal(tmp_path: Path) -> None:
    result, store = sweep(tmp_path, "fraud_semicolon_decimal_comma", sep="';'", decimal="','")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "search done" in result.stdout
    assert "FINISHED" in runs_recorded(store)
    assert result.stderr.count("gatelab: data: dropped_duplicates: 0\n") == 1  # said once per sweep
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    (parent,) = client.search_runs([client.get_experiment_by_name("gatelab-fraud").experiment_id],
                                   "tags.`gatelab.role` = 'sweep'")
    assert parent.data.params["data.dropped_duplicates"] == "0"
    assert parent.data.params["data.transactions"] == "4023"
