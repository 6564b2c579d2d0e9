"""Items 4 and 5: what a sweep spends around each trial, and what pruning saves, on a small fraud sweep."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import optuna
from gatelab.pipeline import Sweep
from gatelab.search.storage import open_store
from gatelab.tracking.loggers import StepLossLogger
from gatelab.training.experiment import load_experiment

from benchmarks.common import Figure

__all__ = ["sweep_costs"]

# The task's own data (loaded once per process, so the loader benchmark's copy is reused); the quick
# (smoke-test) size is the test suite's tiny one.
DATA: dict[str, object] = {}
QUICK_DATA = {
    "data.init_args.split.warmup_days": 31,
    "data.init_args.source.init_args.n_customers": 150,
    "data.init_args.source.init_args.n_terminals": 300,
    "data.init_args.source.init_args.n_days": 52,
    "data.init_args.source.init_args.seed": 1,
    "data.init_args.split.train_days": 7,
    "data.init_args.split.val_days": 3,
    "data.init_args.split.test_days": 3,
    "data.init_args.history": 4,
    "model.hidden_size": 8,
    "search_space": [],
}


def _run_sweep(store: Path, prune: bool, trials: int, epochs: int,
               quick: bool) -> tuple[Sweep, dict[str, optuna.Study], float]:
    """Run one fraud sweep in ``store``; returns it, its studies and its wall seconds."""
    overrides = (QUICK_DATA if quick else DATA) | {"sweep.trials": trials, "trainer.max_epochs": epochs,
                                                   "sweep.prune": prune, "sweep.cells": ["lstm", "gru"]}
    sweep = Sweep(load_experiment("fraud", overrides=overrides), store, progress=False)
    start = time.perf_counter()
    sweep.run(seeds=0)  # the search alone: the selection after it is no per-trial overhead
    seconds = time.perf_counter() - start
    storage = open_store(None, store).storage
    studies = {cell: optuna.load_study(study_name=f"fraud-{sweep.id}-{cell}", storage=storage)
               for cell in sweep.cells}
    return sweep, studies, seconds


def _epochs(trial: optuna.trial.FrozenTrial) -> int:
    """Epochs a trial trained: all of them for a finished trial, up to its pruning for a pruned one."""
    return int(trial.user_attrs.get("epochs", len(trial.intermediate_values)))


def _trial_overheads(sweep: Sweep, studies: dict[str, optuna.Study]) -> dict[str, list[float]]:
    """Per trial, seconds: from its creation (the sampler's suggestion) to the end of its first training
    step; from the end of its last step to its result being recorded in the study; and the part of the
    latter after its last validation.

    Times come from MLflow: per-step losses are stamped at the end of their step, epoch metrics after
    the epoch's validation.
    """
    client, objective = sweep.tracker().client, sweep.experiment.run().data.objective
    overheads: dict[str, list[float]] = {"start": [], "end": [], "end_after_validation": []}
    for study in studies.values():
        for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
            if trial.datetime_start is None or trial.datetime_complete is None:  # never for a completed trial
                raise RuntimeError(f"trial {trial.number} completed without its start and end times")
            run_id = trial.user_attrs["mlflow_run_id"]
            steps = sorted(point.timestamp / 1000 for point in client.get_metric_history(run_id, StepLossLogger.KEY))
            validated = max(point.timestamp / 1000 for point in client.get_metric_history(run_id, objective))
            done = trial.datetime_complete.timestamp()
            overheads["start"].append(steps[0] - trial.datetime_start.timestamp())
            overheads["end"].append(done - steps[-1])
            overheads["end_after_validation"].append(done - validated)
    return overheads


def sweep_costs(quick: bool = False) -> list[Figure]:
    """Per-trial overhead (goal: under 1 s each way) and the same sweep with and without the pruner."""
    trials, epochs = (2, 2) if quick else (4, 3)
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder)
        plain, plain_studies, plain_seconds = _run_sweep(store, False, trials, epochs, quick)
        overheads = _trial_overheads(plain, plain_studies)
        _, pruned_studies, pruned_seconds = _run_sweep(store, True, trials, epochs, quick)
        runs = {"with_pruner": {cell: study.get_trials() for cell, study in pruned_studies.items()},
                "without_pruner": {cell: study.get_trials() for cell, study in plain_studies.items()}}
    figures = [
        Figure("sweep.trial_start_overhead_s", statistics.median(overheads["start"]), "s", below=1.0,
               note="trial created (sampler) -> end of its first training step"),
        Figure("sweep.trial_end_overhead_s", statistics.median(overheads["end"]), "s", below=1.0,
               note="end of last step -> trial recorded (last validation and test pass included)"),
        Figure("sweep.trial_end_after_validation_s", statistics.median(overheads["end_after_validation"]), "s",
               note="of which after the last validation (test pass, MLflow, Optuna)"),
    ]
    spent = {name: sum(_epochs(trial) for cell_trials in by_cell.values() for trial in cell_trials)
             for name, by_cell in runs.items()}
    figures += [
        Figure("pruning.epochs_with_pruner", spent["with_pruner"], "epochs",
               note=f"{trials} trials x 2 cells, up to {epochs} epochs"),
        Figure("pruning.epochs_without_pruner", spent["without_pruner"], "epochs"),
        Figure("pruning.epochs_with_vs_without_ratio", spent["with_pruner"] / spent["without_pruner"], "x"),
        Figure("pruning.seconds_with_vs_without_ratio", pruned_seconds / plain_seconds, "x", note="sweep wall time"),
    ]
    for name, by_cell in runs.items():
        for cell, cell_trials in by_cell.items():
            values = [trial.value for trial in cell_trials
                      if trial.state == optuna.trial.TrialState.COMPLETE and trial.value is not None]
            figures.append(Figure(f"pruning.{cell}_best_val_auprc_{name}", max(values), "AUPRC"))
    return figures
