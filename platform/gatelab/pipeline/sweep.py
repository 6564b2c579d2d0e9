"""One sweep: what it is (``Sweep``, frozen) and its opened state (``OpenSweep``: store, tracker, parent run,
studies), which the trials of this process (``OpenSweep.work``) or a launcher's workers run on."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RDBStorage
from optuna.trial import TrialState
from tqdm.auto import tqdm

from gatelab.errors import ConfigError, MissingResultsError
from gatelab.pipeline.conclude import conclude, conclude_unless_skipped
from gatelab.report.tables import Report
from gatelab.search.context import SweepContext
from gatelab.search.objective import close_orphan_runs, run_trial
from gatelab.search.storage import StudyStore, open_store
from gatelab.search.studies import budget_status, check_tracking_store, open_study, study_name
from gatelab.search.workers import SharedSearch, Worker
from gatelab.settings import DEFAULT_SEEDS, Seeds
from gatelab.tracking import tags as tag
from gatelab.tracking.client import Tracker, git_sha, run_params, store_relative_uri, tracking_uri
from gatelab.tracking.lifecycle import end_run, tracked
from gatelab.tracking.tags import run_tags
from gatelab.training.experiment import Experiment
from gatelab.training.task import describe_data_report

__all__ = ["REPEAT_SEED_OFFSET", "OpenSweep", "Sweep", "never_ran", "open_parent_run", "sweep_id"]

# Settings that may change without starting a new sweep: a bigger budget or another cell extends it, and
# the cost that breaks a tie changes the verdict only.
_RESUMABLE_KEYS = ("sweep.trials", "sweep.cells", "sweep.cost", "sweep.max_seeds")
#: Search repeat ``r`` >= 1 samples with the TPE seed ``REPEAT_SEED_OFFSET + r`` (repeat 0 is the sweep itself, with
#: ``seed``): a space of its own, above every sweep ``seed`` a group accepts, so it never equals another sweep's.
REPEAT_SEED_OFFSET = 2**31


def sweep_id(experiment: Experiment) -> str:
    """A short hash of everything that shapes the results (not the budget, not the cell list).

    The paths of the config files the settings were read from are left out: the same settings read from
    another file (a worker's copy, the config stored on the parent run) are the same sweep.
    """
    text = json.dumps(experiment.settings((*_RESUMABLE_KEYS, "config")), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Sweep:
    """The sweep ``experiment`` describes (run, resumed or reported again), its studies and runs under ``store``.

    Args:
        experiment: the sweep's settings (``gatelab.training.experiment.load_experiment``).
        store: folder of the MLflow database, its artifacts and (by default) the Optuna journal.
        progress: show progress bars on stderr.
        storage: the Optuna storage's URL (``gatelab.search.storage.open_store``); None: a journal in ``store``.
        heartbeat: seconds between a running trial's heartbeats (PostgreSQL storage).
        launch: runs the workers on the opened sweep (``gatelab.launch``); None: one worker in this process.
        repeat: which search repeat of a ``SweepGroup`` this sweep is (0: the sweep itself, sampling with ``seed``).
        mlflow_experiment: the MLflow experiment of its runs (default ``gatelab-<task>``); another one also gives the
            sweep an id of its own (``<id>-<experiment without gatelab->``), so that its studies never mix with a
            task sweep's of the same settings.
        nest_under: a run the sweep's parent run is nested under (``mlflow.parentRunId``), e.g. a claims run.
        register: register the chosen cell's model (and the runner-up's) in the Model Registry; a sweep that
            only gathers evidence (``make claims``) registers none, so it never moves a task's champion.
        plots: draw the report's plots (``make claims`` draws its own figures, one per rule, and skips them).
    """

    experiment: Experiment
    store: Path
    progress: bool = True
    storage: str | None = None
    heartbeat: int = 10
    launch: Callable[[OpenSweep], None] | None = None
    repeat: int = 0
    mlflow_experiment: str | None = None
    nest_under: str | None = None
    register: bool = True
    plots: bool = True

    @property
    def base_id(self) -> str:
        """The id of the search's settings: ``sweep_id``, and the MLflow experiment's name where not a task's."""
        named = self.mlflow_experiment
        return sweep_id(self.experiment) + (f"-{named.removeprefix('gatelab-')}" if named else "")

    @property
    def id(self) -> str:
        return f"{self.base_id}-r{self.repeat}" if self.repeat else self.base_id

    @property
    def sampler_seed(self) -> int:
        return self.experiment.seed if self.repeat == 0 else REPEAT_SEED_OFFSET + self.repeat

    @property
    def cells(self) -> list[str]:
        return list(self.experiment.sweep.cells)

    @property
    def budget(self) -> int:
        return self.experiment.sweep.trials

    @property
    def members(self) -> list[Sweep]:
        """The searches whose results the verdict pools: the sweep itself."""
        return [self]

    @property
    def repeats(self) -> int:
        return 1

    def tracker(self) -> Tracker:
        """The MLflow experiment of the sweep's runs."""
        return Tracker(self.store, self.experiment.task, self.mlflow_experiment)

    def parent_run(self) -> str | None:
        """The sweep's parent run, if it ran in this store."""
        return self.tracker().find_parent(self.id)

    def run(self, seeds: Seeds = DEFAULT_SEEDS) -> Report | None:
        """Check the data, run each cell's remaining trials in step, then select, report and return the report.

        Args:
            seeds: seeds each cell's best configuration is retrained with (see ``gatelab.selection``);
                0 skips the selection and the report (``report`` makes them later) and returns None.
        """
        opened = self.open()
        print(describe_data_report(opened.data_report), end="", file=sys.stderr, flush=True)
        with tracked(opened.tracker, opened.parent):
            self.launch(opened) if self.launch else opened.work()
            return conclude_unless_skipped(opened.context, [opened], seeds, self.register, self.plots)

    def report(self, seeds: Seeds = DEFAULT_SEEDS) -> Report:
        """Select and report again on this sweep's search as it stands, without running any trial.

        Raises:
            MissingResultsError: the sweep never ran in this store, or has too few completed trials.
        """
        if self.parent_run() is None:
            raise never_ran(self.id, self.experiment.task, self.store)
        opened = self.open()
        with tracked(opened.tracker, opened.parent):
            return conclude(opened.context, [opened], seeds, self.register, self.plots)

    def open(self) -> OpenSweep:
        """Check the stores and the data, then find or create the parent run and the studies (under the sweep's lock).

        Nothing is written to either store before the checks pass, and an error after the parent run is
        reopened ends it (never left RUNNING).
        """
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        task, trainer = self.experiment.task, self.experiment.trainer
        uri = store_relative_uri(tracking_uri(self.store), self.store)
        study_store = open_store(self.storage, self.store, self.heartbeat)
        check_tracking_store(study_store.storage, task, self.id, uri,
                             f"{study_store.display} (<store> is {self.store.resolve()})")
        ddp = isinstance(trainer.devices, int) and trainer.devices > 1
        if ddp and self.experiment.sweep.prune and not isinstance(study_store.storage, RDBStorage):
            raise ConfigError(f"trainer.devices {trainer.devices} trains each trial with DDP, where Optuna's "
                              "pruning callback needs a database storage: give --storage postgresql://..., "
                              "or set sweep.prune: false.")
        data = self.experiment.run().data
        data.prepare_data()
        data.setup("fit")
        fingerprint, data_report = data.fingerprint(), data.data_report()
        tags = {tag.REPEAT: str(self.repeat)} if self.repeat else {}
        with study_store.lock(self.lock_name):
            tracker = self.tracker()
            parent = open_parent_run(tracker, self, self.id, fingerprint, data_report, tags)
            try:
                studies = {cell: open_study(study_store.storage, study_name(task, self.id, cell),
                                            self.experiment.sweep, self.sampler_seed, data.direction, parent, uri)
                           for cell in self.cells}
            except BaseException as error:
                end_run(tracker, parent, error)
                raise
        context = SweepContext(self.experiment, self.id, tracker, parent, fingerprint, data.objective, data.direction,
                               self.progress)
        return OpenSweep(self, study_store, context, studies, data_report)

    @property
    def lock_name(self) -> str:
        return f"{self.experiment.task}-{self.id}"


