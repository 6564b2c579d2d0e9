"""Selection: each cell's best configuration retrained on several seeds, and the statistics over those seeds.

The search picks one configuration per cell on the validation split. Selection retrains that
configuration with ``count`` fresh seeds (never the trials' own seeds), scores each model on the
test split, and summarises the seeds: the mean and a Student-t interval per cell, and a paired
comparison between cells (seed ``i`` of one cell against seed ``i`` of the other, so both see the
same initialisation seed and the same shuffling order).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import lightning.pytorch as pl
import numpy as np
import optuna
import torch
from scipy import stats

from gatelab.config import RunConfig, instantiate_run, with_overrides
from gatelab.costs import device_name, inference_costs, peak_memory
from gatelab.registry import EXAMPLE_ROWS, Scorer, save_model
from gatelab.tracking import ROLE_TAG, run_loggers, run_params
from gatelab.train import train

if TYPE_CHECKING:
    from gatelab.sweep import Sweep

__all__ = ["SEED_OFFSET", "SELECTION_ROLE", "Interval", "Paired", "SeedRun", "mean_interval", "paired_comparison",
           "retrain", "selection_seeds"]

#: Selection seeds start here, above the trials' seeds (``seed + trial number``), so no model is reused.
SEED_OFFSET = 10_000
#: The ``gatelab.role`` tag of a selection run (a retraining of a cell's best configuration).
SELECTION_ROLE = "selection"


def selection_seeds(sweep_seed: int, count: int) -> list[int]:
    """The seeds a sweep's selection retrains with: the same for every cell, so runs pair up by seed."""
    if count < 2:
        raise ValueError(f"selection needs at least 2 seeds to measure seed noise, got {count}")
    return [SEED_OFFSET + sweep_seed + index for index in range(count)]


@dataclass(frozen=True)
class Interval:
    """A mean over ``n`` seeds with its two-sided confidence interval ``[low, high]``."""

    mean: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.4f} [{self.low:.4f}, {self.high:.4f}]"


@dataclass(frozen=True)
class Paired:
    """A paired comparison of two cells over the same seeds: ``difference`` is first minus second.

    ``distinguishable`` is True when the two-sided paired t-test rejects "no difference" at
    ``1 - confidence`` (equivalently: the difference's interval excludes zero).
    """

    difference: Interval
    statistic: float
    p_value: float
    confidence: float
    test: str = "paired t-test"

    @property
    def distinguishable(self) -> bool:
        return self.p_value < 1.0 - self.confidence


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """The mean of ``values`` and its Student-t confidence interval (``n - 1`` degrees of freedom).

    Raises:
        ValueError: fewer than two values (no spread, so no interval).
    """
    data = np.asarray(values, dtype=float)
    if data.size < 2:
        raise ValueError(f"an interval needs at least 2 values, got {data.size}")
    mean = float(data.mean())
    half = float(stats.t.ppf(0.5 + confidence / 2, data.size - 1)) * float(data.std(ddof=1)) / math.sqrt(data.size)
    return Interval(mean, mean - half, mean + half, int(data.size))


def paired_comparison(first: Sequence[float], second: Sequence[float], confidence: float = 0.95) -> Paired:
    """Paired t-test of ``first - second`` over seeds, with the difference's confidence interval.

    Identical differences on every seed (no spread) are distinguishable unless they are all zero.

    Raises:
        ValueError: the two sequences differ in length or hold fewer than two pairs.
    """
    a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired values need the same seeds: {a.size} vs {b.size} values")
    differences = a - b
    interval = mean_interval(differences, confidence)
    spread = float(differences.std(ddof=1))
    if spread == 0.0:
        statistic = 0.0 if interval.mean == 0.0 else math.copysign(math.inf, interval.mean)
        p_value = 1.0 if interval.mean == 0.0 else 0.0
    else:
        statistic = interval.mean / (spread / math.sqrt(differences.size))
        p_value = float(2 * stats.t.sf(abs(statistic), differences.size - 1))
    return Paired(interval, statistic, p_value, confidence)


