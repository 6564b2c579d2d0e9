"""A fair sweep: one Optuna study per cell, the same space, budget, seeds and data; tracked in MLflow."""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from jsonargparse import ArgumentParser, Namespace
from optuna.storages import RDBStorage
from optuna.trial import TrialState
from optuna_integration import PyTorchLightningPruningCallback
from tqdm.auto import tqdm

from gatelab.config import build_parser, instantiate_run, load_config, with_overrides
from gatelab.errors import ConfigError
from gatelab.module import DivergedError
from gatelab.report import Report, publish
from gatelab.search import suggest
from gatelab.storage import StudyStore, open_store
from gatelab.tracking import ROLE_TAG, Tracker, flatten, git_sha, run_loggers, tracking_uri
from gatelab.train import train
from gatelab.verdict import MissingResultsError, build_verdict
from gatelab.workers import Worker, budget_status

__all__ = ["DEFAULT_SEEDS", "Sweep", "stored_sweep", "sweep_id"]

# Settings that may change without starting a new sweep: a bigger budget or another cell extends it.
_RESUMABLE_KEYS = ("sweep.trials", "sweep.cells")
#: Seeds each cell's best configuration is retrained with after the search.
DEFAULT_SEEDS = 3
# What a trial records for the verdict, from train()'s metrics.
_COST_KEYS = ("params", "seconds_per_epoch", "best_epoch", "epochs")


