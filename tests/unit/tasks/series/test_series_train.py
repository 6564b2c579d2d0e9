"""`gatelab train --task series` on a user's own long table: both problems train and score through the real CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_cli


def _user_config(tmp_path: Path, problem: str, extra: str) -> Path:
    rng = np.random.default_rng(3)
    rows = []
    for unit in range(16):
        kind = unit % 2
        for hour in range(36):
            wave = np.sin(hour / 6 * np.pi * (1 + kind)) + 0.1 * rng.standard_normal()
            rows.append({"unit": f"u{unit}", "hour": hour, "vibration": wave, "kind": "fast" if kind else "slow"})
    table = tmp_path / "units.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    config = tmp_path / f"{problem}.yaml"
    config.write_text(f"""data:
  init_args:
    source:
      class_path: tasks.series.LongTable
      init_args:
        path: {table}
        id_column: unit
        time_column: hour
        value_columns: [vibration]
        {"label_column: kind" if problem == "classification" else ""}
    problem: {problem}
{extra}""")
    return config


@pytest.mark.parametrize(("problem", "extra", "metrics"), [
    ("classification", "", ("test/accuracy", "test/macro_f1", "test/auroc")),
    ("forecasting", "    context: 12\n    horizon: 6\n    season: 12\n", ("test/mae", "test/rmse", "test/mase")),
])
def test_a_users_table_trains_for_either_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str], problem: str,
                                                 extra: str, metrics: tuple[str, ...]) -> None:
    config = _user_config(tmp_path, problem, extra)
    code, out, err = run_cli(capsys, "train", "--task", "series", "--config", f"[{config}]", "--epochs", "1",
                             "--store", str(tmp_path / "mlruns"))
    assert code == 0, err[-2000:]
    for metric in metrics:
        assert metric in out
    counts = "train_series" if problem == "classification" else "train_windows"
    assert f"gatelab: data: {counts}: " in out + err and "anchor" not in out + err  # baselines: in a sweep's verdict
