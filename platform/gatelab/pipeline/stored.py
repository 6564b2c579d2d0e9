"""A sweep that ran before, rebuilt from its store: what ``gatelab report`` and ``gatelab dashboard`` work on."""

from __future__ import annotations

import tempfile
from pathlib import Path

import optuna

from gatelab.errors import MissingResultsError
from gatelab.pipeline.group import SweepGroup
from gatelab.pipeline.sweep import Sweep
from gatelab.search.storage import open_store
from gatelab.search.studies import study_name
from gatelab.tracking import tags as tag
from gatelab.tracking.client import Tracker, tracking_uri
from gatelab.training.experiment import load_experiment

__all__ = ["stored_sweep"]


def stored_sweep(task: str, store: Path, sweep: str | None = None, progress: bool = True) -> Sweep | SweepGroup:
    """A sweep that ran before in ``store``, rebuilt from its parent run's config: ``sweep`` (an id, also a group of
    search repeats' or one repeat's), else the latest.

    Its cells are those with a study in the store's Optuna journal.

    Raises:
        MissingResultsError: no such sweep in the store.
    """
    tracker = Tracker(store, task)
    sweeps = f" and tags.`{tag.SWEEP}` = '{sweep}'" if sweep else ""
    runs = tracker.client.search_runs([tracker.experiment_id], f"tags.`{tag.ROLE}` = '{tag.ROLE_SWEEP}'{sweeps}",
                                      order_by=["attributes.start_time DESC"], max_results=1)
    if not runs:
        which = f"sweep '{sweep}'" if sweep else "sweep"
        raise MissingResultsError(f"no {which} of task '{task}' in {tracking_uri(store)}: run `gatelab sweep --task "
                                  f"{task}` first, or give the id printed by it (--sweep <id>, also the parent run's "
                                  "name).", task)
    run = runs[0]
    with tempfile.TemporaryDirectory() as folder:
        experiment = load_experiment(task, [tracker.client.download_artifacts(run.info.run_id, "sweep_config.yaml",
                                                                               folder)])
    repeats, repeat = int(run.data.tags.get(tag.REPEATS, 1)), int(run.data.tags.get(tag.REPEAT, 0))
    searched = run.data.tags[tag.SWEEP].removesuffix(f"x{repeats}") if repeats > 1 else run.data.tags[tag.SWEEP]
    prefix = study_name(task, searched, "")
    names = optuna.get_all_study_names(open_store(None, store).storage)
    cells = [name.removeprefix(prefix) for name in names
             if name.startswith(prefix) and "-" not in name.removeprefix(prefix)]  # not a repeat's study
    base = Sweep(experiment.with_overrides({"sweep.cells": cells or experiment.sweep.cells}), store,
                 progress=progress, repeat=repeat)
    found = SweepGroup(base, repeats) if repeats > 1 else base
    if found.id != run.data.tags[tag.SWEEP]:
        raise MissingResultsError(f"the stored config of sweep {run.data.tags[tag.SWEEP]} now reads as sweep "
                                  f"{found.id}: it was made by another gatelab version; rerun the sweep.", task)
    return found
