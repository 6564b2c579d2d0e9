"""Selection: each cell's best configuration retrained on several seeds, each run scored on the test split once.

The search picks one configuration per cell on the validation split. Selection retrains that
configuration with ``count`` fresh seeds (never the trials' own seeds), the same seeds for every
cell, so that runs pair up by seed (same initialisation seed, same shuffling order). Each run is a
child run of the sweep (role ``selection``) holding its model and the costs of its training (time, peak
memory) and of its shape (parameters, multiply-accumulates); the inference timings are measured later,
every cell's model side by side (``gatelab.training.costs.side_by_side``).

A task with ``test_per_fold`` (prequential evaluation) is trained and tested on each of its test folds
within the seed's run: the run records each test metric's mean over the folds (``test/<m>``), each
fold's value (``fold<k>/test/<m>``) and their spread (``fold_std/test/<m>``); its model is the lead
fold 0's. Another task's seed trains on fold 0 and scores the one test split once
(``gatelab.training.folds.fold_runs``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import lightning.pytorch as pl
import optuna
import torch

from gatelab.models.gates import GATES
from gatelab.search.context import SweepContext
from gatelab.tracking import tags as tag
from gatelab.tracking.client import run_params
from gatelab.tracking.lifecycle import tracked_run
from gatelab.tracking.loggers import GateSummaryLogger, run_loggers
from gatelab.tracking.model_registry import EXAMPLE_ROWS, Scorer, save_model
from gatelab.training.callbacks import GateTelemetry
from gatelab.training.config import with_overrides
from gatelab.training.costs import device_name, macs_per_sequence, peak_memory, run_device
from gatelab.training.folds import fold_prefix, fold_runs, fold_summary
from gatelab.training.module import TaskModule
from gatelab.training.train import train

__all__ = ["SEED_OFFSET", "SeedRun", "retrain", "selection_seeds"]

#: Selection seeds start here, above the trials' seeds (``seed + trial number``), so no model is reused.
SEED_OFFSET = 10_000
#: Validation sequences whose gate activations each selection run records per epoch (cells with gates).
GATE_SAMPLE = 256


def selection_seeds(sweep_seed: int, count: int) -> list[int]:
    """The seeds a sweep's selection retrains with: the same for every cell, so runs pair up by seed."""
    if count < 2:
        raise ValueError(f"selection needs at least 2 seeds to measure seed noise, got {count}")
    return [SEED_OFFSET + sweep_seed + index for index in range(count)]


@dataclass
class SeedRun:
    """One retraining of a cell's best configuration: its MLflow run and everything it measured."""

    seed: int
    run_id: str
    metrics: dict[str, float]
    device: str


class _Capture(pl.Callback):
    """Keeps the trained module and its device at the end of testing (Lightning moves it to the CPU later)."""

    module: TaskModule
    device: torch.device

    def on_test_end(self, trainer: pl.Trainer, pl_module: TaskModule) -> None:
        self.module, self.device = pl_module, pl_module.device


def retrain(context: SweepContext, cell: str, trial: optuna.trial.FrozenTrial, seeds: Sequence[int]) -> list[SeedRun]:
    """Retrain ``trial``'s configuration of ``cell`` once per seed, each as a child run of the sweep.

    A seed whose run finished before (an earlier sweep or report) is read back, not retrained, so
    re-running the report repeats nothing. Each run holds its config, per-epoch metrics, the test
    metrics of its best validation epoch, its measured costs, and the trained model (``model``).
    """
    done = {run.data.tags[tag.SEED]: run for run in context.tracker.children(context.parent)
            if run.data.tags.get(tag.ROLE) == tag.ROLE_SELECTION and run.info.status == "FINISHED"
            and run.data.tags.get(tag.CELL) == cell and run.data.tags.get(tag.TRIAL) == str(trial.number)}
    results = []
    for seed in seeds:
        if str(seed) in done:
            run = done[str(seed)]
            results.append(SeedRun(seed, run.info.run_id, dict(run.data.metrics), run.data.tags[tag.DEVICE]))
        else:
            results.append(_retrain_one(context, cell, trial, seed))
    return results


def _retrain_one(context: SweepContext, cell: str, trial: optuna.trial.FrozenTrial, seed: int) -> SeedRun:
    """One seed's run: train and score the test split (each test fold's, for a task with ``test_per_fold``), count
    and measure its costs, save the model (the lead fold 0's)."""
    cfg = with_overrides(context.parser, context.cfg, {**trial.params, "model.cell": cell, "seed": seed})
    runs = fold_runs(context.parser, cfg, test=True)
    tags = context.tags(cell, trial.number, seed) | {tag.ROLE: tag.ROLE_SELECTION}
    tracker = context.tracker
    with tracked_run(tracker, f"{cell}-seed-{seed}", tags, run_params(cfg), parent=context.parent) as run_id:
        tracker.client.log_text(run_id, context.parser.dump(cfg), "config.yaml")
        per_fold, lead = [], _Capture()
        with peak_memory(run_device(runs[0].trainer.accelerator)) as peak:
            for fold, run_cfg in enumerate(runs):
                extra = [lead, *([GateTelemetry(GATE_SAMPLE, GateSummaryLogger(tracker, run_id))]
                                 if cell in GATES else [])] if fold == 0 else []
                shown = f"{cell} seed {seed}" + (f" fold {fold}" if len(runs) > 1 else "")
                per_fold.append(train(run_cfg, [*extra, *run_loggers(tracker, run_id, fold_prefix(fold))],
                                      progress_name=shown if context.progress else None, test=True))
        metrics = fold_summary(per_fold)
        sequences = next(iter(runs[0].data.test_dataloader()))["x"]
        macs = macs_per_sequence(Scorer(lead.module).cpu().eval(), sequences.cpu())
        metrics |= {"peak_train_memory_mib": peak.mib, "macs": macs}
        save_model(tracker, run_id, lead.module, sequences[:EXAMPLE_ROWS])
        device = f"{lead.device.type}: {device_name(lead.device)}"
        tracker.log_metrics(run_id, metrics)
        tracker.set_tags(run_id, {tag.DEVICE: device, tag.MEMORY: peak.kind})
    return SeedRun(seed, run_id, metrics, device)
