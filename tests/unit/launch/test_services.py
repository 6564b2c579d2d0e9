"""The commands that start a server: what they refuse before starting one (the servers themselves run in
tests/e2e/test_ui_command.py, test_serve.py and test_ui_browser.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gatelab.cli import COMMANDS
from gatelab.errors import ConfigError, MissingResultsError
from gatelab.launch import services

from tests.conftest import run_cli


def test_the_cli_runs_the_service_commands_of_the_launch_layer() -> None:
    assert {name: COMMANDS[name] for name in ("ui", "dashboard", "serve", "serve-bench")} == {
        "ui": services.ui_command, "dashboard": services.dashboard_command, "serve": services.serve_command,
        "serve-bench": services.serve_bench_command}


def test_ui_refuses_a_tracking_server_as_its_backend(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match="is a server, not a database: give --backend postgresql://"):
        services.ui_command(store=tmp_path / "mlruns", backend="http://mlflow.example:5000")
    code, out, err = run_cli(capsys, "ui", "--store", str(tmp_path / "mlruns"), "--backend", "http://h:5000")
    assert (code, out) == (2, "") and err.startswith("gatelab: error: the MLflow backend http://h:5000 is a server")


def test_serve_bench_without_a_champion_names_the_sweep_to_run(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(MissingResultsError, match="no champion model of task 'fraud'"):
        services.serve_bench_command(store=tmp_path / "mlruns", requests=1, seconds=1.0)