@dataclass(frozen=True)
class OpenSweep:
    """A sweep whose stores, data, parent run and studies are open (``Sweep.open``).

    Args:
        sweep: the sweep.
        study_store: its Optuna storage.
        context: what its runs see of it (the tracker, the parent run, the data's objective).
        studies: each cell's study.
        data_report: the data's summary (logged on the parent run).
    """

    sweep: Sweep
    study_store: StudyStore
    context: SweepContext
    studies: dict[str, optuna.Study]
    data_report: dict[str, Any]

    @property
    def tracker(self) -> Tracker:
        return self.context.tracker

    @property
    def parent(self) -> str:
        return self.context.parent

    @property
    def sampler_seed(self) -> int:
        return self.sweep.sampler_seed

    def work(self) -> None:
        """Run trials in this process until the budget is met, with an overall progress bar."""
        bar = self.progress_bar()
        search = SharedSearch(self.studies, self.study_store, self.sweep.lock_name, self.sweep.budget)
        worker = Worker(search, lambda cell, trial: run_trial(self.context, cell, trial),
                        tidy=lambda: close_orphan_runs(self.context, self.studies))
        worker.run(on_trial=lambda: self.show_progress(bar))
        bar.close()

    def progress_bar(self) -> tqdm:
        """The sweep's overall progress bar (disabled without ``progress``), up to date."""
        bar = tqdm(total=self.sweep.budget * len(self.sweep.cells), desc=f"sweep {self.sweep.id}", unit="trial",
                   position=0, file=sys.stderr, disable=not self.sweep.progress, dynamic_ncols=True)
        self.show_progress(bar)
        return bar

    def show_progress(self, bar: tqdm) -> None:
        """Bring ``bar`` up to date: finished trials over the whole budget, and each cell's best value."""
        status = budget_status(self.studies)
        bar.n = min(bar.total, sum(min(finished, self.sweep.budget) for finished, _ in status.values()))
        best = {}
        for cell, study in self.studies.items():
            values = [trial.value for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                      if trial.value is not None]
            if values:
                best[cell] = f"{(max if self.context.direction == 'maximize' else min)(values):.4f}"
        bar.set_postfix_str(" ".join(f"{cell}={value}" for cell, value in best.items()) or "no trial yet")
        bar.refresh()


