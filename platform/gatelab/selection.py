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

``select`` retrains every search's best configurations (a sweep's, or each search repeat's of a group) on a given
number of seeds, or with ``auto`` in rounds until the two best cells are resolved to the tie tolerance;
``measure_side_by_side`` times the chosen models of the cells in this process (``gatelab.training.costs``).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import optuna
import torch

from gatelab.models.gates import GATES
from gatelab.search.context import SweepContext
from gatelab.settings import DEFAULT_SEEDS, Seeds
from gatelab.stats import paired_comparison, seeds_for_width
from gatelab.tracking import tags as tag
from gatelab.tracking.client import run_params
from gatelab.tracking.lifecycle import tracked_run
from gatelab.tracking.loggers import GateSummaryLogger, run_loggers
from gatelab.tracking.model_registry import EXAMPLE_ROWS, Scorer, load_saved_model, save_model
from gatelab.training.callbacks import GateTelemetry
from gatelab.training.costs import SideBySide, device_name, macs_per_sequence, peak_memory, run_device, side_by_side
from gatelab.training.folds import fold_prefix, fold_runs, fold_summary
from gatelab.training.module import TaskModule
from gatelab.training.train import train

__all__ = ["SEED_OFFSET", "SIDE_BY_SIDE_ARTIFACT", "Search", "SeedRun", "measure_side_by_side", "retrain", "select",
           "selection_seeds", "test_metric"]

#: Selection seeds start here, above the trials' seeds (``seed + trial number``), so no model is reused.
SEED_OFFSET = 10_000
#: The parent run's artifact holding the side-by-side timings of the cells' models.
SIDE_BY_SIDE_ARTIFACT = "costs/side_by_side.json"
#: Validation sequences whose gate activations each selection run records per epoch (cells with gates).
GATE_SAMPLE = 256


def test_metric(objective: str) -> str:
    """The objective's metric on the test split (``val/auprc`` -> ``test/auprc``)."""
    return "test/" + objective.split("/", 1)[-1]


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

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not isinstance(pl_module, TaskModule):
            raise TypeError(f"a selection run trains a TaskModule, not a {type(pl_module).__name__}")
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
    experiment = context.experiment.with_overrides({**trial.params, "model.cell": cell, "seed": seed})
    runs = fold_runs(experiment, test=True)
    tags = context.tags(cell, trial.number, seed) | {tag.ROLE: tag.ROLE_SELECTION}
    tracker = context.tracker
    with tracked_run(tracker, f"{cell}-seed-{seed}", tags, run_params(experiment), parent=context.parent) as run_id:
        tracker.client.log_text(run_id, experiment.dump(), "config.yaml")
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


@dataclass(frozen=True)
class Search:
    """One finished search as its selection sees it: the opened sweep's context and each cell's best trial."""

    context: SweepContext
    best: Mapping[str, optuna.trial.FrozenTrial]


def _retrain_all(searches: Sequence[Search], count: int) -> dict[str, list[SeedRun]]:
    """Each cell's best trial of every search retrained on ``count`` selection seeds, as children of that search's
    parent run; per cell the runs in order (search, seed)."""
    seeds = selection_seeds(searches[0].context.experiment.seed, count)
    return {cell: [run for search in searches for run in retrain(search.context, cell, search.best[cell], seeds)]
            for cell in searches[0].best}


def select(searches: Sequence[Search], seeds: Seeds, confidence: float = 0.95) -> tuple[dict[str, list[SeedRun]], str]:
    """Retrain every search's best configurations on ``seeds`` seeds, or with ``auto`` in rounds (``_until_precise``).

    Returns:
        Each cell's runs, and how the seeding went, in words.
    """
    if seeds == "auto":
        return _until_precise(searches, confidence)
    return _retrain_all(searches, int(seeds)), f"{seeds} seeds, as given"


def _until_precise(searches: Sequence[Search], confidence: float) -> tuple[dict[str, list[SeedRun]], str]:
    """``--seeds auto``: retrain in rounds until the paired interval between the best cell and the runner-up
    is narrower than twice the tie tolerance, or ``sweep.max_seeds`` is reached.

    The target is a precision fixed in advance, never "until the difference is significant" (stopping
    at significance inflates false differences). The first round has ``DEFAULT_SEEDS`` seeds; each
    next round goes to the seeds the spread seen so far says the target needs (at least one more).
    """
    context = searches[0].context
    settings = context.experiment.sweep
    limit, target = settings.max_seeds, 2 * settings.tie_tolerance
    metric = test_metric(context.objective)
    count = min(DEFAULT_SEEDS, limit)
    while True:
        runs = _retrain_all(searches, count)
        values = {cell: [run.metrics[metric] for run in cell_runs] for cell, cell_runs in runs.items()}
        first, second = sorted(values, key=lambda cell: sum(values[cell]), reverse=context.direction == "maximize")[:2]
        interval = paired_comparison(values[first], values[second], confidence).difference
        width = interval.high - interval.low
        if width < target:
            return runs, (f"seeds=auto: {count} seeds; the paired interval of {first.upper()} and "
                          f"{second.upper()} is {width:.3g} wide, narrower than twice the tie tolerance")
        if count >= limit:
            return runs, (f"seeds=auto: stopped at sweep.max_seeds={limit}; the paired interval of "
                          f"{first.upper()} and {second.upper()} is still {width:.3g} wide, not narrower than "
                          f"twice the tie tolerance ({target:.3g})")
        spread = float(np.std(np.subtract(values[first], values[second]), ddof=1))
        count = min(limit, max(count + 1, seeds_for_width(spread, target, confidence)))
        if context.progress:
            print(f"gatelab: seeds=auto: the paired interval is {width:.3g} wide; retraining up to {count} seeds",
                  file=sys.stderr, flush=True)


def measure_side_by_side(context: SweepContext, models: Mapping[str, str]) -> SideBySide:
    """The timings of the cells' models (``{cell: run}``), measured side by side in this process on the
    first one's saved input example, in the exported form that is registered; read back from the
    parent run when these very models were timed before, so that a report made again decides alike."""
    client = context.tracker.client
    if client.list_artifacts(context.parent, SIDE_BY_SIDE_ARTIFACT.split("/")[0]):
        with tempfile.TemporaryDirectory() as folder:
            stored = json.loads(Path(client.download_artifacts(context.parent, SIDE_BY_SIDE_ARTIFACT,
                                                               folder)).read_text())
        if stored["models"] == dict(models):
            return SideBySide(**stored["measured"])
    loaded = {cell: load_saved_model(context.tracker, run_id) for cell, run_id in models.items()}
    sequences = next(iter(loaded.values()))[1]
    if context.progress:
        print(f"gatelab: timing {', '.join(cell.upper() for cell in loaded)} side by side", file=sys.stderr,
              flush=True)
    measured = side_by_side({cell: model for cell, (model, _) in loaded.items()}, sequences,
                            run_device(context.experiment.trainer.accelerator))
    client.log_text(context.parent, json.dumps({"models": dict(models), "measured": asdict(measured)}),
                    SIDE_BY_SIDE_ARTIFACT)
    return measured
