"""The verdict's rule: which cell to use, from the cells' numbers (trains nothing, says nothing in words).

Cells are ranked by their mean test metric over the selection seeds. Every other cell is compared with the best
one by a paired test over the seeds. A cell whose difference from the best is within the seed noise (not
distinguishable by the test) or smaller than the tie tolerance is tied with it. Among tied cells the one cheaper
on the cost named by ``sweep.cost`` wins if it is cheaper by a distinguishable margin: the interval of the
per-round cost ratio (measured side by side) excludes 1 and the ratio exceeds ``1 + COST_MARGIN``. Otherwise the
one with fewer multiply-accumulates per sequence wins (and with equal counts, the better mean). Without a tie the
best cell is picked. It warns when a cell's budget curve (the expected best validation value of ``n`` trials)
still rose by more than the tie tolerance over the last doubling of trials.

Where the task declares baselines, every cell is compared with the best of them (the best mean) by a paired test
over the same seeds: a cell beats it when it is better beyond the seed noise and by more than the tie tolerance
(and the baseline is above the cell the other way round; otherwise they are level).
The baselines never take part in the choice: they say whether a recurrent cell is needed at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from gatelab.stats import Median, detectable_difference, holm, mean_interval, paired_comparison, seeds_to_resolve
from gatelab.verdict.decision import (
    BaselineComparison,
    Comparison,
    CostRatio,
    Decision,
    Rule,
    Tie,
    TieBreak,
    VerdictWarning,
    WarningCode,
)
from gatelab.verdict.results import BaselineResult, CellResult, sign

__all__ = ["COST_MARGIN", "POWER", "against_baselines", "budget_warnings", "cheaper_by_margin", "decide"]

#: A cost must differ by more than this (relative) to decide a tie on quality.
COST_MARGIN = 0.10
#: The power at which the detectable difference is stated.
POWER = 0.8


def cheaper_by_margin(ratio: Median, margin: float = COST_MARGIN) -> bool:
    """Whether a cost ratio (the dearer over the cheaper) shows a distinguishable difference: its interval
    excludes 1 and it exceeds ``1 + margin``."""
    return ratio.low > 1.0 and ratio.median > 1.0 + margin


def budget_warnings(cells: Sequence[CellResult], direction: str, tolerance: float) -> list[VerdictWarning]:
    """A ``budget_rising`` warning for each cell whose budget curve still rose by more than ``tolerance`` over its
    last doubling of trials (more trials may change the answer)."""
    rising = []
    for result in cells:
        if result.budget is None or len(result.budget.n) < 2:
            continue
        half, total, gain = result.budget.gain(direction == "maximize")
        if gain > tolerance:
            rising.append(VerdictWarning(WarningCode.BUDGET_RISING, result.cell,
                                         {"gain": gain, "half": half, "total": total, "tolerance": tolerance}))
    return rising


def decide(cells: Sequence[CellResult], metric: str, direction: str, cost: str, tolerance: float,
           ratios: Sequence[CostRatio], confidence: float = 0.95, baselines: Sequence[BaselineResult] = ()) -> Decision:
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
        baselines: the task's baselines, each with ``test[metric]`` on the cells' seeds in their order (``()``: none).
    """
    ranked = sorted(cells, key=lambda result: -sign(direction) * mean_interval(result.test[metric], confidence).mean)
    best = ranked[0]
    comparisons = _compare(best, ranked[1:], metric, tolerance, confidence)
    tied_cells = [best, *(ranked[index + 1] for index, comparison in enumerate(comparisons) if comparison.tied)]
    lookup = {(ratio.cost, ratio.cell, ratio.against): ratio.ratio for ratio in ratios}
    if len(tied_cells) > 1:
        choice, rule, tie_break = _cheapest(tied_cells, cost, lookup)
    else:
        choice, rule, tie_break = best, Rule.QUALITY, None
    runner = ranked[1] if choice is best else best
    other = choice if choice is not best else runner
    compared = next(comparison for comparison in comparisons if comparison.cell == other.cell)
    tie = None if tie_break is None else Tie.NOISE if compared.p_adjusted >= 1.0 - confidence else Tie.TOLERANCE
    seeds = compared.paired.difference.n
    warnings = ([VerdictWarning(WarningCode.FEW_SEEDS, compared.cell, {"seeds": seeds})] if seeds == 2 else []) \
        + budget_warnings(cells, direction, tolerance)
    return Decision(choice.cell, runner.cell, rule, best.cell, compared, tie, tie_break, comparisons, list(ratios),
                    warnings, metric, cost, tolerance, confidence,
                    against_baselines(cells, baselines, metric, direction, tolerance, confidence))