def sweep_id(cfg: Namespace) -> str:
    """A short hash of everything that shapes the results (not the budget, not the cell list).

    The paths of the config files the settings were read from are left out: the same settings read from
    another file (a worker's copy, the config stored on the parent run) are the same sweep.
    """
    tree = cfg.clone()
    for key in _RESUMABLE_KEYS:
        del tree[key]
    tree.pop("config", None)
    text = json.dumps(tree.as_dict(), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


@dataclass
class Sweep:
    """Runs (or resumes) the sweep that ``cfg`` describes, storing studies and runs under ``store``.

    Args:
        parser: the config parser ``cfg`` was validated with.
        cfg: the validated config (``gatelab.config.load_config``).
        store: folder of the MLflow database, its artifacts and (by default) the Optuna journal.
        progress: show progress bars on stderr.
        storage: the Optuna storage's URL (``gatelab.storage.open_store``); None: a journal in ``store``.
        heartbeat: seconds between a running trial's heartbeats (PostgreSQL storage).
        launch: runs the workers (``gatelab.launch``); None: one worker in this process.
    """

    parser: ArgumentParser
    cfg: Namespace
    store: Path
    progress: bool = True
    storage: str | None = None
    heartbeat: int = 10
    launch: Callable[[Sweep], None] | None = None
    id: str = field(init=False)

    def __post_init__(self) -> None:
        self.id = sweep_id(self.cfg)
        self.cells: list[str] = list(self.cfg.sweep.cells)
        self.budget: int = self.cfg.sweep.trials
        self.lock_name = f"{self.cfg.task}-{self.id}"

    def run(self, seeds: int = DEFAULT_SEEDS) -> Report | None:
        """Check the data, run each cell's remaining trials in step, then select, report and return the report.

        Args:
            seeds: seeds each cell's best configuration is retrained with (see ``gatelab.selection``);
                0 skips the selection and the report (``report`` makes them later) and returns None.
        """
        studies = self.open()
        try:
            self.launch(self) if self.launch else self.work()
        except BaseException:
            self.tracker.end_run(self.parent, "KILLED" if not isinstance(sys.exc_info()[1], Exception) else "FAILED")
            raise
        if seeds == 0:
            self.tracker.set_tags(self.parent, {"gatelab.verdict": "pending"})
            self.tracker.end_run(self.parent, "FINISHED")
            return None
        return self._conclude(studies, seeds)

    def report(self, seeds: int = DEFAULT_SEEDS) -> Report:
        """Select and report again on this sweep's search as it stands, without running any trial.

        Raises:
            MissingResultsError: the sweep never ran in this store, or has too few completed trials.
        """
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        if Tracker(self.store, self.cfg.task).find_parent(self.id) is None:
            raise MissingResultsError(f"sweep {self.id} of task '{self.cfg.task}' has no run in {self.store}/: "
                                      f"run `make sweep TASK={self.cfg.task}` first.")
        return self._conclude(self.open(), seeds)

    def open(self) -> dict[str, optuna.Study]:
        """Check the data, then find or create the parent run and the studies (under the sweep's lock)."""
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        self.study_store: StudyStore = open_store(self.storage, self.store, self.heartbeat)
        ddp = isinstance(self.cfg.trainer.devices, int) and self.cfg.trainer.devices > 1
        if ddp and self.cfg.sweep.prune and not isinstance(self.study_store.storage, RDBStorage):
            raise ConfigError(f"trainer.devices {self.cfg.trainer.devices} trains each trial with DDP, where Optuna's "
                              "pruning callback needs a database storage: give --storage postgresql://..., "
                              "or set sweep.prune: false.")
        base = instantiate_run(self.parser, self.cfg)
        base.data.prepare_data()
        base.data.setup("fit")
        self.objective, self.direction = base.data.objective, base.data.direction
        self.fingerprint = base.data.fingerprint()
        with self.study_store.lock(self.lock_name):
            self.tracker = Tracker(self.store, self.cfg.task)
            self.parent = self._parent_run()
            self.studies = {cell: self._study(cell) for cell in self.cells}
        return self.studies

    def work(self) -> None:
        """Run trials in this process until the budget is met, with an overall progress bar."""
        bar = self.progress_bar()
        Worker(self).run(on_trial=lambda: self.show_progress(bar))
        bar.close()

    def _tags(self, cell: str, trial: int | str, seed: int | str) -> dict[str, str]:
        return {
            "gatelab.task": self.cfg.task, "gatelab.cell": cell, "gatelab.sweep": self.id,
            "gatelab.trial": str(trial), "gatelab.seed": str(seed), "gatelab.git_sha": git_sha(),
            "gatelab.data_fingerprint": self.fingerprint,
        }

    def _parent_run(self) -> str:
        existing = self.tracker.find_parent(self.id)
        if existing:
            self.tracker.reopen(existing)
            return existing
        tags = self._tags(",".join(self.cells), "-", self.cfg.seed) | {"gatelab.role": "sweep"}
        config = self.cfg.clone()
        del config["search_space"]
        run_id = self.tracker.start_run(f"sweep-{self.id}", tags, flatten(config.as_dict()))
        self.tracker.client.log_text(run_id, self.parser.dump(self.cfg), "sweep_config.yaml")
        return run_id

    def _study(self, cell: str) -> optuna.Study:
        settings = self.cfg.sweep
        storage = self.study_store.storage
        sampler = optuna.samplers.TPESampler(
            seed=self.cfg.seed, n_startup_trials=settings.startup_trials, n_ei_candidates=settings.ei_candidates,
            multivariate=settings.multivariate, group=False, constant_liar=True,
        )
        pruner = (optuna.pruners.MedianPruner(n_startup_trials=settings.pruner_startup_trials,
                                              n_warmup_steps=settings.pruner_warmup_epochs)
                  if settings.prune else optuna.pruners.NopPruner())
        study = optuna.create_study(storage=storage, study_name=f"{self.cfg.task}-{self.id}-{cell}",
                                    sampler=sampler, pruner=pruner, direction=self.direction, load_if_exists=True)
        study.set_user_attr("mlflow_parent_run", self.parent)
        return study

    def close_orphan_runs(self) -> None:
        """Trial runs left RUNNING while their trial is not (its worker died) end as killed."""
        trials = {cell: {trial.number: trial.state for trial in study.get_trials(deepcopy=False)}
                  for cell, study in self.studies.items()}
        for run in self.tracker.children(self.parent, status="RUNNING"):
            tags = run.data.tags
            state = trials.get(tags.get("gatelab.cell", ""), {}).get(int(tags.get("gatelab.trial", -1)))
            if state is not None and state != TrialState.RUNNING:
                self._close(run.info.run_id, "KILLED", "killed")

    def progress_bar(self) -> tqdm:
        """The sweep's overall progress bar (disabled without ``progress``), up to date."""
        bar = tqdm(total=self.budget * len(self.cells), desc=f"sweep {self.id}", unit="trial", position=0,
                   file=sys.stderr, disable=not self.progress, dynamic_ncols=True)
        self.show_progress(bar)
        return bar

    def show_progress(self, bar: tqdm) -> None:
        """Bring ``bar`` up to date: finished trials over the whole budget, and each cell's best value."""
        status = budget_status(self.studies)
        bar.n = min(bar.total, sum(min(finished, self.budget) for finished, _ in status.values()))
        best = {}
        for cell, study in self.studies.items():
            values = [trial.value for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
            if values:
                best[cell] = f"{(max if self.direction == 'maximize' else min)(values):.4f}"
        bar.set_postfix_str(" ".join(f"{cell}={value}" for cell, value in best.items()) or "no trial yet")
        bar.refresh()

    def run_trial(self, cell: str, trial: optuna.Trial) -> float:
        """The Optuna objective: one training run with the trial's hyperparameters, tracked as a child run."""
        seed = self.cfg.seed + trial.number
        values = suggest(trial, self.cfg.search_space)
        trial_cfg = with_overrides(self.parser, self.cfg, {**values, "model.cell": cell, "seed": seed})
        run_cfg = instantiate_run(self.parser, trial_cfg)
        params = trial_cfg.clone()
        for key in ("search_space", "sweep"):
            del params[key]
        run_id = self.tracker.start_run(f"{cell}-{trial.number}", self._tags(cell, trial.number, seed),
                                        flatten(params.as_dict()), parent=self.parent)
        trial.set_user_attr("mlflow_run_id", run_id)
        self.tracker.client.log_text(run_id, self.parser.dump(trial_cfg), "config.yaml")
        callbacks: list[Any] = run_loggers(self.tracker, run_id)
        if self.cfg.sweep.prune:
            callbacks.append(PyTorchLightningPruningCallback(trial, monitor=self.objective))
        name = f"{cell} #{trial.number}"
        try:
            metrics = train(run_cfg, callbacks, progress_name=name if self.progress else None)
        except optuna.TrialPruned:
            self._close(run_id, "KILLED", "pruned")
            raise
        except DivergedError as error:
            trial.set_user_attr("diverged", str(error))
            self._close(run_id, "FAILED", "diverged")
            tqdm.write(f"{name} diverged ({error}); marked failed, the sweep goes on", file=sys.stderr)
            raise
        except BaseException as error:
            interrupted = not isinstance(error, Exception)  # Ctrl-C or a stop signal, not a fault of the run
            self._close(run_id, "KILLED" if interrupted else "FAILED", "killed" if interrupted else "crashed")
            raise
        final = {key: value for key, value in metrics.items() if key.startswith(("test/", "best_val/"))}
        self.tracker.log_metrics(run_id, final | {key: metrics[key] for key in _COST_KEYS})
        for key, value in final.items():
            trial.set_user_attr(key, value)
        for key in _COST_KEYS:
            trial.set_user_attr(key, metrics[key])
        self._close(run_id, "FINISHED", "complete")
        return metrics[f"best_{self.objective}"]

    def _close(self, run_id: str, status: str, state: str) -> None:
        self.tracker.set_tags(run_id, {"gatelab.state": state})
        self.tracker.end_run(run_id, status)

    def _conclude(self, studies: dict[str, optuna.Study], seeds: int) -> Report:
        """Selection and report; the parent run ends finished, also when results are missing (then saying so)."""
        try:
            report = publish(self, build_verdict(self, studies, seeds), studies)
        except MissingResultsError as error:
            self.tracker.set_tags(self.parent, {"gatelab.verdict": "none", "gatelab.missing": str(error)})
            self.tracker.end_run(self.parent, "FINISHED")
            raise
        except BaseException:
            self.tracker.end_run(self.parent, "KILLED" if not isinstance(sys.exc_info()[1], Exception) else "FAILED")
            raise
        self.tracker.end_run(self.parent, "FINISHED")
        return report


def stored_sweep(task: str, store: Path, sweep: str | None = None) -> Sweep:
    """A sweep that ran before in ``store``, rebuilt from its parent run's config: ``sweep`` (an id), else the latest.

    Its cells are those with a study in the store's Optuna journal.

    Raises:
        MissingResultsError: no such sweep in the store.
    """
    tracker = Tracker(store, task)
    sweeps = f" and tags.`gatelab.sweep` = '{sweep}'" if sweep else ""
    runs = tracker.client.search_runs([tracker.experiment_id], f"tags.`{ROLE_TAG}` = 'sweep'{sweeps}",
                                      order_by=["attributes.start_time DESC"], max_results=1)
    if not runs:
        which = f"sweep '{sweep}'" if sweep else "sweep"
        raise MissingResultsError(f"no {which} of task '{task}' in {tracking_uri(store)}: run `make sweep TASK={task}` "
                                  "first, or give the id printed by it (SWEEP=<id>, also the parent run's name).")
    run = runs[0]
    with tempfile.TemporaryDirectory() as folder:
        path = tracker.client.download_artifacts(run.info.run_id, "sweep_config.yaml", folder)
        cfg = load_config(task, [path])
    prefix = f"{task}-{run.data.tags['gatelab.sweep']}-"
    names = optuna.get_all_study_names(open_store(None, store).storage)
    cells = [name.removeprefix(prefix) for name in names if name.startswith(prefix)]
    parser = build_parser()
    found = Sweep(parser, with_overrides(parser, cfg, {"sweep.cells": cells or list(cfg.sweep.cells)}), store)
    if found.id != run.data.tags["gatelab.sweep"]:
        raise MissingResultsError(f"the stored config of sweep {run.data.tags['gatelab.sweep']} now reads as sweep "
                                  f"{found.id}: it was made by another gatelab version; rerun the sweep.")
    return found
