"""The sweep: open -> search -> select -> decide -> report.

One Optuna study per cell, the same space, budget, seeds and data; every run tracked in MLflow under
the sweep's parent run. ``Sweep`` holds what a sweep is (frozen); ``Sweep.open`` checks the stores and the
data and returns the ``OpenSweep`` (store, tracker, parent run, studies) that the stages work on. The stages
live in their layers and receive a ``SweepContext`` or explicit arguments, never the sweep: the trials in
``search``, the retraining (and ``seeds=auto``'s rounds) and the side-by-side timing in ``selection``, the
decision in ``verdict``, the report in ``report``.

With ``repeats`` k > 1 the whole search runs k times (a ``SweepGroup``), each repeat a sweep of its own (its
studies, its parent run) differing only in the TPE sampler's seed; the group (id ``<sweep id>x<k>``, a parent run
of its own) pools each cell's best configuration of every repeat, retrained on the same selection seeds.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import optuna
from optuna.storages import RDBStorage
from optuna.trial import TrialState
from tqdm.auto import tqdm

from gatelab.errors import ConfigError, MissingResultsError
from gatelab.report.publish import publish
from gatelab.report.tables import Report
from gatelab.search.context import SweepContext
from gatelab.search.objective import close_orphan_runs, run_trial
from gatelab.search.storage import StudyStore, open_store
from gatelab.search.studies import budget_status, check_tracking_store, open_study, study_name
from gatelab.search.workers import SharedSearch, Worker
from gatelab.selection import DEFAULT_SEEDS, Search, Seeds, measure_side_by_side, select, test_metric
from gatelab.tracking import tags as tag
from gatelab.tracking.client import Tracker, git_sha, run_params, store_relative_uri, tracking_uri
from gatelab.tracking.lifecycle import end_run, tracked
from gatelab.tracking.tags import run_tags
from gatelab.training.experiment import Experiment, load_experiment
from gatelab.training.task import describe_data_report
from gatelab.verdict import COSTS, Verdict, best_trials, cell_result, cost_ratios, decide, representative, sign

__all__ = ["DEFAULT_SEEDS", "REPEAT_SEED_OFFSET", "OpenSweep", "Sweep", "SweepGroup", "stored_sweep", "sweep_id"]

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
            return _conclude_unless_skipped(opened.context, [opened], seeds, self.register, self.plots)

    def report(self, seeds: Seeds = DEFAULT_SEEDS) -> Report:
        """Select and report again on this sweep's search as it stands, without running any trial.

        Raises:
            MissingResultsError: the sweep never ran in this store, or has too few completed trials.
        """
        _check_ran(self)
        opened = self.open()
        with tracked(opened.tracker, opened.parent):
            return _conclude(opened.context, [opened], seeds, self.register, self.plots)

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
            parent = _parent_run(tracker, self, self.id, fingerprint, data_report, tags)
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


@dataclass(frozen=True)
class SweepGroup:
    """``repeats`` searches of ``base``'s settings, one after another in this process, pooled in one verdict.

    Repeat ``r`` is ``base`` with ``repeat=r`` (its own studies and parent run, the TPE sampler seed
    ``REPEAT_SEED_OFFSET + r``; repeat 0 is ``base`` itself); the group has a parent run of its own, id
    ``<base id>x<repeats>``. Its repeats never use ``base.launch``: they run here.

    Raises:
        ConfigError: ``repeats`` below 1, or a ``seed`` in the repeats' space.
    """

    base: Sweep
    repeats: int

    def __post_init__(self) -> None:
        if self.repeats < 1:
            raise ConfigError(f"repeats={self.repeats}: the search runs at least once; give REPEATS=1 or more "
                              "(--repeats, default 1).")
        if not 0 <= self.base.experiment.seed < REPEAT_SEED_OFFSET:
            raise ConfigError(f"seed={self.base.experiment.seed}: with repeats the sweep's seed must lie in [0, "
                              f"{REPEAT_SEED_OFFSET}), below the repeats' sampler seeds; give a smaller SEED.")

    @property
    def id(self) -> str:
        return f"{self.base.base_id}x{self.repeats}"

    @property
    def experiment(self) -> Experiment:
        return self.base.experiment

    @property
    def cells(self) -> list[str]:
        return self.base.cells

    @property
    def budget(self) -> int:
        return self.base.budget

    @property
    def members(self) -> list[Sweep]:
        """Each search repeat, in order."""
        return [replace(self.base, repeat=index) for index in range(self.repeats)]

    def parent_run(self) -> str | None:
        """The group's parent run, if it ran in this store."""
        return self.base.tracker().find_parent(self.id)

    def run(self, seeds: Seeds = DEFAULT_SEEDS) -> Report | None:
        """Each repeat's search in turn, then the pooled verdict (``Sweep.run``)."""
        with self._opened(search=True) as (context, opened):
            return _conclude_unless_skipped(context, opened, seeds, self.base.register, self.base.plots)

    def report(self, seeds: Seeds = DEFAULT_SEEDS) -> Report:
        """The pooled verdict made again, without running any trial (``Sweep.report``)."""
        _check_ran(self)
        with self._opened(search=False) as (context, opened):
            return _conclude(context, opened, seeds, self.base.register, self.base.plots)

    @contextmanager
    def _opened(self, search: bool) -> Iterator[tuple[SweepContext, list[OpenSweep]]]:
        """Each repeat opened and (where ``search``) searched in turn, then the group's parent run: the group's
        context and the opened repeats; every parent run stays open until the block has ended."""
        with ExitStack() as stack:
            opened = []
            for member in self.members:
                member_open = member.open()
                stack.enter_context(tracked(member_open.tracker, member_open.parent))
                if search:
                    if self.base.progress:
                        print(f"gatelab: search repeat {member.repeat + 1} of {self.repeats} (sweep {member.id}, "
                              f"sampler seed {member.sampler_seed})", file=sys.stderr, flush=True)
                    if member.repeat == 0:  # every repeat reads the same data: said once
                        print(describe_data_report(member_open.data_report), end="", file=sys.stderr, flush=True)
                    member_open.work()
                member_open.tracker.set_tags(member_open.parent, {tag.VERDICT: f"group {self.id}"})
                opened.append(member_open)
            first = opened[0].context
            parent = _parent_run(first.tracker, self.base, self.id, first.fingerprint, opened[0].data_report,
                                 {tag.REPEATS: str(self.repeats)})
            with tracked(first.tracker, parent):
                yield replace(first, sweep=self.id, parent=parent), opened


