"""A cell's study: created with the sweep's sampler and pruner, and what counts towards its budget."""

from __future__ import annotations

from collections.abc import Mapping

import optuna
from optuna.trial import FrozenTrial, TrialState

from gatelab.errors import ConfigError
from gatelab.settings import SweepConfig

__all__ = ["PARENT_RUN_ATTR", "TRACKING_URI_ATTR", "budget_status", "check_tracking_store", "counts_towards_budget",
           "open_study", "study_name"]

#: The study's user attribute naming the sweep's MLflow parent run.
PARENT_RUN_ATTR = "mlflow_parent_run"
#: The study's user attribute naming the MLflow tracking store its runs go to (password redacted).
TRACKING_URI_ATTR = "mlflow_tracking_uri"


def study_name(task: str, sweep: str, cell: str) -> str:
    """A cell's study in a sweep: ``<task>-<sweep id>-<cell>``."""
    return f"{task}-{sweep}-{cell}"


def check_tracking_store(storage: optuna.storages.BaseStorage, task: str, sweep: str, uri: str, where: str) -> None:
    """Refuse to resume a sweep whose studies sent their runs to another MLflow store.

    Args:
        storage: the study storage.
        task: the sweep's task.
        sweep: the sweep's id.
        uri: the tracking store the runs would go to now (``gatelab.tracking.client.store_relative_uri``).
        where: the study storage, as the message names it.

    Raises:
        ConfigError: a study records another tracking store.
    """
    prefix = study_name(task, sweep, "")
    for study in storage.get_all_studies():
        recorded = study.user_attrs.get(TRACKING_URI_ATTR)
        if study.study_name.startswith(prefix) and recorded not in (None, uri):
            raise ConfigError(
                f"{where}: sweep {sweep} ran with its runs in the MLflow store {recorded}, but they "
                f"would now go to {uri}: resuming would split the sweep between two stores. Resume it with "
                f"MLFLOW_TRACKING_URI={recorded} (or unset, if that is the store's own database), or give a new "
                "--storage to start the sweep afresh with its runs in the new store.")


def open_study(storage: optuna.storages.BaseStorage, name: str, settings: SweepConfig, seed: int, direction: str,
               parent_run: str, tracking_uri: str) -> optuna.Study:
    """Create or load one cell's study: a seeded TPE sampler (options set explicitly) and the median pruner.

    Every cell's study gets the same sampler seed and settings, so the cells' searches differ only by cell.
    """
    sampler = optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=settings.startup_trials, n_ei_candidates=settings.ei_candidates,
        multivariate=settings.multivariate, group=False, constant_liar=True,
    )
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=settings.pruner_startup_trials,
                                          n_warmup_steps=settings.pruner_warmup_epochs)
              if settings.prune else optuna.pruners.NopPruner())
    study = optuna.create_study(storage=storage, study_name=name, sampler=sampler, pruner=pruner, direction=direction,
                                load_if_exists=True)
    study.set_user_attr(PARENT_RUN_ATTR, parent_run)
    study.set_user_attr(TRACKING_URI_ATTR, tracking_uri)
    return study


def counts_towards_budget(trial: FrozenTrial) -> bool:
    """Completed, pruned and diverged trials use up the budget; crashed or killed ones are retried."""
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    return trial.state == TrialState.FAIL and "diverged" in trial.user_attrs


def budget_status(studies: Mapping[str, optuna.Study]) -> dict[str, tuple[int, int]]:
    """Per cell: (finished trials that count towards the budget, running trials)."""
    status = {}
    for cell, study in studies.items():
        trials = study.get_trials(deepcopy=False)
        status[cell] = (sum(map(counts_towards_budget, trials)), sum(t.state == TrialState.RUNNING for t in trials))
    return status
