"""The verdict: which cell to use, how sure we are, and what it costs.

The rule, stated in every verdict: cells are ranked by their mean test metric over the selection
seeds. Every other cell is compared with the best one by a paired test over the seeds. A cell
whose difference from the best is within the seed noise (not distinguishable by the test) or
smaller than the tie tolerance is tied with it. Among tied cells the one cheaper on the cost named
by ``sweep.cost`` wins if it is cheaper by a distinguishable margin: the interval of the per-round
cost ratio (measured side by side) excludes 1 and the ratio exceeds ``1 + COST_MARGIN``. Otherwise
the one with fewer multiply-accumulates per sequence wins (and with equal counts, the better mean).
The sentence names the rule that decided. Without a tie the best cell is picked and its price
relative to the runner-up is stated. It warns when a cell's budget curve (the expected best validation
value of ``n`` trials) still rose by more than the tie tolerance over the last doubling of trials.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import NamedTuple, Protocol

import numpy as np
import optuna
from optuna.trial import TrialState

from gatelab.errors import MissingResultsError
from gatelab.search.objective import MLFLOW_RUN_ATTR
from gatelab.search.studies import counts_towards_budget
from gatelab.stats import (
    BudgetCurve,
    Interval,
    Median,
    Paired,
    bounded_interval,
    budget_curve,
    detectable_difference,
    holm,
    mean_interval,
    median_interval,
    paired_comparison,
    ratio_interval,
    seeds_to_resolve,
)
from gatelab.training.costs import LARGE_BATCH, SEED_COSTS
from gatelab.training.folds import FOLD_STD, fold_count

__all__ = ["BOUNDED_METRICS", "COSTS", "COST_MARGIN", "POWER", "CellResult", "Comparison", "CostRatio", "Decision", "SeedMeasurement", "Verdict",
           "best_trials", "budget_warning", "cell_result", "cheaper_by_margin", "cost_ratios", "decide", "is_bounded",
           "representative", "search_values", "sign"]

#: ``sweep.cost`` settings and the cost each names (lower is cheaper).
COSTS = {"latency": f"latency_ms_batch{LARGE_BATCH}", "latency_batch1": "latency_ms_batch1", "macs": "macs"}
#: A cost must differ by more than this (relative) to decide a tie on quality.
COST_MARGIN = 0.10
#: The power at which the detectable difference is stated.
POWER = 0.8
#: Test metrics that are scores in [0, 1] (torchmetrics' classification scores), by their name after ``test/``
#: or its start: their per-cell intervals are computed on the logit scale, so that they stay in range.
BOUNDED_METRICS = ("auprc", "auroc", "accuracy", "f1", "macro_f1", "precision", "recall", "se_", "ppv_",
                   "card_precision_at_")


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
        test: each test metric's value per seed (for a task tested on folds: the seed's mean over the test folds).
        fold_spread: for a task tested on folds, each test metric's standard deviation over the folds per seed;
            empty otherwise.
        folds: the test folds each seed was tested on (1: the task's one test split).
        intervals: each test metric's mean and confidence interval over the seeds.
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
    seeds: list[int] = field(default_factory=list)
    seed_runs: list[str] = field(default_factory=list)
    test: dict[str, list[float]] = field(default_factory=dict)
    fold_spread: dict[str, list[float]] = field(default_factory=dict)
    folds: int = 1
    intervals: dict[str, Interval] = field(default_factory=dict)
    costs: dict[str, float] = field(default_factory=dict)
    cost_intervals: dict[str, Median] = field(default_factory=dict)
    device: str = ""
    model_run: str = ""
    budget: BudgetCurve | None = None
    budget_pruned: int = 0
    budget_left_out: int = 0


@dataclass
class Comparison:
    """A paired comparison of ``cell`` against the best cell on the verdict's metric.

    Args:
        cell: the cell compared.
        against: the best cell.
        paired: the paired t-test over the seeds (difference: best minus cell).
        tied: within the seed noise (after Holm's correction) or below the tie tolerance.
        p_adjusted: the p-value after Holm's correction over the comparisons (the p-value itself for one).
        detectable: the smallest difference these seeds detect with ``POWER`` at the verdict's confidence.
        target: the difference that ``seeds_needed`` would resolve (the tie tolerance, or half ``detectable``).
        seeds_needed: seeds that would resolve ``target`` at the spread seen (None: more than 100).
    """

    cell: str
    against: str
    paired: Paired
    tied: bool
    p_adjusted: float = float("nan")
    detectable: float = float("nan")
    target: float = float("nan")
    seeds_needed: int | None = None


@dataclass
class CostRatio:
    """``cell``'s cost over ``against``'s: the median of the per-round ratios with its interval."""

    cost: str
    cell: str
    against: str
    ratio: Median


class Decision(NamedTuple):
    """The rule's outcome: the chosen cell, the runner-up, the comparisons, the sentence, the rule that decided."""

    choice: str
    runner_up: str
    comparisons: list[Comparison]
    sentence: str
    rule: str


@dataclass
class Verdict:
    """Everything the report shows: the cells, their comparisons, the choice and the sentence.

    ``rule`` names what decided: ``quality`` (better beyond the seed noise), ``cost`` (a tie, won on
    ``cost`` by a distinguishable margin), ``macs`` (a tie on quality and cost, won on fewer
    multiply-accumulates) or ``equal`` (a tie on everything, the better mean kept).
    """

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
    rule: str = ""
    cost_ratios: list[CostRatio] = field(default_factory=list)
    timing: dict[str, object] = field(default_factory=dict)
    seeding: str = ""

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


def search_values(trials: Sequence[optuna.trial.FrozenTrial], direction: str) -> tuple[list[float], int, int]:
    """The validation values of a cell's finished trials, for its budget curve.

    A completed trial counts with its value; a pruned or diverged one with its best reported value (an
    underestimate of what it would have reached); one that reported no finite value is left out.

    Returns:
        The values, how many of them are best reported values, and how many finished trials were left out.
    """
    best = max if direction == "maximize" else min
    values, early, left_out = [], 0, 0
    for trial in trials:
        if not counts_towards_budget(trial):
            continue
        if trial.state == TrialState.COMPLETE:
            values.append(float(trial.value))
            continue
        reported = [value for value in trial.intermediate_values.values() if np.isfinite(value)]
        if reported:
            values.append(float(best(reported)))
            early += 1
        else:
            left_out += 1
    return values, early, left_out


def budget_warning(cells: Sequence[CellResult], objective: str, direction: str, tolerance: float) -> str:
    """The warning for cells whose budget curve still rose by more than ``tolerance`` over its last doubling of
    trials (more trials may change the answer), or "" when none did."""
    rising = []
    for result in cells:
        if result.budget is None or len(result.budget.n) < 2:
            continue
        half, total, gain = result.budget.gain(direction == "maximize")
        if gain > tolerance:
            rising.append(f"{_name(result)} by {gain:.3g} from {half} to {total} trials")
    if not rising:
        return ""
    return (f"Budget: the expected best {objective} still rose over the last doubling of trials ({'; '.join(rising)}), "
            f"more than the tie tolerance {tolerance}: more trials may change the answer.")


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
    finished, pruned, failed = _search_counts(trials)
    values, early, left_out = search_values(trials, direction)
    test_keys = sorted(key for key in runs[0].metrics if key.startswith("test/"))
    seed_costs = [key for key in SEED_COSTS if all(key in run.metrics for run in runs)]
    timed = {key: median_interval(values, confidence) for key, values in timings.items()}
    large = COSTS["latency"]
    result = CellResult(
        cell=cell, finished=finished, pruned=pruned, failed=failed, best_trial=trial.number,
        best_val=float(trial.value), run_id=trial.user_attrs[MLFLOW_RUN_ATTR], params_chosen=dict(trial.params),
        seeds=[run.seed for run in runs], seed_runs=[run.run_id for run in runs],
        test={key: [run.metrics[key] for run in runs] for key in test_keys},
        fold_spread={key: [run.metrics[FOLD_STD + key] for run in runs] for key in test_keys
                     if all(FOLD_STD + key in run.metrics for run in runs)},
        folds=fold_count(runs[0].metrics, test_keys[0]) if test_keys else 1,
        costs={key: statistics.median(run.metrics[key] for run in runs) for key in seed_costs}
        | {key: interval.median for key, interval in timed.items()}
        | ({"throughput_per_s": 1e3 / timed[large].median} if large in timed else {})
        | {"peak_inference_memory_mib": inference_memory_mib},
        cost_intervals=timed, device=runs[0].device,
        model_run=representative(runs, objective, direction).run_id,
        budget=budget_curve(values, direction == "maximize") if values else None, budget_pruned=early,
        budget_left_out=left_out,
    )
    result.intervals = {key: (bounded_interval if is_bounded(key) else mean_interval)(values, confidence)
                        for key, values in result.test.items()}
    return result


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


def cheaper_by_margin(ratio: Median, margin: float = COST_MARGIN) -> bool:
    """Whether a cost ratio (the dearer over the cheaper) shows a distinguishable difference: its interval
    excludes 1 and it exceeds ``1 + margin``."""
    return ratio.low > 1.0 and ratio.median > 1.0 + margin


def decide(cells: Sequence[CellResult], metric: str, direction: str, cost: str, tolerance: float,
           ratios: Sequence[CostRatio], confidence: float = 0.95) -> Decision:
    """Apply the verdict's rule.

    Args:
        cells: at least two cells, each with per-seed ``test[metric]`` over the same seeds, ``costs[cost]``
            and ``costs["macs"]``.
        metric: the test metric the cells are judged on.
        direction: ``maximize`` or ``minimize``.
        cost: the cost that decides between tied cells (a value of ``COSTS``; lower is cheaper).
        tolerance: differences smaller than this are ties even when the test distinguishes them.
        ratios: the cells' cost ratios (``cost_ratios``), for every ordered pair of cells.
        confidence: the confidence level of the intervals and the test.

    Returns:
        The chosen cell, the runner-up, each other cell's comparison with the best, the sentence and the rule
        that decided (see ``Verdict``).
    """
    ranked = sorted(cells, key=lambda result: -sign(direction) * mean_interval(result.test[metric], confidence).mean)
    best = ranked[0]
    tests = [paired_comparison(best.test[metric], other.test[metric], confidence) for other in ranked[1:]]
    adjusted = holm([paired.p_value for paired in tests])
    comparisons = []
    for other, paired, p_adjusted in zip(ranked[1:], tests, adjusted, strict=True):
        spread = float(np.std(np.subtract(best.test[metric], other.test[metric]), ddof=1))
        detectable = detectable_difference(spread, paired.difference.n, confidence, POWER)
        target = tolerance if tolerance > 0 else detectable / 2
        tied = p_adjusted >= 1.0 - confidence or abs(paired.difference.mean) < tolerance
        comparisons.append(Comparison(other.cell, best.cell, paired, tied, p_adjusted, detectable, target,
                                      seeds_to_resolve(spread, target, confidence, POWER)))
    tied_cells = [best, *(ranked[index + 1] for index, comparison in enumerate(comparisons) if comparison.tied)]
    lookup = {(ratio.cost, ratio.cell, ratio.against): ratio.ratio for ratio in ratios}
    choice, rule, cheaper = _cheapest(tied_cells, cost, lookup)
    runner = ranked[1] if choice is best else best
    other = choice if choice is not best else runner
    compared = next(comparison for comparison in comparisons if comparison.cell == other.cell)
    paired = compared.paired
    holm_note = f", Holm-adjusted over {len(comparisons)} comparisons p={compared.p_adjusted:.3g}" \
        if len(comparisons) > 1 else ""
    evidence = (f"{metric} {_name(best)} {best.intervals[metric]} vs {_name(other)} {other.intervals[metric]} "
                f"over {paired.difference.n} seeds; difference {paired.difference}, "
                f"{paired.test} p={paired.p_value:.3g}{holm_note}")
    price = _price(choice, runner, cost, lookup)
    amount = _evidence(compared, metric)
    if len(tied_cells) > 1:
        noise = compared.p_adjusted >= 1.0 - confidence
        why = "within the seed noise" if noise else f"smaller than the tie tolerance {tolerance}"
        sentence = (f"Pick {_name(choice)}: the difference is {why} ({evidence}), so {cheaper}. {amount} "
                    f"Cost: {price}")
    else:
        rule = "quality"
        sentence = f"Pick {_name(choice)}: it is better beyond the seed noise ({evidence}). {amount} Its price: {price}"
    return Decision(choice.cell, runner.cell, comparisons, sentence, rule)


def _evidence(comparison: Comparison, metric: str) -> str:
    """How much evidence a comparison rests on, in words: the difference its seeds could detect, and more seeds'."""
    n, name = comparison.paired.difference.n, metric.removeprefix("test/")
    more = (f"{comparison.seeds_needed} seeds would resolve {comparison.target:.3g}" if comparison.seeds_needed
            else f"more than 100 seeds would be needed to resolve {comparison.target:.3g}")
    text = (f"Evidence: {n} seeds detect (with {POWER:.0%} power) only differences larger than "
            f"{comparison.detectable:.3g} {name}, against {abs(comparison.paired.difference.mean):.3g} observed; "
            f"{more}.")
    if n == 2:
        text += (" With 2 seeds the test has 1 degree of freedom and can tell almost nothing: use --seeds auto "
                 "(SEEDS=auto) or more seeds.")
    return text


def _cheapest(cells: Sequence[CellResult], cost: str,
              ratios: Mapping[tuple[str, str, str], Median]) -> tuple[CellResult, str, str]:
    """Among tied cells (the best-ranked first): the winner, the rule that decided (``cost``, ``macs``,
    ``equal``) and the reason in words."""
    cheapest = min(cells, key=lambda result: result.costs[cost])
    others = [result for result in cells if result is not cheapest]
    versus = {result.cell: ratios[(cost, result.cell, cheapest.cell)] for result in others}
    if all(cheaper_by_margin(ratio) for ratio in versus.values()):
        shown = "; ".join(f"{_name(result)}/{_name(cheapest)} {versus[result.cell]}" for result in others)
        return cheapest, "cost", (f"the cell cheaper by a distinguishable margin wins: lower {_cost_label(cost)} "
                                  f"({shown}, ratio of medians over the rounds)")
    close = [cheapest, *(result for result in others if not cheaper_by_margin(versus[result.cell]))]
    fewest = min(result.costs["macs"] for result in close)
    lightest = [result for result in close if result.costs["macs"] == fewest]
    undecided = ", ".join(f"{_name(result)}/{_name(cheapest)} {versus[result.cell]}" for result in close[1:])
    not_apart = (f"{_cost_label(cost)} not apart by a distinguishable margin ({undecided}; the interval must "
                 f"exclude 1 and the ratio exceed {1 + COST_MARGIN:g})")
    if len(lightest) == len(close):
        winner = next(result for result in cells if result in close)
        return winner, "equal", (f"with {not_apart} and equal multiply-accumulates, the better mean is kept")
    winner = next(result for result in cells if result in lightest)
    counts = ", ".join(f"{_name(result)} {result.costs['macs']:,.0f}" for result in close)
    return winner, "macs", f"with {not_apart}, the cell with fewer multiply-accumulates per sequence wins ({counts})"


def _cost_label(cost: str) -> str:
    if cost == "macs":
        return "multiply-accumulates per sequence"
    return f"latency per sequence at batch {cost.removeprefix('latency_ms_batch')}"


def _name(result: CellResult) -> str:
    return result.cell.upper()


def _price(choice: CellResult, other: CellResult, cost: str, ratios: Mapping[tuple[str, str, str], Median]) -> str:
    """The chosen cell's costs relative to the other cell's: measured ones with the ratio's interval."""
    parts = []
    units = {"macs": "multiply-accumulates/sequence", "params": "parameters", "seconds_per_epoch": "s/epoch"}
    for key in dict.fromkeys((cost, "macs", "params", "seconds_per_epoch")):
        unit = units.get(key, "ms/sequence")
        mine, theirs = choice.costs.get(key), other.costs.get(key)
        if mine is None or theirs is None:
            continue
        measured = ratios.get((key, choice.cell, other.cell))
        if measured and measured.n > 1:
            ratio = f" ({measured.median:.3g}x [{measured.low:.3g}, {measured.high:.3g}])"
        else:
            ratio = f" ({mine / theirs:.2f}x)" if theirs else ""
        digits = ",.0f" if key in ("params", "macs") else ".4g"
        label = f" at batch {key.removeprefix('latency_ms_batch')}" if key.startswith("latency") else ""
        parts.append(f"{mine:{digits}} vs {theirs:{digits}} {unit}{label}{ratio}")
    return f"{_name(choice)} vs {_name(other)}: " + "; ".join(parts) + "."