def _check_ran(sweep: Sweep | SweepGroup) -> None:
    """Raise ``MissingResultsError`` where ``sweep`` has no parent run in its store."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if sweep.parent_run() is None:
        task = sweep.experiment.task
        raise MissingResultsError(f"sweep {sweep.id} of task '{task}' has no run in {sweep.members[0].store}/: "
                                  f"run `gatelab sweep --task {task}` first.", task)


def _parent_run(tracker: Tracker, sweep: Sweep, run_sweep: str, fingerprint: str, data_report: dict[str, Any],
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


def _conclude_unless_skipped(context: SweepContext, searches: Sequence[OpenSweep], seeds: Seeds, register: bool,
                             plots: bool) -> Report | None:
    """``_conclude``, or with ``seeds`` 0 only a ``pending`` verdict tag on the parent run (no report)."""
    if seeds == 0:
        context.tracker.set_tags(context.parent, {tag.VERDICT: "pending"})
        return None
    return _conclude(context, searches, seeds, register, plots)


def _conclude(context: SweepContext, searches: Sequence[OpenSweep], seeds: Seeds, register: bool,
              plots: bool) -> Report:
    """Select, decide and report on ``context``'s parent run; a sweep whose results are missing says so there, and
    raises."""
    try:
        verdict = _select_and_decide(context, searches, seeds)
    except MissingResultsError as error:
        context.tracker.set_tags(context.parent, {tag.VERDICT: "none", tag.MISSING: str(error)})
        raise
    return publish(context.tracker, context.parent, verdict, [search.studies for search in searches],
                   context.objective, register, plots)


def _select_and_decide(context: SweepContext, searches: Sequence[OpenSweep], seeds: Seeds,
                       confidence: float = 0.95) -> Verdict:
    """Retrain each cell's best trial (of every search) on ``seeds`` seeds, time the cells' models side by side,
    and decide."""
    task, direction, objective = context.experiment.task, context.direction, context.objective
    found = [Search(search.context, best_trials(search.studies, task, search.sweep.id)) for search in searches]
    runs, seeding = select(found, seeds, confidence)
    if len(searches) > 1:
        samplers = ", ".join(str(search.sweep.sampler_seed) for search in searches)
        seeding += (f"; pooled over {len(searches)} search repeats (TPE sampler seeds {samplers}): each cell's best "
                    "configuration of every repeat retrained on the same seeds, so the intervals hold the "
                    "search's luck and the seeds'")
    best = {cell: max((search.best[cell] for search in found),
                      key=lambda trial: sign(direction) * cast(float, trial.value)) for cell in found[0].best}
    models = {cell: representative(cell_runs, objective, direction).run_id for cell, cell_runs in runs.items()}
    timed = measure_side_by_side(context, models)
    results = [cell_result(cell=cell, trials=[trial for search in searches
                                              for trial in search.studies[cell].get_trials(deepcopy=False)],
                           trial=best[cell], runs=runs[cell], objective=objective, direction=direction,
                           timings=timed.rounds[cell], inference_memory_mib=timed.memory_mib[cell],
                           confidence=confidence)
               for cell in best]
    ratios = cost_ratios(timings=timed.rounds, confidence=confidence,
                         macs={result.cell: result.costs["macs"] for result in results if "macs" in result.costs})
    settings = context.experiment.sweep
    decision = decide(cells=results, metric=test_metric(objective), direction=direction, cost=COSTS[settings.cost],
                      tolerance=settings.tie_tolerance, ratios=ratios, confidence=confidence)
    timing = {"device": timed.device, "rounds": len(next(iter(timed.rounds[results[0].cell].values()))),
              "large_batch": timed.large_batch, "memory": timed.memory_kind, "batch1_calls": timed.calls,
              "form": "exported program (torch.export), as registered"}
    return Verdict(task=task, sweep=context.sweep, direction=direction, cells=results, decision=decision,
                   timing=timing, seeding=seeding)


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
