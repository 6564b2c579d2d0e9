"""The verdict: which cell to use, how sure we are, and what it costs.

The rule, stated in every verdict: cells are ranked by their mean test metric over the selection
seeds. Every other cell is compared with the best one by a paired test over the seeds. A cell
whose difference from the best is within the seed noise (not distinguishable by the test) or
smaller than the tie tolerance is tied with it, and among tied cells the cheaper one is picked:
lower inference latency per sequence at the large batch, or, where latencies are within 10% of each
other, fewer parameters. Otherwise the best cell is picked
and its price relative to the runner-up is stated.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol

import optuna
from optuna.trial import TrialState

from gatelab.errors import MissingResultsError
from gatelab.search.objective import MLFLOW_RUN_ATTR
from gatelab.search.studies import counts_towards_budget
from gatelab.stats import Interval, Paired, mean_interval, paired_comparison
from gatelab.training.costs import COST_KEYS, LARGE_BATCH

__all__ = ["COST", "COST_MARGIN", "CellResult", "Comparison", "SeedMeasurement", "Verdict", "best_trials", "cell_result",
           "decide"]

#: The cost that decides between tied cells: inference latency per sequence at the large batch.
COST = f"latency_ms_batch{LARGE_BATCH}"
#: Costs closer than this (relative) are a tie on cost; the parameter count then decides.
COST_MARGIN = 0.10


class SeedMeasurement(Protocol):
    """One selection run as the verdict reads it (``gatelab.selection.SeedRun``)."""

    seed: int
    run_id: str
    metrics: dict[str, float]
    device: str


@dataclass
class CellResult:
    """One cell's outcome: its search, its best configuration's seeds, and their measured costs.

    Args:
        cell: the cell's name.
        finished: trials that count towards the budget (completed, pruned, diverged).
        pruned: trials stopped early by the pruner.
        failed: trials that diverged or crashed.
        best_trial: number of the best trial.
        best_val: the best trial's validation objective.
        run_id: the best trial's MLflow run.
        params_chosen: the best trial's hyperparameters.
        seeds: the selection seeds.
        seed_runs: the MLflow run of each seed's retraining.
        test: each test metric's value per seed.
        intervals: each test metric's mean and confidence interval over the seeds.
        costs: each measured cost, the median over the seeds.
        device: where the costs were measured.
        model_run: the seed run whose model represents the cell (best validation objective).
    """

    cell: str
    finished: int
    pruned: int
    failed: int
    best_trial: int
    best_val: float
    run_id: str
    params_chosen: dict[str, float | int | str] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=list)
    seed_runs: list[str] = field(default_factory=list)
    test: dict[str, list[float]] = field(default_factory=dict)
    intervals: dict[str, Interval] = field(default_factory=dict)
    costs: dict[str, float] = field(default_factory=dict)
    device: str = ""
    model_run: str = ""


@dataclass
class Comparison:
    """A paired comparison of ``cell`` against the best cell on the verdict's metric."""

    cell: str
    against: str
    paired: Paired
    tied: bool


@dataclass
class Verdict:
    """Everything the report shows: the cells, their comparisons, the choice and the sentence."""

    task: str
    sweep: str
    metric: str
    direction: str
    cost: str
    tolerance: float
    cells: list[CellResult]
    comparisons: list[Comparison]
    choice: str
    runner_up: str
    sentence: str

    def cell(self, name: str) -> CellResult:
        return next(result for result in self.cells if result.cell == name)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def _search_counts(trials: Sequence[optuna.trial.FrozenTrial]) -> tuple[int, int, int]:
    """Finished (counting towards the budget), pruned and failed trials."""
    return (sum(map(counts_towards_budget, trials)), sum(trial.state == TrialState.PRUNED for trial in trials),
            sum(trial.state == TrialState.FAIL for trial in trials))


def best_trials(studies: Mapping[str, optuna.Study], task: str, sweep: str) -> dict[str, optuna.trial.FrozenTrial]:
    """Each cell's best completed trial.

    Raises:
        MissingResultsError: fewer than two cells have a completed trial (the message names what is missing).
    """
    best, missing = {}, []
    for cell, study in studies.items():
        trials = study.get_trials(deepcopy=False)
        complete = [trial for trial in trials if trial.state == TrialState.COMPLETE]
        if complete:
            best[cell] = study.best_trial
        else:
            _, pruned, failed = _search_counts(trials)
            missing.append(f"{cell.upper()} has no completed trial ({len(trials)} started: {pruned} pruned, "
                           f"{failed} failed)")
    if len(best) >= 2:
        return best
    where = f"sweep {sweep} of task '{task}'"
    if not studies:
        problem = "has no search results in this store"
    elif not best:
        problem = "has no completed trial in any cell: " + "; ".join(missing)
    else:
        (cell,) = best
        problem = (f"has completed trials for {cell.upper()} only"
                   + (f" ({'; '.join(missing)})" if missing else " (it searched no other cell)"))
    raise MissingResultsError(
        f"{where} {problem}. A verdict compares the best configurations of at least two cells. Finish the search "
        f"first: `gatelab sweep --task {task} --cells [lstm,gru]` with the sweep's other settings resumes it (raise "
        f"--trials if pruning stopped every trial), then `gatelab report --task {task} --sweep {sweep}`.", task, sweep)


