"""Gate telemetry's cost: its time at each epoch's end as a fraction of a training epoch (default fraud config).

Each round trains each cell twice with ``gatelab.train``, with and without ``GateTelemetry`` on 256
validation sequences, interleaved. Part of ``make bench``; alone: ``python -m benchmarks.gates [--quick]``.
"""

from __future__ import annotations

import statistics
import sys
import time

import lightning.pytorch as pl
from gatelab.training.callbacks import GateTelemetry
from gatelab.training.config import RunConfig
from gatelab.training.costs import interleaved
from gatelab.training.experiment import load_experiment
from gatelab.training.train import train

from benchmarks.common import Figure, ratio_figure

__all__ = ["gate_telemetry_cost"]

#: Validation sequences the telemetry runs on.
SAMPLE = 256


class _TimedTelemetry(GateTelemetry):
    """``GateTelemetry`` that keeps the wall seconds of each epoch's end (the summary itself is dropped)."""

    def __init__(self) -> None:
        super().__init__(SAMPLE, lambda epoch, summary: None)
        self.seconds: list[float] = []

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        start = time.perf_counter()
        super().on_train_epoch_end(trainer, pl_module)
        self.seconds.append(time.perf_counter() - start)


def _fit(run: RunConfig, telemetry: _TimedTelemetry | None, seconds_per_epoch: list[float] | None = None) -> float:
    """Wall seconds of one ``train`` call; its median training epoch goes to ``seconds_per_epoch`` if given."""
    start = time.perf_counter()
    metrics = train(run, [telemetry] if telemetry else [], test=False)
    seconds = time.perf_counter() - start
    if seconds_per_epoch is not None:
        seconds_per_epoch.append(metrics["seconds_per_epoch"])
    return seconds


def _cell_figures(cell: str, epochs: int, repeats: int, quick: bool) -> list[Figure]:
    """One cell's figures: ``repeats`` rounds of a run with telemetry and one without, interleaved."""
    fast = {"trainer.limit_train_batches": 5, "trainer.limit_eval_batches": 2} if quick else {}
    experiment = load_experiment("fraud", overrides={"trainer.max_epochs": epochs, "model.cell": cell} | fast)
    run = experiment.run()
    telemetry = _TimedTelemetry()  # one for all rounds: the sample is drawn in the first
    epoch_without: list[float] = []
    wall = interleaved({"with": lambda: _fit(run, telemetry), "without": lambda: _fit(run, None, epoch_without)},
                      repeats)
    per_run = [statistics.median(telemetry.seconds[first : first + epochs])
               for first in range(0, len(telemetry.seconds), epochs)]
    size = f"{cell.upper()} {experiment.model.hidden_size}, fraud default config, {SAMPLE} sequences, {epochs} epochs"
    return [
        ratio_figure(f"gates.{cell}_telemetry_fraction_of_epoch", per_run, epoch_without, below=0.02,
                     note=f"telemetry seconds per epoch / a training epoch's seconds without it; {size}"),
        Figure(f"gates.{cell}_telemetry_ms", 1000 * statistics.median(per_run), "ms",
               spread=(1000 * min(per_run), 1000 * max(per_run)), note="at each epoch's end"),
        Figure(f"gates.{cell}_training_epoch_ms", 1000 * statistics.median(epoch_without), "ms",
               spread=(1000 * min(epoch_without), 1000 * max(epoch_without)), note="without telemetry"),
        ratio_figure(f"gates.{cell}_run_with_vs_without_ratio", wall["with"], wall["without"],
                     note="whole train() wall time with telemetry / without (data set-up included)"),
    ]


def gate_telemetry_cost(quick: bool = False) -> list[Figure]:
    """The telemetry's seconds per epoch over a training epoch's (of the run without it in the same round),
    for LSTM and GRU at the config's size."""
    epochs, repeats = (1, 1) if quick else (4, 5)
    return [figure for cell in ("lstm", "gru") for figure in _cell_figures(cell, epochs, repeats, quick)]


if __name__ == "__main__":
    from benchmarks.run import table

    print(table(gate_telemetry_cost("--quick" in sys.argv[1:])))
