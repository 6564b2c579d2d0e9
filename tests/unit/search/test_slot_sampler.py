"""Each trial slot of a cell draws from a seed of its own: workers and resumed sweeps never repeat a configuration."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from gatelab.search.studies import ask_slot, open_study, study_name
from gatelab.settings import SweepConfig
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

SETTINGS = SweepConfig(startup_trials=3)


def handle(journal: Path, cell: str = "lstm") -> optuna.Study:
    """The cell's study as one more process (a worker, or the sweep resumed) opens it: its own storage and sampler."""
    storage = JournalStorage(JournalFileBackend(str(journal)))
    return open_study(storage, study_name("fraud", "s0", cell), SETTINGS, 7, "maximize", "run", "sqlite:///x.db")


def draw(study: optuna.Study, slot: int, finish: bool = True) -> dict[str, float]:
    trial = ask_slot(study, slot)
    params = {"lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True), "hidden": trial.suggest_int("hidden", 8, 512)}
    if finish:
        study.tell(trial, params["lr"])
    return params


def test_workers_and_a_resumed_sweep_draw_new_configurations(tmp_path: Path) -> None:
    journal = tmp_path / "optuna.journal"
    first, second = handle(journal), handle(journal)  # two workers, each starting its own random stream
    drawn = [draw(first, 0), draw(second, 1)]
    interrupted = draw(first, 2, finish=False)
    first.tell(first.trials[-1].number, state=optuna.trial.TrialState.FAIL)  # Ctrl-C: failed, not counted
    resumed = handle(journal)
    assert draw(resumed, 2) == interrupted  # the interrupted slot is drawn again
    drawn += [interrupted] + [draw(resumed, slot) for slot in range(3, 7)]  # TPE takes over after 3 slots
    assert len({tuple(params.values()) for params in drawn}) == len(drawn) == 7


def test_both_cells_start_from_the_same_random_configurations(tmp_path: Path) -> None:
    lstm, gru = handle(tmp_path / "j", "lstm"), handle(tmp_path / "j", "gru")
    assert [draw(lstm, slot) for slot in range(3)] == [draw(gru, slot) for slot in range(3)]


def test_a_study_opened_with_another_sampler_is_refused() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    with pytest.raises(TypeError, match="open_study"):
        ask_slot(study, 0)
