"""The sweep: open -> search -> select -> decide -> report.

One Optuna study per cell, the same space, budget, seeds and data; every run tracked in MLflow under
the sweep's parent run. ``Sweep`` drives the stages; the stages themselves live in the layers below
and receive a ``SweepContext`` or explicit arguments, never the ``Sweep``.

With ``repeats`` k > 1 the whole search runs k times, each repeat a sweep of its own (its studies, its
parent run) differing only in the TPE sampler's seed; the group (id ``<sweep id>x<k>``, a parent run of
its own) pools each cell's best configuration of every repeat, retrained on the same selection seeds.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from jsonargparse import ArgumentParser, Namespace
from optuna.storages import RDBStorage
from optuna.trial import TrialState
from tqdm.auto import tqdm

from gatelab.baselines import fit_baselines
from gatelab.errors import ConfigError, MissingResultsError
from gatelab.report.publish import publish
from gatelab.report.tables import Report
from gatelab.search.context import SweepContext
from gatelab.search.objective import close_orphan_runs, run_trial
from gatelab.search.storage import StudyStore, open_store
from gatelab.search.studies import budget_status, check_tracking_store, open_study, study_name
from gatelab.search.workers import SharedSearch, Worker
from gatelab.selection import SeedRun, retrain, selection_seeds
from gatelab.stats import paired_comparison, seeds_for_width
from gatelab.tracking import tags as tag
from gatelab.tracking.client import Tracker, git_sha, run_params, store_relative_uri, tracking_uri
from gatelab.tracking.lifecycle import end_run, tracked
from gatelab.tracking.model_registry import load_saved_model
from gatelab.tracking.tags import run_tags
from gatelab.training.config import build_parser, instantiate_run, load_config, with_overrides
from gatelab.training.costs import SideBySide, run_device, side_by_side
from gatelab.training.task import describe_data_report
from gatelab.verdict import (
    COSTS,
    Verdict,
    best_trials,
    cell_result,
    cost_ratios,
    decide,
    representative,
    sign,
)

__all__ = ["DEFAULT_SEEDS", "REPEAT_SEED_OFFSET", "Sweep", "stored_sweep", "sweep_id"]

# Settings that may change without starting a new sweep: a bigger budget or another cell extends it, and
# the cost that breaks a tie changes the verdict only.
_RESUMABLE_KEYS = ("sweep.trials", "sweep.cells", "sweep.cost", "sweep.max_seeds")
#: The parent run's artifact holding the side-by-side timings of the cells' models.
SIDE_BY_SIDE_ARTIFACT = "costs/side_by_side.json"
#: Seeds each cell's best configuration is retrained with after the search (also ``auto``'s first round).
DEFAULT_SEEDS = 3
#: ``seeds``: a number of selection seeds, or ``auto`` (rounds of seeds up to ``sweep.max_seeds``).
Seeds = int | str
#: Search repeat ``r`` >= 1 samples with the TPE seed ``REPEAT_SEED_OFFSET + r`` (repeat 0 is the sweep itself, with
#: ``seed``): a space of its own, above every sweep ``seed`` a group accepts, so it never equals another sweep's.
REPEAT_SEED_OFFSET = 2**31


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
        cfg: the validated config (``gatelab.training.config.load_config``).
        store: folder of the MLflow database, its artifacts and (by default) the Optuna journal.
        progress: show progress bars on stderr.
        storage: the Optuna storage's URL (``gatelab.search.storage.open_store``); None: a journal in ``store``.
        heartbeat: seconds between a running trial's heartbeats (PostgreSQL storage).
        launch: runs the workers (``gatelab.launch``); None: one worker in this process.
        repeats: how many times the whole search runs, with different sampler seeds (a group when above 1).
        repeat: which repeat of a group this sweep is (0: the sweep itself, sampling with ``seed``).
        experiment: the MLflow experiment of its runs (default ``gatelab-<task>``); another one also gives the
            sweep an id of its own (``<id>-<experiment without gatelab->``), so that its studies never mix with a
            task sweep's of the same settings.
        nest_under: a run the sweep's parent run is nested under (``mlflow.parentRunId``), e.g. a claims run.
        register: register the chosen cell's model (and the runner-up's) in the Model Registry; a sweep that
            only gathers evidence (``make claims``) registers none, so it never moves a task's champion.
        plots: draw the report's plots (``make claims`` draws its own figures, one per rule, and skips them).

    Raises:
        ConfigError: ``repeats`` below 1, or a group with several workers or a ``seed`` in the repeats' space.
    """

    parser: ArgumentParser
    cfg: Namespace
    store: Path
    progress: bool = True
    storage: str | None = None
    heartbeat: int = 10
    launch: Callable[[Sweep], None] | None = None
    repeats: int = 1
    repeat: int = 0
    experiment: str | None = None
    nest_under: str | None = None
    register: bool = True
    plots: bool = True
    id: str = field(init=False)

    def __post_init__(self) -> None:
        if self.repeats < 1:
            raise ConfigError(f"repeats={self.repeats}: the search runs at least once; give REPEATS=1 or more "
                              "(--repeats, default 1).")
        if self.repeats > 1 and self.launch is not None:
            raise ConfigError(f"repeats={self.repeats}: search repeats run in this process; drop WORKERS (--workers) "
                              "or run REPEATS=1.")
        if self.repeats > 1 and not 0 <= self.cfg.seed < REPEAT_SEED_OFFSET:
            raise ConfigError(f"seed={self.cfg.seed}: with repeats the sweep's seed must lie in [0, "
                              f"{REPEAT_SEED_OFFSET}), below the repeats' sampler seeds; give a smaller SEED.")
        base = sweep_id(self.cfg) + (f"-{self.experiment.removeprefix('gatelab-')}" if self.experiment else "")
        self.id = (f"{base}x{self.repeats}" if self.repeats > 1  # a group of repeats
                   else f"{base}-r{self.repeat}" if self.repeat else base)
        self.sampler_seed: int = self.cfg.seed if self.repeat == 0 else REPEAT_SEED_OFFSET + self.repeat
        self.cells: list[str] = list(self.cfg.sweep.cells)
        self.budget: int = self.cfg.sweep.trials
        self.lock_name = f"{self.cfg.task}-{self.id}"
        self.members = [Sweep(self.parser, self.cfg, self.store, self.progress, self.storage, self.heartbeat,
                              repeat=index, experiment=self.experiment, nest_under=self.nest_under,
                              register=self.register, plots=self.plots)
                        for index in range(self.repeats)] if self.repeats > 1 else [self]

    def run(self, seeds: Seeds = DEFAULT_SEEDS) -> Report | None:
        """Check the data, run each cell's remaining trials in step, then select, report and return the report.

        Args:
            seeds: seeds each cell's best configuration is retrained with (see ``gatelab.selection``);
                0 skips the selection and the report (``report`` makes them later) and returns None.
        """
        if self.repeats > 1:
            return self._run_group(seeds, search=True)
        self.open()
        print(describe_data_report(self.data_report), end="", file=sys.stderr, flush=True)
        with tracked(self.tracker, self.parent):
            self.launch(self) if self.launch else self.work()
            return self._conclude_unless_skipped(seeds)

    def report(self, seeds: Seeds = DEFAULT_SEEDS) -> Report:
        """Select and report again on this sweep's search as it stands, without running any trial.

        Raises:
            MissingResultsError: the sweep never ran in this store, or has too few completed trials.
        """
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        if Tracker(self.store, self.cfg.task, self.experiment).find_parent(self.id) is None:
            raise MissingResultsError(f"sweep {self.id} of task '{self.cfg.task}' has no run in {self.store}/: "
                                      f"run `gatelab sweep --task {self.cfg.task}` first.", self.cfg.task)
        if self.repeats > 1:
            return self._run_group(seeds, search=False)
        self.open()
        with tracked(self.tracker, self.parent):
            return self._conclude(seeds)

    def _run_group(self, seeds: Seeds, search: bool) -> Report | None:
        """A group of repeats: each repeat's search (where ``search``) in turn, then the pooled verdict on the
        group's parent run; every repeat's parent run stays open until the group's selection has ended."""
        with ExitStack() as stack:
            for member in self.members:
                member.open()
                stack.enter_context(tracked(member.tracker, member.parent))
                if search:
                    if self.progress:
                        print(f"gatelab: search repeat {member.repeat + 1} of {self.repeats} (sweep {member.id}, "
                              f"sampler seed {member.sampler_seed})", file=sys.stderr, flush=True)
                    if member.repeat == 0:  # every repeat reads the same data: said once
                        print(describe_data_report(member.data_report), end="", file=sys.stderr, flush=True)
                    member.work()
                member.tracker.set_tags(member.parent, {tag.VERDICT: f"group {self.id}"})
            first = self.members[0]
            self.tracker, self.objective, self.direction = first.tracker, first.objective, first.direction
            self.fingerprint, self.data_report, self.studies = first.fingerprint, first.data_report, first.studies
            self.parent = self._parent_run()
            with tracked(self.tracker, self.parent):
                return self._conclude_unless_skipped(seeds)

    def open(self) -> dict[str, optuna.Study]:
        """Check the stores and the data, then find or create the parent run and the studies (under the sweep's lock).

        Nothing is written to either store before the checks pass, and an error after the parent run is
        reopened ends it (never left RUNNING).
        """
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        uri = store_relative_uri(tracking_uri(self.store), self.store)
        self.study_store: StudyStore = open_store(self.storage, self.store, self.heartbeat)
        check_tracking_store(self.study_store.storage, self.cfg.task, self.id, uri,
                             f"{self.study_store.display} (<store> is {self.store.resolve()})")
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
        self.data_report: dict[str, Any] = base.data.data_report()
        with self.study_store.lock(self.lock_name):
            self.tracker = Tracker(self.store, self.cfg.task, self.experiment)
            self.parent = self._parent_run()
            try:
                self.studies = {cell: open_study(self.study_store.storage, study_name(self.cfg.task, self.id, cell),
                                                 self.cfg.sweep, self.sampler_seed, self.direction, self.parent, uri)
                                for cell in self.cells}
            except BaseException as error:
                end_run(self.tracker, self.parent, error)
                raise
        self.context = SweepContext(self.parser, self.cfg, self.id, self.tracker, self.parent, self.fingerprint,
                                    self.objective, self.direction, self.progress)
        return self.studies

    def work(self) -> None:
        """Run trials in this process until the budget is met, with an overall progress bar."""
        bar = self.progress_bar()
        search = SharedSearch(self.studies, self.study_store, self.lock_name, self.budget)
        worker = Worker(search, lambda cell, trial: run_trial(self.context, cell, trial),
                        tidy=lambda: close_orphan_runs(self.context, self.studies))
        worker.run(on_trial=lambda: self.show_progress(bar))
        bar.close()

    def _parent_run(self) -> str:
        existing = self.tracker.find_parent(self.id)
        if existing:
            self.tracker.reopen(existing)
            return existing
        tags = run_tags(self.cfg.task, ",".join(self.cells), self.cfg.seed, git_sha(), sweep=self.id,
                        fingerprint=self.fingerprint) | {tag.ROLE: tag.ROLE_SWEEP}
        if self.repeats > 1:
            tags[tag.REPEATS] = str(self.repeats)
        elif self.repeat:
            tags[tag.REPEAT] = str(self.repeat)
        params = run_params(self.cfg, leave_out=("search_space",)) | self.data_report
        run_id = self.tracker.start_run(f"sweep-{self.id}", tags, params, parent=self.nest_under)
        self.tracker.client.log_text(run_id, self.parser.dump(self.cfg), "sweep_config.yaml")
        return run_id

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

    def _conclude_unless_skipped(self, seeds: Seeds) -> Report | None:
        """``_conclude``, or with ``seeds`` 0 only a ``pending`` verdict tag on the parent run (no report)."""
        if seeds == 0:
            self.tracker.set_tags(self.parent, {tag.VERDICT: "pending"})
            return None
        return self._conclude(seeds)

    def _conclude(self, seeds: Seeds) -> Report:
        """Select, decide and report; a sweep whose results are missing says so on its parent run, and raises."""
        try:
            verdict = self._select_and_decide(seeds)
        except MissingResultsError as error:
            self.tracker.set_tags(self.parent, {tag.VERDICT: "none", tag.MISSING: str(error)})
            raise
        return publish(self.tracker, self.parent, verdict, [member.studies for member in self.members], self.objective,
                       self.register, self.plots)

    def _select_and_decide(self, seeds: Seeds, confidence: float = 0.95) -> Verdict:
        """Retrain each cell's best trial (of every repeat) on ``seeds`` seeds, time the cells' models side by side,
        and decide."""
        searches = [(member.context, best_trials(member.studies, self.cfg.task, member.id)) for member in self.members]
        if seeds == "auto":
            runs, seeding = self._seeds_until_precise(searches, confidence)
        else:
            runs, seeding = self._retrain(searches, int(seeds)), f"{seeds} seeds, as given"
        if self.repeats > 1:
            samplers = ", ".join(str(member.sampler_seed) for member in self.members)
            seeding += (f"; pooled over {self.repeats} search repeats (TPE sampler seeds {samplers}): each cell's best "
                        "configuration of every repeat retrained on the same seeds, so the intervals hold the "
                        "search's luck and the seeds'")
        best = {cell: max((found[cell] for _, found in searches), key=lambda trial: self._sign * trial.value)
                for cell in searches[0][1]}
        models = {cell: representative(cell_runs, self.objective, self.direction).run_id
                  for cell, cell_runs in runs.items()}
        baselines = fit_baselines(searches[0][0], self.parent, [run.seed for run in next(iter(runs.values()))],
                                  confidence)
        timed = self._side_by_side(models)
        results = [cell_result(cell, [trial for member in self.members for trial in
                                      member.studies[cell].get_trials(deepcopy=False)], best[cell], runs[cell],
                               self.objective, self.direction, timed.rounds[cell], timed.memory_mib[cell], confidence)
                   for cell in best]
        ratios = cost_ratios(timed.rounds, {result.cell: result.costs["macs"] for result in results
                                            if "macs" in result.costs}, confidence)
        metric = self._test_metric
        tolerance, cost = self.cfg.sweep.tie_tolerance, COSTS[self.cfg.sweep.cost]
        decision = decide(results, metric, self.direction, cost, tolerance, ratios, confidence, baselines)
        timing = {"device": timed.device, "rounds": len(next(iter(timed.rounds[results[0].cell].values()))),
                  "large_batch": timed.large_batch, "memory": timed.memory_kind, "batch1_calls": timed.calls,
                  "form": "exported program (torch.export), as registered"}
        return Verdict(self.cfg.task, self.id, self.direction, results, decision, timing, seeding, baselines)

    @property
    def _sign(self) -> float:
        return sign(self.direction)

    @property
    def _test_metric(self) -> str:
        """The objective's metric on the test split (``val/auprc`` -> ``test/auprc``)."""
        return "test/" + self.objective.split("/", 1)[-1]

    def _retrain(self, searches: Sequence[tuple[SweepContext, Mapping[str, optuna.trial.FrozenTrial]]],
                 count: int) -> dict[str, list[SeedRun]]:
        """Each cell's best trial of every search (a repeat's context and best trials) retrained on ``count``
        selection seeds, as children of that search's parent run; per cell the runs in order (search, seed)."""
        seeds = selection_seeds(self.cfg.seed, count)
        return {cell: [run for context, best in searches for run in retrain(context, cell, best[cell], seeds)]
                for cell in searches[0][1]}

    def _seeds_until_precise(self, searches: Sequence[tuple[SweepContext, Mapping[str, optuna.trial.FrozenTrial]]],
                             confidence: float) -> tuple[dict[str, list[SeedRun]], str]:
        """``--seeds auto``: retrain in rounds until the paired interval between the best cell and the runner-up
        is narrower than twice the tie tolerance, or ``sweep.max_seeds`` is reached.

        The target is a precision fixed in advance, never "until the difference is significant" (stopping
        at significance inflates false differences). The first round has ``DEFAULT_SEEDS`` seeds; each
        next round goes to the seeds the spread seen so far says the target needs (at least one more).

        Returns:
            Each cell's runs, and how the seeding ended, in words.
        """
        limit, target = self.cfg.sweep.max_seeds, 2 * self.cfg.sweep.tie_tolerance
        metric = self._test_metric
        count = min(DEFAULT_SEEDS, limit)
        while True:
            runs = self._retrain(searches, count)
            values = {cell: [run.metrics[metric] for run in cell_runs] for cell, cell_runs in runs.items()}
            first, second = sorted(values, key=lambda cell: -self._sign * sum(values[cell]))[:2]
            interval = paired_comparison(values[first], values[second], confidence).difference
            width = interval.high - interval.low
            if width < target:
                return runs, (f"seeds=auto: {count} seeds; the paired interval of {first.upper()} and "
                              f"{second.upper()} is {width:.3g} wide, narrower than twice the tie tolerance")
            if count >= limit:
                return runs, (f"seeds=auto: stopped at sweep.max_seeds={limit}; the paired interval of "
                              f"{first.upper()} and {second.upper()} is still {width:.3g} wide, not narrower than "
                              f"twice the tie tolerance ({target:.3g})")
            spread = float(np.std(np.subtract(values[first], values[second]), ddof=1))
            count = min(limit, max(count + 1, seeds_for_width(spread, target, confidence)))
            if self.progress:
                print(f"gatelab: seeds=auto: the paired interval is {width:.3g} wide; retraining up to {count} seeds",
                      file=sys.stderr, flush=True)

    def _side_by_side(self, models: Mapping[str, str]) -> SideBySide:
        """The timings of the cells' models (``{cell: run}``), measured side by side in this process on the
        first one's saved input example, in the exported form that is registered; read back from the
        parent run when these very models were timed before, so that a report made again decides alike."""
        client = self.tracker.client
        if client.list_artifacts(self.parent, SIDE_BY_SIDE_ARTIFACT.split("/")[0]):
            with tempfile.TemporaryDirectory() as folder:
                stored = json.loads(Path(client.download_artifacts(self.parent, SIDE_BY_SIDE_ARTIFACT,
                                                                   folder)).read_text())
            if stored["models"] == dict(models):
                return SideBySide(**stored["measured"])
        loaded = {cell: load_saved_model(self.tracker, run_id) for cell, run_id in models.items()}
        sequences = next(iter(loaded.values()))[1]
        if self.progress:
            print(f"gatelab: timing {', '.join(cell.upper() for cell in loaded)} side by side", file=sys.stderr,
                  flush=True)
        measured = side_by_side({cell: model for cell, (model, _) in loaded.items()}, sequences,
                                run_device(self.cfg.trainer.accelerator))
        client.log_text(self.parent, json.dumps({"models": dict(models), "measured": asdict(measured)}),
                        SIDE_BY_SIDE_ARTIFACT)
        return measured


def stored_sweep(task: str, store: Path, sweep: str | None = None) -> Sweep:
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
        path = tracker.client.download_artifacts(run.info.run_id, "sweep_config.yaml", folder)
        cfg = load_config(task, [path])
    repeats, repeat = int(run.data.tags.get(tag.REPEATS, 1)), int(run.data.tags.get(tag.REPEAT, 0))
    searched = run.data.tags[tag.SWEEP].removesuffix(f"x{repeats}") if repeats > 1 else run.data.tags[tag.SWEEP]
    prefix = study_name(task, searched, "")
    names = optuna.get_all_study_names(open_store(None, store).storage)
    cells = [name.removeprefix(prefix) for name in names
             if name.startswith(prefix) and "-" not in name.removeprefix(prefix)]  # not a repeat's study
    parser = build_parser()
    found = Sweep(parser, with_overrides(parser, cfg, {"sweep.cells": cells or list(cfg.sweep.cells)}), store,
                  repeats=repeats, repeat=repeat)
    if found.id != run.data.tags[tag.SWEEP]:
        raise MissingResultsError(f"the stored config of sweep {run.data.tags[tag.SWEEP]} now reads as sweep "
                                  f"{found.id}: it was made by another gatelab version; rerun the sweep.", task)
    return found
