"""The command lines that join a sweep from another process: the config they read back, and options that
gatelab's own command line accepts as the same sweep."""

from __future__ import annotations

import sys
from pathlib import Path

from gatelab.cli import build_cli
from gatelab.launch.commands import sweep_command, write_sweep_config
from gatelab.pipeline import Sweep
from gatelab.training.experiment import load_experiment


def test_the_written_config_loads_back_as_the_same_experiment(tiny_config, tmp_path: Path) -> None:
    sweep = Sweep(load_experiment("fraud", [tiny_config()]), tmp_path / "mlruns", progress=False)
    path = write_sweep_config(sweep)
    assert path == tmp_path / "mlruns" / "sweeps" / f"fraud-{sweep.id}.yaml"
    again = load_experiment("fraud", [str(path)])
    assert again.dump() == sweep.experiment.dump()
    assert Sweep(again, tmp_path / "mlruns").id == sweep.id  # a worker joins this sweep, not a new one


def test_a_worker_and_the_finishing_sweep_get_options_the_cli_parses(tiny_config, tmp_path: Path) -> None:
    sweep = Sweep(load_experiment("fraud", [tiny_config()]), tmp_path / "mlruns", progress=False,
                  storage="postgresql://user:secret@db/optuna", heartbeat=7)
    config = write_sweep_config(sweep)
    worker = sweep_command(sweep, config, "worker", threads=3)
    finish = sweep_command(sweep, config, "sweep", threads=3)
    assert worker[:3] == finish[:3] == [sys.executable, "-m", "gatelab.cli"]
    assert "secret" not in " ".join(worker + finish)  # the storage URL goes in the environment, never on argv
    parsed = build_cli().parse_args(worker[3:])
    assert (parsed.command, parsed.worker.task, parsed.worker.config, parsed.worker.store, parsed.worker.heartbeat,
            parsed.worker.threads, parsed.worker.progress) == ("worker", "fraud", str(config), tmp_path / "mlruns",
                                                               7, 3, False)
    parsed = build_cli().parse_args(finish[3:])  # a sweep takes no --threads: none is given
    assert (parsed.command, parsed.sweep.config, parsed.sweep.heartbeat, parsed.sweep.workers) == \
        ("sweep", str(config), 7, 1)
    assert sweep_command(sweep, config, "worker")[-2:] == ["--progress", "false"]  # no threads: torch's choice
