"""The trial objective: one training run with a trial's hyperparameters, tracked as a child of the sweep's run.

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
from gatelab.training.config import instantiate_run, with_overrides
from gatelab.training.module import DivergedError
from gatelab.training.train import train

__all__ = ["COST_KEYS", "MLFLOW_RUN_ATTR", "close_orphan_runs", "run_trial"]

#: What a trial records for the verdict, from ``train()``'s metrics.
COST_KEYS = ("params", "seconds_per_epoch", "best_epoch", "epochs")
#: The trial's user attribute naming its MLflow run.
MLFLOW_RUN_ATTR = "mlflow_run_id"


def run_trial(context: SweepContext, cell: str, trial: optuna.Trial) -> float:
    """Train ``cell`` with the trial's hyperparameters (seed: the sweep's seed plus the trial's number).

    Returns:
        The best validation objective of the run.

    Raises:
        optuna.TrialPruned: the pruner stopped the run.
        DivergedError: the training loss became NaN or infinite (the trial is marked ``diverged``).
    """
    seed = context.cfg.seed + trial.number
    values = suggest(trial, context.cfg.search_space)
    trial_cfg = with_overrides(context.parser, context.cfg, {**values, "model.cell": cell, "seed": seed})
    run_cfg = instantiate_run(context.parser, trial_cfg)
    name = f"{cell} #{trial.number}"
    with tracked_run(context.tracker, f"{cell}-{trial.number}", context.tags(cell, trial.number, seed),
                     run_params(trial_cfg), parent=context.parent) as run_id:
        trial.set_user_attr(MLFLOW_RUN_ATTR, run_id)
        context.tracker.client.log_text(run_id, context.parser.dump(trial_cfg), "config.yaml")
        pruning = (PyTorchLightningPruningCallback(trial, monitor=context.objective)
                   if context.cfg.sweep.prune else None)
        try:
            metrics = train(run_cfg, run_loggers(context.tracker, run_id),
                            progress_name=name if context.progress else None, pruning=pruning, test=False)
        except DivergedError as error:
            trial.set_user_attr("diverged", str(error))
            tqdm.write(f"{name} diverged ({error}); marked failed, the sweep goes on", file=sys.stderr)
            raise
        final = {key: value for key, value in metrics.items() if key.startswith("best_val/")}
        context.tracker.log_metrics(run_id, final | {key: metrics[key] for key in COST_KEYS})
        for key, value in final.items():
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
