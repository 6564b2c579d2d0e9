"""A cell's search summarised for the verdict: its best trial, its trial counts and its budget curve's values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

import numpy as np
import optuna
from optuna.trial import TrialState

from gatelab.errors import MissingResultsError
from gatelab.search.studies import counts_towards_budget

__all__ = ["best_trials", "search_counts", "search_values"]


def search_counts(trials: Sequence[optuna.trial.FrozenTrial]) -> tuple[int, int, int]:
    """Finished (counting towards the budget), pruned and failed trials."""
    return (sum(map(counts_towards_budget, trials)), sum(trial.state == TrialState.PRUNED for trial in trials),
            sum(trial.state == TrialState.FAIL for trial in trials))


def best_trials(studies: Mapping[str, optuna.Study], task: str, sweep: str) -> dict[str, optuna.trial.FrozenTrial]:
    """Each cell's best completed trial.

    Raises:
        MissingResultsError: fewer than two cells have a completed trial (the message names what is missing).
    """
    best, missing = {}, []
    for cell, study in studies.items():
        trials = study.get_trials(deepcopy=False)
        complete = [trial for trial in trials if trial.state == TrialState.COMPLETE]
        if complete:
            best[cell] = study.best_trial
        else:
            _, pruned, failed = search_counts(trials)
            missing.append(f"{cell.upper()} has no completed trial ({len(trials)} started: {pruned} pruned, "
                           f"{failed} failed)")
    if len(best) >= 2:
        return best
    where = f"sweep {sweep} of task '{task}'"
    if not studies:
        problem = "has no search results in this store"
    elif not best:
        problem = "has no completed trial in any cell: " + "; ".join(missing)
    else:
        (cell,) = best
        problem = (f"has completed trials for {cell.upper()} only"
                   + (f" ({'; '.join(missing)})" if missing else " (it searched no other cell)"))
    raise MissingResultsError(
        f"{where} {problem}. A verdict compares the best configurations of at least two cells. Finish the search "
        f"first: `gatelab sweep --task {task} --cells [lstm,gru]` with the sweep's other settings resumes it (raise "
        f"--trials if pruning stopped every trial), then `gatelab report --task {task} --sweep {sweep}`.", task, sweep)


def search_values(trials: Sequence[optuna.trial.FrozenTrial], direction: str) -> tuple[list[float], int, int]:
    """The validation values of a cell's finished trials, for its budget curve.

    A completed trial counts with its value; a pruned or diverged one with its best reported value (an
    underestimate of what it would have reached); one that reported no finite value is left out.

    Returns:
        The values, how many of them are best reported values, and how many finished trials were left out.
    """
    best = max if direction == "maximize" else min
    values, early, left_out = [], 0, 0
    for trial in trials:
        if not counts_towards_budget(trial):
            continue
        if trial.state == TrialState.COMPLETE:
            values.append(float(cast(float, trial.value)))  # a completed trial has its value
            continue
        reported = [value for value in trial.intermediate_values.values() if np.isfinite(value)]
        if reported:
            values.append(float(best(reported)))
            early += 1
        else:
            left_out += 1
    return values, early, left_out
