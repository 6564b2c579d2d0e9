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

import optuna
from optuna.trial import TrialState
from tqdm.auto import tqdm

from gatelab.search.storage import OWNER_ATTR, StudyStore, owner_token
from gatelab.search.studies import ask_slot, budget_status
from gatelab.training.module import DivergedError

__all__ = ["SharedSearch", "Worker"]


@dataclass(frozen=True)
class SharedSearch:
    """The part of a sweep that its workers share.

    Args:
        studies: one study per cell, in the order the cells are compared.
        store: where the studies live, with the sweep's lock.
        lock_name: the sweep's lock (claims are made under it).
        budget: finished trials per cell.
    """

    studies: Mapping[str, optuna.Study]
    store: StudyStore
    lock_name: str
    budget: int


@dataclass
class _Claim:
    cell: str
    trial: optuna.Trial
    alive: contextlib.ExitStack


class Worker:
    """Runs a sweep's trials until every cell's budget is met.

    Args:
        search: the sweep's studies, store, lock and budget.
        objective: runs one trial of a cell and returns its value (``gatelab.search.objective.run_trial``).
        tidy: called under the lock before each claim (the sweep closes its dead workers' runs there).
        poll: seconds to wait before claiming again while the remaining budget is held by other
            workers' running trials (one of them may die, and its trial is then retried here).
    """

    def __init__(self, search: SharedSearch, objective: Callable[[str, optuna.Trial], float],
                 tidy: Callable[[], None] = lambda: None, poll: float = 2.0) -> None:
        self.search, self.objective, self.tidy, self.poll = search, objective, tidy, poll
        self.owner = owner_token()

    def run(self, on_trial: Callable[[], None] | None = None) -> None:
        """Claim, run and report trials until the budget is met; ``on_trial`` is called after each."""
        while True:
            claim = self._claim()
            if claim is _DONE:
                return
            if isinstance(claim, _Claim):
                self._run(claim)
                if on_trial is not None:
                    on_trial()
            else:
                time.sleep(self.poll)

    def _claim(self) -> _Claim | None | object:
        """Under the sweep's lock: fail dead workers' trials, then create one trial by the claim rule."""
        search = self.search
        with search.store.lock(search.lock_name):
            for study in search.studies.values():
                search.store.fail_stale(study)
            self.tidy()
            status = budget_status(search.studies)
            if all(finished >= search.budget for finished, _ in status.values()):
                return _DONE
            held = {cell: finished + running for cell, (finished, running) in status.items()}
            open_cells = [cell for cell in search.studies if held[cell] < search.budget]
            if not open_cells:
                return None
            cell = min(open_cells, key=held.__getitem__)
            trial = ask_slot(search.studies[cell], held[cell])
            alive = contextlib.ExitStack()
            alive.enter_context(search.store.keepalive(trial._trial_id))
            trial.set_user_attr(OWNER_ATTR, self.owner)
            return _Claim(cell, trial, alive)

    def _run(self, claim: _Claim) -> None:
        """Run the objective and tell Optuna how the trial ended (the objective closes its MLflow run)."""
        study, number = self.search.studies[claim.cell], claim.trial.number
        value: float | None = None
        with claim.alive:
            try:
                value = self.objective(claim.cell, claim.trial)
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
