"""The command lines that join a sweep from another process: a worker, or the job that finishes it and writes the
verdict."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from gatelab.pipeline import Sweep

__all__ = ["sweep_command", "write_sweep_config"]


def write_sweep_config(sweep: Sweep) -> Path:
    """The sweep's whole validated config as YAML under ``store/sweeps/``: other processes load it to join the sweep."""
    path = sweep.store / "sweeps" / f"{sweep.experiment.task}-{sweep.id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sweep.experiment.dump())
    return path


def sweep_command(sweep: Sweep, config: Path, subcommand: Literal["worker", "sweep"],
                  threads: int | None = None) -> list[str]:
    """``gatelab worker`` (run trials) or ``gatelab sweep`` (finish the budget, then the verdict) on ``sweep``.

    The storage URL is not on the command line: it goes in the environment (``GATELAB_STORAGE``).

    Args:
        sweep: the sweep to join.
        config: its config as ``write_sweep_config`` wrote it.
        subcommand: ``worker`` or ``sweep``.
        threads: torch threads of a worker; none: torch's own choice.
    """
    command = [sys.executable, "-m", "gatelab.cli", subcommand, "--task", sweep.experiment.task, "--config",
               str(config), "--store", str(sweep.store), "--heartbeat", str(sweep.heartbeat), "--progress", "false"]
    return command + (["--threads", str(threads)] if threads and subcommand == "worker" else [])