@dataclass
class SeedRun:
    """One retraining of a cell's best configuration: its MLflow run and everything it measured."""

    seed: int
    run_id: str
    metrics: dict[str, float]
    device: str


class _Capture(pl.Callback):
    """Keeps the trained module and its device at the end of testing (Lightning moves it to the CPU later)."""

    module: pl.LightningModule
    device: torch.device

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.module, self.device = pl_module, pl_module.device


def _training_device(cfg: RunConfig) -> torch.device:
    """The device Lightning trains on, as far as the peak-memory measurement needs it."""
    gpu = cfg.trainer.accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()
    return torch.device("cuda", torch.cuda.current_device()) if gpu else torch.device("cpu")


def retrain(sweep: Sweep, cell: str, trial: optuna.trial.FrozenTrial, seeds: Sequence[int]) -> list[SeedRun]:
    """Retrain ``trial``'s configuration of ``cell`` once per seed, each as a child run of the sweep.

    A seed whose run finished before (an earlier sweep or report) is read back, not retrained, so
    re-running the report repeats nothing. Each run holds its config, per-epoch metrics, the test
    metrics of its best validation epoch, its measured costs, and the trained model (``model``).
    """
    done = {run.data.tags["gatelab.seed"]: run for run in sweep.tracker.children(sweep.parent)
            if run.data.tags.get(ROLE_TAG) == SELECTION_ROLE and run.info.status == "FINISHED"
            and run.data.tags.get("gatelab.cell") == cell and run.data.tags.get("gatelab.trial") == str(trial.number)}
    results = []
    for seed in seeds:
        if str(seed) in done:
            run = done[str(seed)]
            results.append(SeedRun(seed, run.info.run_id, dict(run.data.metrics), run.data.tags["gatelab.device"]))
        else:
            results.append(_retrain_one(sweep, cell, trial, seed))
    return results


def _retrain_one(sweep: Sweep, cell: str, trial: optuna.trial.FrozenTrial, seed: int) -> SeedRun:
    """One seed's run: train, measure the costs on the training device, save the model."""
    cfg = with_overrides(sweep.parser, sweep.cfg, {**trial.params, "model.cell": cell, "seed": seed})
    run_cfg = instantiate_run(sweep.parser, cfg)
    tags = sweep._tags(cell, trial.number, seed) | {ROLE_TAG: SELECTION_ROLE}
    run_id = sweep.tracker.start_run(f"{cell}-seed-{seed}", tags, run_params(cfg), parent=sweep.parent)
    sweep.tracker.client.log_text(run_id, sweep.parser.dump(cfg), "config.yaml")
    capture = _Capture()
    try:
        with peak_memory(_training_device(run_cfg)) as peak:
            metrics = train(run_cfg, [capture, *run_loggers(sweep.tracker, run_id)],
                            progress_name=f"{cell} seed {seed}" if sweep.progress else None)
        sequences = next(iter(run_cfg.data.test_dataloader()))["x"]
        metrics |= {"peak_train_memory_mib": peak.mib}
        metrics |= inference_costs(Scorer(capture.module), sequences, capture.device)
        save_model(sweep.tracker, run_id, capture.module, sequences[:EXAMPLE_ROWS])
    except BaseException:
        sweep.tracker.end_run(run_id, "FAILED" if isinstance(sys.exc_info()[1], Exception) else "KILLED")
        raise
    device = f"{capture.device.type}: {device_name(capture.device)}"
    sweep.tracker.log_metrics(run_id, metrics)
    sweep.tracker.set_tags(run_id, {"gatelab.device": device, "gatelab.memory": peak.kind, "gatelab.state": "complete"})
    sweep.tracker.end_run(run_id, "FINISHED")
    return SeedRun(seed, run_id, metrics, device)