def against_baselines(cells: Sequence[CellResult], baselines: Sequence[BaselineResult], metric: str, direction: str,
                      tolerance: float, confidence: float = 0.95) -> list[BaselineComparison]:
    """Each cell against the best baseline (the best mean ``metric``), paired by seed; empty without baselines."""
    if not baselines:
        return []
    best = max(baselines, key=lambda baseline: sign(direction) * float(np.mean(baseline.test[metric])))
    compared = []
    for result in cells:
        paired = paired_comparison(result.test[metric], best.test[metric], confidence)
        gain, apart = sign(direction) * paired.difference.mean, paired.p_value < 1.0 - confidence
        compared.append(BaselineComparison(result.cell, best.name, paired, beaten=apart and gain > tolerance,
                                           above=apart and -gain > tolerance))
    return compared


def _compare(best: CellResult, others: Sequence[CellResult], metric: str, tolerance: float,
             confidence: float) -> list[Comparison]:
    """Each other cell's paired comparison with the best, Holm-corrected over the comparisons."""
    tests = [paired_comparison(best.test[metric], other.test[metric], confidence) for other in others]
    adjusted = holm([paired.p_value for paired in tests])
    comparisons = []
    for other, paired, p_adjusted in zip(others, tests, adjusted, strict=True):
        spread = float(np.std(np.subtract(best.test[metric], other.test[metric]), ddof=1))
        detectable = detectable_difference(spread, paired.difference.n, confidence, POWER)
        target = tolerance if tolerance > 0 else detectable / 2
        tied = p_adjusted >= 1.0 - confidence or abs(paired.difference.mean) < tolerance
        comparisons.append(Comparison(other.cell, best.cell, paired, tied, p_adjusted, detectable, target,
                                      seeds_to_resolve(spread, target, confidence, POWER)))
    return comparisons


def _cheapest(cells: Sequence[CellResult], cost: str,
              ratios: Mapping[tuple[str, str, str], Median]) -> tuple[CellResult, Rule, TieBreak]:
    """Among tied cells (the best-ranked first): the winner, the rule that decided (``cost``, ``macs``, ``equal``)
    and the numbers it compared."""
    cheapest = min(cells, key=lambda result: result.costs[cost])
    others = [result for result in cells if result is not cheapest]
    versus = [CostRatio(cost, result.cell, cheapest.cell, ratios[(cost, result.cell, cheapest.cell)])
              for result in others]
    if all(cheaper_by_margin(ratio.ratio) for ratio in versus):
        return cheapest, Rule.COST, TieBreak(cost, cheapest.cell, versus, [cheapest.cell])
    apart = {ratio.cell for ratio in versus if cheaper_by_margin(ratio.ratio)}
    close = [cheapest, *(result for result in others if result.cell not in apart)]
    fewest = min(result.costs["macs"] for result in close)
    lightest = [result for result in close if result.costs["macs"] == fewest]
    tie_break = TieBreak(cost, cheapest.cell, versus, [result.cell for result in close],
                         {result.cell: result.costs["macs"] for result in close})
    if len(lightest) == len(close):
        return next(result for result in cells if result in close), Rule.EQUAL, tie_break
    return next(result for result in cells if result in lightest), Rule.MACS, tie_break
