"""The command line: help and bad options answer without the engine's heavy imports; mistakes are one line, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gatelab.cli import COMMANDS

from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "lightning", "mlflow", "optuna", "gatelab.pipeline", "gatelab.training.config", "claims.run")
#: gatelab's commands and the claims application's (found through its entry point, pyproject.toml).
ALL_COMMANDS = [*COMMANDS, "claims"]


def imported_after(code: str) -> dict[str, Any]:
    """Run ``code`` (which may exit) in a fresh interpreter: its exit code and which of ``HEAVY`` it imported."""
    program = (f"import json, sys\ntry:\n    {code}\nexcept SystemExit as stop:\n    code = stop.code\nelse:\n"
               f"    code = 0\nprint(json.dumps({{'code': code, 'heavy': [name for name in {HEAVY!r} "
               "if name in sys.modules]}))")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, timeout=120)
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("argv", [[], *[[name] for name in ALL_COMMANDS]])
def test_help_imports_none_of_torch_lightning_mlflow_or_the_engine(argv: list[str]) -> None:
    result = imported_after(f"from gatelab.cli import main; main({[*argv, '--help']!r})")
    assert result == {"code": 0, "heavy": []}


@pytest.mark.parametrize("argv", [["sweep", "--trials", "0"], ["claims", "--progress", "maybe"],
                                  ["claims", "--budgett", "tiny"]])
def test_a_bad_option_is_refused_before_any_heavy_import(argv: list[str]) -> None:
    result = imported_after(f"from gatelab.cli import main; main({argv!r})")
    assert result == {"code": 2, "heavy": []}


@pytest.mark.parametrize("command", ["sweep", "train"])
def test_a_config_mistake_answers_before_mlflow_or_the_pipeline_is_imported(tmp_path: Path, command: str) -> None:
    """The config is checked against the task's options class: no torch, Lightning, tracking or sweep."""
    (tmp_path / "mine.yaml").write_text("model: {hidden_size: 0}\n")
    argv = [command, "--task", "fraud", "--config", str(tmp_path / "mine.yaml"), "--store", str(tmp_path / "store")]
    result = imported_after(f"from gatelab.cli import main; main({argv!r})")
    assert result["code"] == 2 and not {"torch", "lightning", "mlflow", "gatelab.pipeline"} & set(result["heavy"])


def test_a_worker_binds_to_its_launcher_before_importing_torch() -> None:
    """``die_with_launcher`` runs first in a worker: its module must not take seconds of imports to reach."""
    result = imported_after("import gatelab.launch.local")
    assert result == {"code": 0, "heavy": []}


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["sweep", "--epochs", "0"], "--epochs: 0 must be > 0 (PositiveInt) (options: `gatelab sweep --help`)"),
        (["train", "--epochs", "-2"], "--epochs: -2 must be > 0 (PositiveInt) (options: `gatelab train --help`)"),
        (["worker", "--devices", "two"], "--devices: expected PositiveInt, got two (options: `gatelab worker --help`)"),
        (["sweep", "--seeds", "many"], "--seeds: expected int or 'auto', got many (options: `gatelab sweep --help`)"),
        (["sweep", "--launcher", "slurrm"], "--launcher: 'slurrm' is not one of local, slurm; did you mean slurm? "
                                            "(options: `gatelab sweep --help`)"),
        (["report", "--sweeps", "abc"], "unrecognized arguments: --sweeps abc; did you mean --sweep? (options: "
                                        "`gatelab report --help`)"),
        (["trian"], "unknown command 'trian'; did you mean train? (commands: `gatelab --help`)"),
    ],
)
def test_a_bad_command_line_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str],
                                                   line: str) -> None:
    code, out, err = run_cli(capsys, *argv)
    assert (code, out, err) == (2, "", f"gatelab: error: {line}\n")


@pytest.mark.parametrize("command", ["sweep", "train", "worker"])
def test_a_config_mistake_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, command: str) -> None:
    """Through the real command: the bad key is named with its file, and the store is never created (no MLflow
    run, no study, no journal)."""
    (tmp_path / "mine.yaml").write_text("data: {init_args: {batch_sise: 64}}\n")
    store = tmp_path / "store"
    done = subprocess.run([sys.executable, "-m", "gatelab.cli", command, "--task", "fraud", "--config", "mine.yaml",
                           "--store", str(store)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "gatelab: error: mine.yaml: data.init_args.batch_sise: unknown option; did you mean " \
                          "batch_size?\n"
    assert not store.exists()


def test_a_bad_search_space_exits_2_before_data_or_store(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text("search_space: [{name: model.dropout, type: float, low: 0.1, high: 0.6, "
                                        "step: 0.2}]\n")
    store = tmp_path / "store"
    done = subprocess.run([sys.executable, "-m", "gatelab.cli", "sweep", "--task", "fraud", "--config", "mine.yaml",
                           "--store", str(store)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 2
    assert done.stderr == ("gatelab: error: mine.yaml: search_space[model.dropout]: the range 0.1..0.6 is not a whole "
                           "number of steps of 0.2, and Optuna would narrow it to 0.1..0.5: set high: 0.5 (or "
                           "another step).\n")
    assert not store.exists()