def cell_result(cell: str, study: optuna.Study, trial: optuna.trial.FrozenTrial, runs: Sequence[SeedMeasurement],
                objective: str, direction: str, confidence: float = 0.95) -> CellResult:
    """One cell's outcome from its search and its selection runs: intervals over the seeds, median costs.

    The run with the best validation objective represents the cell (its model is the one registered).
    """
    finished, pruned, failed = _search_counts(study.get_trials(deepcopy=False))
    test_keys = sorted(key for key in runs[0].metrics if key.startswith("test/"))
    sign = 1.0 if direction == "maximize" else -1.0
    representative = max(runs, key=lambda run: sign * run.metrics[f"best_{objective}"])
    result = CellResult(
        cell=cell, finished=finished, pruned=pruned, failed=failed, best_trial=trial.number,
        best_val=float(trial.value), run_id=trial.user_attrs[MLFLOW_RUN_ATTR], params_chosen=dict(trial.params),
        seeds=[run.seed for run in runs], seed_runs=[run.run_id for run in runs],
        test={key: [run.metrics[key] for run in runs] for key in test_keys},
        costs={key: statistics.median(run.metrics[key] for run in runs) for key in COST_KEYS},
        device=runs[0].device, model_run=representative.run_id,
    )
    result.intervals = {key: mean_interval(values, confidence) for key, values in result.test.items()}
    return result


def decide(cells: Sequence[CellResult], metric: str, direction: str, cost: str, tolerance: float,
           confidence: float = 0.95) -> tuple[str, str, list[Comparison], str]:
    """Apply the verdict's rule.

    Args:
        cells: at least two cells, each with per-seed ``test[metric]`` over the same seeds and ``costs[cost]``.
        metric: the test metric the cells are judged on.
        direction: ``maximize`` or ``minimize``.
        cost: the cost that decides between tied cells (lower is cheaper).
        tolerance: differences smaller than this are ties even when the test distinguishes them.
        confidence: the confidence level of the intervals and the test.

    Returns:
        The chosen cell, the runner-up, each other cell's comparison with the best, and the sentence.
    """
    sign = 1.0 if direction == "maximize" else -1.0
    ranked = sorted(cells, key=lambda result: -sign * mean_interval(result.test[metric], confidence).mean)
    best = ranked[0]
    comparisons = []
    for other in ranked[1:]:
        paired = paired_comparison(best.test[metric], other.test[metric], confidence)
        tied = not paired.distinguishable or abs(paired.difference.mean) < tolerance
        comparisons.append(Comparison(other.cell, best.cell, paired, tied))
    tied_cells = [best, *(ranked[index + 1] for index, comparison in enumerate(comparisons) if comparison.tied)]
    choice, cheaper = _cheapest(tied_cells, cost)
    runner = ranked[1] if choice is best else best
    other = choice if choice is not best else runner
    paired = next(comparison.paired for comparison in comparisons if comparison.cell == other.cell)
    evidence = (f"{metric} {_name(best)} {best.intervals[metric]} vs {_name(other)} {other.intervals[metric]} "
                f"over {paired.difference.n} seeds; difference {paired.difference}, "
                f"{paired.test} p={paired.p_value:.3g}")
    if len(tied_cells) > 1:
        why = "within the seed noise" if not paired.distinguishable else f"smaller than the tie tolerance {tolerance}"
        sentence = (f"Pick {_name(choice)}: the difference is {why} ({evidence}), so the cheaper cell wins "
                    f"({cheaper}). Cost: {_price(choice, runner, cost)}")
    else:
        sentence = (f"Pick {_name(choice)}: it is better beyond the seed noise ({evidence}). "
                    f"Its price: {_price(choice, runner, cost)}")
    return choice.cell, runner.cell, comparisons, sentence


def _cheapest(cells: Sequence[CellResult], cost: str) -> tuple[CellResult, str]:
    """The cheapest cell and why: the lowest ``cost``, unless others are within ``COST_MARGIN`` of it; then
    the fewest parameters among those (a latency difference that small is within timing noise)."""
    lowest = min(result.costs[cost] for result in cells)
    close = [result for result in cells if result.costs[cost] <= lowest * (1 + COST_MARGIN)]
    if len(close) == 1:
        return close[0], f"lower {_cost_label(cost)}"
    choice = min(close, key=lambda result: (result.costs["params"], result.costs[cost]))
    return choice, f"fewer parameters; {_cost_label(cost)} within {COST_MARGIN:.0%}"


def _cost_label(cost: str) -> str:
    return f"latency per sequence at batch {cost.removeprefix('latency_ms_batch')}"


def _name(result: CellResult) -> str:
    return result.cell.upper()


def _price(choice: CellResult, other: CellResult, cost: str) -> str:
    """The chosen cell's measured costs relative to the other cell's."""
    parts = []
    for key, unit in ((cost, "ms/sequence"), ("params", "parameters"), ("seconds_per_epoch", "s/epoch")):
        mine, theirs = choice.costs.get(key), other.costs.get(key)
        if mine is None or theirs is None:
            continue
        ratio = f" ({mine / theirs:.2f}x)" if theirs else ""
        digits = ",.0f" if key == "params" else ".4g"
        label = f" at batch {cost.removeprefix('latency_ms_batch')}" if key == cost else ""
        parts.append(f"{mine:{digits}} vs {theirs:{digits}} {unit}{label}{ratio}")
    return f"{_name(choice)} vs {_name(other)}: " + "; ".join(parts) + "."
