"""The trial objective: a trial's hyperparameters trained (on each validation fold), tracked as one child of the
sweep's run.

A trial sees the training and validation splits only: it never scores the test split, so neither the
search nor a user browsing the trials can choose by a test score (the selection's seeds score it).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

import optuna
from optuna.trial import TrialState
from optuna_integration import PyTorchLightningPruningCallback
from tqdm.auto import tqdm

from gatelab.search.context import SweepContext
from gatelab.search.space import suggest
from gatelab.tracking import tags as tag
from gatelab.tracking.client import run_params
from gatelab.tracking.lifecycle import close_run, tracked_run
from gatelab.tracking.loggers import run_loggers
from gatelab.training.folds import fold_prefix, fold_runs, fold_summary, unfolded
from gatelab.training.module import DivergedError
from gatelab.training.train import train

__all__ = ["COST_KEYS", "MLFLOW_RUN_ATTR", "close_orphan_runs", "run_trial"]

#: What a trial records for the verdict, from ``train()``'s metrics (their means over the folds).
COST_KEYS = ("params", "seconds_per_epoch", "best_epoch", "epochs")
#: The trial's user attribute naming its MLflow run.
MLFLOW_RUN_ATTR = "mlflow_run_id"


def run_trial(context: SweepContext, cell: str, trial: optuna.Trial) -> float:
    """Train ``cell`` with the trial's hyperparameters (seed: the sweep's seed plus the trial's number) on each of
    the task's validation folds (one run for a task without folds; ``gatelab.training.folds``).

    The trial's MLflow run records the best validation metrics' means over the folds, each fold's values
    (``fold<k>/best_val/...``) and their spread (``fold_std/best_val/...``). Pruning watches the lead fold 0
    alone: its epochs are reported to the pruner, so every trial is compared with the others on the same
    fold at the same epoch; the other folds of a trial that survived fold 0 train to the end.

    Returns:
        The mean over the folds of each fold's best validation objective.

    Raises:
        optuna.TrialPruned: the pruner stopped the run.
        DivergedError: the training loss became NaN or infinite (the trial is marked ``diverged``).
    """
    seed = context.experiment.seed + trial.number
    values = suggest(trial, context.experiment.search_space)
    experiment = context.experiment.with_overrides({**values, "model.cell": cell, "seed": seed})
    runs = fold_runs(experiment, test=False)
    name = f"{cell} #{trial.number}"
    with tracked_run(context.tracker, f"{cell}-{trial.number}", context.tags(cell, trial.number, seed),
                     run_params(experiment), parent=context.parent) as run_id:
        trial.set_user_attr(MLFLOW_RUN_ATTR, run_id)
        context.tracker.client.log_text(run_id, experiment.dump(), "config.yaml")
        per_fold = []
        for fold, run_cfg in enumerate(runs):
            pruning = (PyTorchLightningPruningCallback(trial, monitor=context.objective)
                       if experiment.sweep.prune and fold == 0 else None)
            shown = f"{name} fold {fold}" if len(runs) > 1 else name
            try:
                per_fold.append(train(run_cfg, run_loggers(context.tracker, run_id, fold_prefix(fold)),
                                      progress_name=shown if context.progress else None, pruning=pruning, test=False))
            except DivergedError as error:
                trial.set_user_attr("diverged", str(error))
                tqdm.write(f"{shown} diverged ({error}); marked failed, the sweep goes on", file=sys.stderr)
                raise
        metrics = fold_summary(per_fold)
        final = {key: value for key, value in metrics.items() if unfolded(key).startswith("best_val/")}
        context.tracker.log_metrics(run_id, final | {key: metrics[key] for key in COST_KEYS})
        for key, value in final.items():
            if key.startswith("best_val/"):
                trial.set_user_attr(key, value)
        for key in COST_KEYS:
            trial.set_user_attr(key, metrics[key])
    return metrics[f"best_{context.objective}"]


def close_orphan_runs(context: SweepContext, studies: Mapping[str, optuna.Study]) -> None:
    """Trial runs left RUNNING while their trial is not (its worker died) end as killed."""
    trials = {cell: {trial.number: trial.state for trial in study.get_trials(deepcopy=False)}
              for cell, study in studies.items()}
    for run in context.tracker.children(context.parent, status="RUNNING"):
        tags = run.data.tags
        state = trials.get(tags.get(tag.CELL, ""), {}).get(int(tags.get(tag.TRIAL, -1)))
        if state is not None and state != TrialState.RUNNING:
            close_run(context.tracker, run.info.run_id, "KILLED", "killed")
