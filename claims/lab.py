"""The claims' laboratory: sweeps run (or resumed, or read back) in the ``gatelab-claims`` experiment, once each.

Every sweep of a claims run is a child of its parent run, in the experiment ``gatelab-claims``, with an id of
its own (``<id>-claims``), its own verdict, no plots and no registered model: it never moves a task's champion. A
sweep that ended before with a verdict is read back from its ``verdict.json``; one that did not resumes
(Optuna's studies, the selection's finished seeds).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from gatelab.errors import ConfigError, MissingResultsError
from gatelab.pipeline import Sweep
from gatelab.search.storage import open_store
from gatelab.search.studies import study_name
from gatelab.tracking import tags as tag
from gatelab.tracking.client import Tracker
from gatelab.training.experiment import Experiment, load_experiment
from gatelab.verdict import sign

from claims.config import Budget

__all__ = ["EXPERIMENT", "Lab", "Outcome", "SweepSpec"]

#: The MLflow experiment of every claims run and sweep.
EXPERIMENT = "gatelab-claims"


@dataclass(frozen=True)
class SweepSpec:
    """A sweep a rule needs: the task and the config keys set over the budget's layer (dotted keys)."""

    task: str
    overrides: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, task: str, overrides: Mapping[str, Any] | None = None) -> SweepSpec:
        return cls(task, tuple(sorted((overrides or {}).items())))

    def describe(self) -> str:
        return self.task + "".join(f", {key.rsplit('.', 1)[-1]}={value}" for key, value in self.overrides)


@dataclass
class Outcome:
    """A finished sweep as the rules read it.

    Args:
        spec: what was asked for.
        sweep: the sweep's id.
        run: its parent run in ``gatelab-claims``.
        verdict: its ``verdict.json`` (``gatelab.verdict.Verdict.to_dict``).
        studies: each cell's Optuna study.
        experiment: its settings.
    """

    spec: SweepSpec
    sweep: str
    run: str
    verdict: dict[str, Any]
    studies: dict[str, optuna.Study]
    experiment: Experiment

    @property
    def metric(self) -> str:
        return self.verdict["metric"]

    @property
    def direction(self) -> str:
        return self.verdict["direction"]

    def cell(self, name: str) -> dict[str, Any]:
        return next(result for result in self.verdict["cells"] if result["cell"] == name)

    def values(self, cell: str, metric: str | None = None) -> list[float]:
        """The cell's test metric (default: the verdict's) per selection seed, in seed order."""
        return list(self.cell(cell)["test"][metric or self.metric])

    def advantage(self, metric: str | None = None, better: str = "lstm", worse: str = "gru") -> list[float]:
        """Per seed, ``better`` minus ``worse`` on the test metric, signed so that a positive value favours ``better``
        whichever way the objective points."""
        return [sign(self.direction) * (first - second)
                for first, second in zip(self.values(better, metric), self.values(worse, metric), strict=True)]

    @property
    def runs(self) -> list[str]:
        """The sweep's parent run and every selection run."""
        return [self.run, *(run for result in self.verdict["cells"] for run in result["seed_runs"])]


@dataclass
class Lab:
    """Runs the sweeps of one claims run, each once, as children of ``parent`` in ``tracker``'s experiment.

    Args:
        store: the MLflow store and Optuna journal folder.
        budget: the claims budget.
        tracker: the ``gatelab-claims`` experiment.
        parent: the claims run.
        layers: each task's config layer file of the budget.
        done: called after each sweep ends (the progress bar).
    """

    store: Path
    budget: Budget
    tracker: Tracker
    parent: str
    layers: dict[str, Path]
    done: Callable[[str], None] = lambda label: None
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def config(self, spec: SweepSpec) -> Experiment:
        """The sweep's settings: the task's config, the budget's layer, then the spec's keys."""
        return load_experiment(spec.task, [self.layers[spec.task]] if spec.task in self.layers else [],
                               dict(spec.overrides))

    def runner(self, spec: SweepSpec) -> Sweep:
        """The sweep ``spec`` asks for (not run yet): in ``gatelab-claims``, under the claims run, registering nothing
        and drawing no plots (the claims draw one figure per rule)."""
        return Sweep(self.config(spec), self.store, progress=False, mlflow_experiment=EXPERIMENT,
                     nest_under=self.parent, register=False, plots=False)

    def sweep(self, spec: SweepSpec) -> Outcome:
        """The finished sweep ``spec`` asks for: run, resumed or read back (once per claims run and sweep id)."""
        runner = self.runner(spec)
        if runner.id in self.outcomes:
            return self.outcomes[runner.id]
        verdict = self.stored_verdict(runner.id)
        if verdict is None:
            print(f"gatelab: claims: sweep {runner.id} ({spec.describe()})", file=sys.stderr, flush=True)
            report = runner.run(self.budget.seeds)
            if report is None:
                raise ConfigError(f"claims budget '{self.budget.name}': seeds={self.budget.seeds} skips every sweep's "
                                  "verdict; give seeds of 2 or more in configs/claims.yaml.")
            verdict = json.loads(report.verdict.to_json())
        storage = open_store(None, self.store).storage
        studies = {cell: optuna.load_study(study_name=study_name(spec.task, runner.id, cell), storage=storage)
                   for cell in runner.cells}
        run = self.tracker.find_parent(runner.id)
        if run is None:  # the sweep just ran, or its verdict was read from its run
            raise MissingResultsError(f"sweep {runner.id} of the claims has no parent run in {self.store}/.", spec.task)
        outcome = Outcome(spec, runner.id, run, verdict, studies, runner.experiment)
        self.outcomes[runner.id] = outcome
        self.done(spec.describe())
        return outcome

    def stored_verdict(self, sweep: str) -> dict[str, Any] | None:
        """The verdict of a sweep that ended before with one, else None."""
        run_id = self.tracker.find_parent(sweep)
        if run_id is None:
            return None
        run = self.tracker.client.get_run(run_id)
        if run.data.tags.get(tag.VERDICT, "pending") in ("pending", "none") or run.info.status != "FINISHED":
            return None
        with tempfile.TemporaryDirectory() as folder:
            path = self.tracker.client.download_artifacts(run_id, "verdict.json", folder)
            return json.loads(Path(path).read_text())["verdict"]
