"""A cell's study: created with the sweep's sampler and pruner, its trials asked slot by slot, and what counts towards
its budget."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from gatelab.errors import ConfigError
from gatelab.settings import SweepConfig

__all__ = ["PARENT_RUN_ATTR", "TRACKING_URI_ATTR", "SlotSampler", "ask_slot", "budget_status", "check_tracking_store",
           "counts_towards_budget", "open_study", "study_name"]

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


class SlotSampler(optuna.samplers.BaseSampler):
    """Optuna's TPE sampler (Bergstra et al. 2011), each trial slot of a cell drawn from a seed of its own.

    A seeded sampler draws from one random stream per process: every worker of a sweep, and a sweep resumed
    after Ctrl-C, would start that stream again and repeat the first configurations. Here a cell's slot ``k``
    (its ``k``-th trial that counts towards the budget) samples with the seed ``SeedSequence([seed, k])``,
    whichever process claims it: workers do not repeat one another's draws, a resumed sweep does not repeat
    the configurations it has tried (an interrupted slot is drawn again), and both cells' random startup
    trials are the same configurations slot by slot.

    Args:
        seed: the sweep's sampler seed.
        settings: the TPE options (``startup_trials``, ``ei_candidates``, ``multivariate``).
    """

    def __init__(self, seed: int, settings: SweepConfig) -> None:
        self.seed, self.settings = seed, settings
        self._tpe = self._sampler(0)

    def _sampler(self, slot: int) -> optuna.samplers.TPESampler:
        seed = int(np.random.SeedSequence([self.seed % 2**64, slot]).generate_state(1)[0])
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=self.settings.startup_trials, n_ei_candidates=self.settings.ei_candidates,
            multivariate=self.settings.multivariate, group=False, constant_liar=True)

    def start_slot(self, slot: int) -> None:
        """Draw the next trial as slot ``slot`` (call it before ``study.ask()``, under the sweep's lock)."""
        self._tpe = self._sampler(slot)

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self._tpe.infer_relative_search_space(study, trial)

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, object]:
        return self._tpe.sample_relative(study, trial, search_space)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> object:
        return self._tpe.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._tpe.before_trial(study, trial)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        self._tpe.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._tpe.reseed_rng()


def open_study(storage: optuna.storages.BaseStorage, name: str, settings: SweepConfig, seed: int, direction: str,
               parent_run: str, tracking_uri: str) -> optuna.Study:
    """Create or load one cell's study: the slot-seeded TPE sampler (``SlotSampler``) and the median pruner.

    Every cell's study gets the same sampler seed and settings, so the cells' searches differ only by cell.
    """
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=settings.pruner_startup_trials,
                                          n_warmup_steps=settings.pruner_warmup_epochs)
              if settings.prune else optuna.pruners.NopPruner())
    study = optuna.create_study(storage=storage, study_name=name, sampler=SlotSampler(seed, settings), pruner=pruner,
                                direction=StudyDirection[direction.upper()], load_if_exists=True)
    study.set_user_attr(PARENT_RUN_ATTR, parent_run)
    study.set_user_attr(TRACKING_URI_ATTR, tracking_uri)
    return study


def ask_slot(study: optuna.Study, slot: int) -> optuna.Trial:
    """A new trial of ``study`` drawn as the cell's slot ``slot``.

    Raises:
        TypeError: the study was not opened by ``open_study`` (its sampler is not a ``SlotSampler``).
    """
    sampler = study.sampler
    if not isinstance(sampler, SlotSampler):
        raise TypeError(f"study {study.study_name}: open it with open_study (its sampler is {type(sampler).__name__})")
    sampler.start_slot(slot)
    return study.ask()


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