def never_ran(sweep: str, task: str, store: Path) -> MissingResultsError:
    """The error of a report on sweep (or group) ``sweep``, which has no parent run in ``store``."""
    return MissingResultsError(f"sweep {sweep} of task '{task}' has no run in {store}/: run `gatelab sweep --task "
                               f"{task}` first.", task)


def open_parent_run(tracker: Tracker, sweep: Sweep, run_sweep: str, fingerprint: str, data_report: dict[str, Any],
                    extra_tags: dict[str, str]) -> str:
    """The parent run of sweep (or group) ``run_sweep`` of ``sweep``'s settings: found and reopened, else started
    with its tags, its settings as params and its config as ``sweep_config.yaml``."""
    existing = tracker.find_parent(run_sweep)
    if existing:
        tracker.reopen(existing)
        return existing
    experiment = sweep.experiment
    tags = run_tags(experiment.task, ",".join(sweep.cells), experiment.seed, git_sha(), sweep=run_sweep,
                    fingerprint=fingerprint) | {tag.ROLE: tag.ROLE_SWEEP} | extra_tags
    params = run_params(experiment, leave_out=("search_space",)) | data_report
    run_id = tracker.start_run(f"sweep-{run_sweep}", tags, params, parent=sweep.nest_under)
    tracker.client.log_text(run_id, experiment.dump(), "sweep_config.yaml")
    return run_id
