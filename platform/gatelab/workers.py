"""A worker: one process that claims a sweep's trials one at a time, runs them and reports them.

Any number of workers, on one machine or many, can share a sweep's studies. Each claim is made
under the sweep's lock (``StudyStore.lock``), after failing the trials of dead workers, by this
rule: a trial counts against its cell's budget once it is finished (complete, pruned or diverged)
or running; a new trial goes to the cell with the fewest such trials that is still under budget.
So the budget is met exactly (never more finished trials than asked), the cells start their
trials in step, and a killed trial's slot goes back to its cell (the trial is retried).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import optuna
from optuna.trial import FrozenTrial, TrialState
from tqdm.auto import tqdm

from gatelab.module import DivergedError
from gatelab.storage import OWNER_ATTR, owner_token

if TYPE_CHECKING:
    from gatelab.sweep import Sweep

__all__ = ["Worker", "budget_status", "counts_towards_budget"]


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


@dataclass
class _Claim:
    cell: str
    trial: optuna.Trial
    alive: contextlib.ExitStack


class Worker:
    """Runs a sweep's trials until every cell's budget is met.

    Args:
        sweep: an opened sweep (``Sweep.open``): its studies, its store and its objective ``run_trial``.
        poll: seconds to wait before claiming again while the remaining budget is held by other
            workers' running trials (one of them may die, and its trial is then retried here).
    """

    def __init__(self, sweep: Sweep, poll: float = 2.0) -> None:
        self.sweep, self.poll = sweep, poll
        self.owner = owner_token()

    def run(self, on_trial: Callable[[], None] | None = None) -> None:
        """Claim, run and report trials until the budget is met; ``on_trial`` is called after each."""
        while True:
            claim = self._claim()
            if claim is None:
                time.sleep(self.poll)
            elif claim is _DONE:
                return
            else:
                self._run(claim)
                if on_trial is not None:
                    on_trial()

    def _claim(self) -> _Claim | None | object:
        """Under the sweep's lock: fail dead workers' trials, then create one trial by the claim rule."""
        sweep = self.sweep
        with sweep.study_store.lock(sweep.lock_name):
            for study in sweep.studies.values():
                sweep.study_store.fail_stale(study)
            sweep.close_orphan_runs()
            status = budget_status(sweep.studies)
            if all(status[cell][0] >= sweep.budget for cell in sweep.cells):
                return _DONE
            held = {cell: finished + running for cell, (finished, running) in status.items()}
            open_cells = [cell for cell in sweep.cells if held[cell] < sweep.budget]
            if not open_cells:
                return None
            cell = min(open_cells, key=held.__getitem__)
            trial = sweep.studies[cell].ask()
            alive = contextlib.ExitStack()
            alive.enter_context(sweep.study_store.keepalive(trial._trial_id))
            trial.set_user_attr(OWNER_ATTR, self.owner)
            return _Claim(cell, trial, alive)

    def _run(self, claim: _Claim) -> None:
        """Run the objective and tell Optuna how the trial ended (the objective closes its MLflow run)."""
        study, number = self.sweep.studies[claim.cell], claim.trial.number
        value: float | None = None
        with claim.alive:
            try:
                value = self.sweep.run_trial(claim.cell, claim.trial)
                state = TrialState.COMPLETE
            except optuna.TrialPruned:
                state = TrialState.PRUNED
            except DivergedError:
                state = TrialState.FAIL
            except BaseException:
                study.tell(number, state=TrialState.FAIL, skip_if_finished=True)
                raise
            study.tell(number, value, state=state, skip_if_finished=True)
        if study.get_trials(deepcopy=False)[number].state != state:
            tqdm.write(f"{claim.cell} #{number}: another worker found this trial stale (its heartbeat was late) "
                       "and failed it; its result is not counted and the trial is retried.", file=sys.stderr)

_DONE = object()
