"""The verdict's results: each cell's outcome, the cost ratios between cells, and the verdict that holds them.

A cell's outcome gathers its search (counts, best trial, budget curve), its selection seeds' test metrics with
their intervals, and its costs (medians over the seeds, timed ones over interleaved rounds with intervals).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, cast

import optuna

from gatelab.search.objective import MLFLOW_RUN_ATTR
from gatelab.stats import (
    BudgetCurve,
    Interval,
    Median,
    bounded_interval,
    budget_curve,
    mean_interval,
    median_interval,
    ratio_interval,
)
from gatelab.training.costs import LARGE_BATCH, SEED_COSTS
from gatelab.training.folds import FOLD_STD, fold_count
from gatelab.verdict.decision import Comparison, CostRatio, Decision, Rule
from gatelab.verdict.search import search_counts, search_values

__all__ = ["BOUNDED_METRICS", "COSTS", "BaselineResult", "CellResult", "SeedMeasurement", "SeedScores", "Verdict",
           "baseline_result", "cell_result", "cost_ratios", "is_bounded", "representative", "sign"]

#: ``sweep.cost`` settings and the cost each names (lower is cheaper).
COSTS = {"latency": f"latency_ms_batch{LARGE_BATCH}", "latency_batch1": "latency_ms_batch1", "macs": "macs"}
#: Test metrics that are scores in [0, 1] (torchmetrics' classification scores), by their name after ``test/``
#: or its start: their per-cell intervals are computed on the logit scale, so that they stay in range.
BOUNDED_METRICS = ("auprc", "auroc", "accuracy", "f1", "macro_f1", "precision", "recall", "se_", "ppv_",
                   "card_precision_at_")


@dataclass
class SeedMeasurement(Protocol):
    """One selection run as the verdict reads it (``gatelab.selection.SeedRun``)."""

    seed: int
    run_id: str
    metrics: dict[str, float]
    device: str


@dataclass(kw_only=True)
class SeedScores:
    """Test metrics over seeds, as cells and baselines both have them.

    Args:
        seeds: the seeds (a seed pooled over search repeats repeats).
        seed_runs: the MLflow run of each seed's retraining or fit (a baseline that ignores the seed: one run for all).
        test: each test metric's value per seed (for a task tested on folds: the seed's mean over the test folds).
        fold_spread: for a task tested on folds, each test metric's standard deviation over the folds per seed;
            empty otherwise.
        folds: the test folds each seed was tested on (1: the task's one test split).
        intervals: each test metric's mean and confidence interval over the seeds.
    """

    seeds: list[int] = field(default_factory=list)
    seed_runs: list[str] = field(default_factory=list)
    test: dict[str, list[float]] = field(default_factory=dict)
    fold_spread: dict[str, list[float]] = field(default_factory=dict)
    folds: int = 1
    intervals: dict[str, Interval] = field(default_factory=dict)


@dataclass(kw_only=True)
class CellResult(SeedScores):
    """One cell's outcome: its search, its best configuration's seeds (``SeedScores``), and their measured costs.

    Args:
        cell: the cell's name.
        finished: trials that count towards the budget (completed, pruned, diverged).
        pruned: trials stopped early by the pruner.
        failed: trials that diverged or crashed.
        best_trial: number of the best trial.
        best_val: the best trial's validation objective.
        run_id: the best trial's MLflow run.
        params_chosen: the best trial's hyperparameters.
        costs: each cost: the median over the seeds of a seed's cost (parameters, multiply-accumulates,
            training time and memory), the median over the timing rounds of a timed one.
        cost_intervals: each timed cost's median over the rounds with its interval.
        device: where the costs were measured.
        model_run: the seed run whose model represents the cell (best validation objective).
        budget: the expected best validation objective of ``n`` of the finished trials (``search_values``).
        budget_pruned: trials in ``budget`` counted with their best reported value (stopped early).
        budget_left_out: finished trials left out of ``budget`` (stopped before reporting any value).
    """

    cell: str
    finished: int
    pruned: int
    failed: int
    best_trial: int
    best_val: float
    run_id: str
    params_chosen: dict[str, float | int | str] = field(default_factory=dict)
    costs: dict[str, float] = field(default_factory=dict)
    cost_intervals: dict[str, Median] = field(default_factory=dict)
    device: str = ""
    model_run: str = ""
    budget: BudgetCurve | None = None
    budget_pruned: int = 0
    budget_left_out: int = 0


@dataclass(kw_only=True)
class BaselineResult(SeedScores):
    """A baseline's outcome (``gatelab.training.baselines``): its test metrics on the cells' seeds (``SeedScores``,
    one seed per cell seed run and in their order).

    Args:
        name: the baseline's name.
    """

    name: str


@dataclass
class Verdict:
    """Everything the report shows: the sweep, its cells and the decision (``gatelab.verdict.decision.Decision``).

    Args:
        task, sweep: the task and the sweep's id.
        direction: ``maximize`` or ``minimize`` (the metric judged, the cost and the tie tolerance are the
            decision's).
        cells: each cell's outcome.
        decision: the rule's outcome.
        timing: how the costs were timed (device, rounds, batch sizes, the model's form).
        seeding: how many selection seeds, and why.
        baselines: the task's baselines on the same seeds (none where it declares none).
    """

    task: str
    sweep: str
    direction: str
    cells: list[CellResult]
    decision: Decision
    timing: dict[str, object] = field(default_factory=dict)
    seeding: str = ""
    baselines: list[BaselineResult] = field(default_factory=list)

    @property
    def metric(self) -> str:
        return self.decision.metric

    @property
    def cost(self) -> str:
        return self.decision.cost

    @property
    def tolerance(self) -> float:
        return self.decision.tolerance

    @property
    def choice(self) -> str:
        return self.decision.choice

    @property
    def runner_up(self) -> str:
        return self.decision.runner_up

    @property
    def rule(self) -> Rule:
        return self.decision.rule

    @property
    def comparisons(self) -> list[Comparison]:
        return self.decision.comparisons

    @property
    def cost_ratios(self) -> list[CostRatio]:
        return self.decision.cost_ratios

    def cell(self, name: str) -> CellResult:
        return next(result for result in self.cells if result.cell == name)

    def to_dict(self) -> dict[str, Any]:
        """The verdict as plain data: its own fields with the decision's beside them (``choice``, ``rule``,
        ``comparisons``, ``cost_ratios``, ``warnings``, ...), as ``verdict.json`` holds them."""
        data = asdict(self)
        return data.pop("decision") | data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def sign(direction: str) -> float:
    """1 where a higher value is better (``maximize``), -1 where a lower one is: ``sign * value`` ranks alike."""
    return 1.0 if direction == "maximize" else -1.0


def representative(runs: Sequence[SeedMeasurement], objective: str, direction: str) -> SeedMeasurement:
    """The seed run whose model represents its cell: the best validation objective."""
    return max(runs, key=lambda run: sign(direction) * run.metrics[f"best_{objective}"])


def cell_result(cell: str, trials: Sequence[optuna.trial.FrozenTrial], trial: optuna.trial.FrozenTrial,
                runs: Sequence[SeedMeasurement],
                objective: str, direction: str, timings: Mapping[str, Sequence[float]],
                inference_memory_mib: float, confidence: float = 0.95) -> CellResult:
    """One cell's outcome from its search, its selection runs and its representative model's timings.

    Args:
        cell: the cell's name.
        trials: the cell's trials (of every search repeat).
        trial: its best trial.
        runs: the selection runs of the best configuration (of each repeat), one per seed (and repeat).
        objective: the validation metric searched (``val/...``).
        direction: ``maximize`` or ``minimize``.
        timings: each timed cost's values over the rounds (``gatelab.training.costs.side_by_side``);
            the large batch's latency gives the throughput.
        inference_memory_mib: peak memory of a forward pass at the large batch.
        confidence: the intervals' confidence level.
    """
    finished, pruned, failed = search_counts(trials)
    values, early, left_out = search_values(trials, direction)
    seed_costs = [key for key in SEED_COSTS if all(key in run.metrics for run in runs)]
    timed = {key: median_interval(values, confidence) for key, values in timings.items()}
    large = COSTS["latency"]
    return CellResult(
        cell=cell, finished=finished, pruned=pruned, failed=failed, best_trial=trial.number,
        best_val=float(cast(float, trial.value)), run_id=trial.user_attrs[MLFLOW_RUN_ATTR],
        params_chosen=dict(trial.params), **_seed_scores(runs, confidence),
        costs={key: statistics.median(run.metrics[key] for run in runs) for key in seed_costs}
        | {key: interval.median for key, interval in timed.items()}
        | ({"throughput_per_s": 1e3 / timed[large].median} if large in timed else {})
        | {"peak_inference_memory_mib": inference_memory_mib},
        cost_intervals=timed, device=runs[0].device,
        model_run=representative(runs, objective, direction).run_id,
        budget=budget_curve(values, direction == "maximize") if values else None, budget_pruned=early,
        budget_left_out=left_out,
    )


def baseline_result(name: str, runs: Sequence[SeedMeasurement], confidence: float = 0.95) -> BaselineResult:
    """A baseline's outcome from its runs, one per seed (``gatelab.baselines.fit_baselines``), as a cell's."""
    return BaselineResult(name=name, **_seed_scores(runs, confidence))


def _seed_scores(runs: Sequence[SeedMeasurement], confidence: float) -> dict[str, Any]:
    """``SeedScores``' fields from the runs: each test metric's values over them with its interval, their
    spreads over the test folds, and the folds' count."""
    keys = sorted(key for key in runs[0].metrics if key.startswith("test/"))
    test = {key: [run.metrics[key] for run in runs] for key in keys}
    return {"seeds": [run.seed for run in runs], "seed_runs": [run.run_id for run in runs], "test": test,
            "fold_spread": {key: [run.metrics[FOLD_STD + key] for run in runs] for key in keys
                            if all(FOLD_STD + key in run.metrics for run in runs)},
            "folds": fold_count(runs[0].metrics, keys[0]) if keys else 1, "intervals": _intervals(test, confidence)}


def _intervals(test: Mapping[str, Sequence[float]], confidence: float) -> dict[str, Interval]:
    """Each test metric's mean and interval over the seeds (logit scale for scores in [0, 1])."""
    return {key: (bounded_interval if is_bounded(key) else mean_interval)(values, confidence)
            for key, values in test.items()}


def is_bounded(metric: str) -> bool:
    """Whether a test metric is a score in [0, 1] (``BOUNDED_METRICS``)."""
    name = metric.split("/", 1)[-1]
    return any(name == bounded or (bounded.endswith("_") and name.startswith(bounded)) for bounded in BOUNDED_METRICS)


def cost_ratios(timings: Mapping[str, Mapping[str, Sequence[float]]], macs: Mapping[str, float],
                confidence: float = 0.95) -> list[CostRatio]:
    """Every ordered pair of cells' cost ratios: per timed cost the median per-round ratio with its interval;
    for multiply-accumulates the exact ratio (an interval of width zero).

    Args:
        timings: per cell, each timed cost's values over the rounds (the rounds pair up across cells).
        macs: per cell, multiply-accumulates per sequence.
        confidence: the intervals' confidence level.
    """
    ratios = []
    for cell, costs in timings.items():
        for other, their in timings.items():
            if other == cell:
                continue
            ratios += [CostRatio(key, cell, other, ratio_interval(values, their[key], confidence))
                       for key, values in costs.items()]
            if cell in macs and other in macs:
                exact = macs[cell] / macs[other]
                ratios.append(CostRatio("macs", cell, other, Median(exact, exact, exact, 1)))
    return ratios


