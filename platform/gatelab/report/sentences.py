"""The verdict in words: a ``Decision`` rendered into the sentence the report prints (``verdict_sentence``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gatelab.stats import Median
from gatelab.verdict import (
    COST_MARGIN,
    POWER,
    BaselineResult,
    CellResult,
    Comparison,
    Decision,
    Rule,
    Tie,
    TieBreak,
    Verdict,
    VerdictWarning,
    WarningCode,
)

__all__ = ["baseline_sentence", "budget_sentence", "decision_sentence", "verdict_sentence"]


def verdict_sentence(verdict: Verdict) -> str:
    """The verdict's sentence: the decision, its evidence and price, the baselines, then any budget warning."""
    return decision_sentence(verdict.decision, verdict.cells, verdict.baselines)


def decision_sentence(decision: Decision, cells: Sequence[CellResult], baselines: Sequence[BaselineResult] = ()) -> str:
    """A decision in words: the pick and the rule that decided, the evidence, the price, whether a cell beats the
    best baseline (where the task declares baselines), and the budget warning.

    Args:
        decision: ``gatelab.verdict.decide``'s outcome.
        cells: the cells it decided between (their intervals and costs are quoted).
        baselines: the baselines it compared the cells with (their intervals are quoted).
    """
    by_cell = {result.cell: result for result in cells}
    best, choice, runner = by_cell[decision.best], by_cell[decision.choice], by_cell[decision.runner_up]
    compared, metric = decision.compared, decision.metric
    other = by_cell[compared.cell]
    paired = compared.paired
    holm_note = f", Holm-adjusted over {len(decision.comparisons)} comparisons p={compared.p_adjusted:.3g}" \
        if len(decision.comparisons) > 1 else ""
    evidence = (f"{metric} {_name(best.cell)} {best.intervals[metric]} vs {_name(other.cell)} "
                f"{other.intervals[metric]} over {paired.difference.n} seeds; difference {paired.difference}, "
                f"{paired.test} p={paired.p_value:.3g}{holm_note}")
    ratios = {(ratio.cost, ratio.cell, ratio.against): ratio.ratio for ratio in decision.cost_ratios}
    price = _price(choice, runner, decision.cost, ratios)
    amount = _evidence(compared, metric, decision.warnings)
    if decision.tie_break is None:
        sentence = (f"Pick {_name(choice.cell)}: it is better beyond the seed noise ({evidence}). {amount} "
                    f"Its price: {price}")
    else:
        why = "within the seed noise" if decision.tie is Tie.NOISE else \
            f"smaller than the tie tolerance {decision.tolerance}"
        sentence = (f"Pick {_name(choice.cell)}: the difference is {why} ({evidence}), so "
                    f"{_tie_break(decision.rule, decision.tie_break)}. {amount} Cost: {price}")
    extra = [baseline_sentence(decision, cells, baselines),
             budget_sentence(decision.warnings, "val/" + metric.removeprefix("test/"))]
    return " ".join([sentence, *(part for part in extra if part)])


def baseline_sentence(decision: Decision, cells: Sequence[CellResult], baselines: Sequence[BaselineResult]) -> str:
    """Whether the chosen cell beats the best baseline, with the paired interval over the seeds; "" without
    baselines. Where no cell beats it, the sentence says so: a recurrent cell is not needed on this data."""
    compared = {comparison.cell: comparison for comparison in decision.baseline_comparisons}
    if not compared:
        return ""
    chosen, metric = compared[decision.choice], decision.metric
    baseline = next(result for result in baselines if result.name == chosen.baseline)
    cell = next(result for result in cells if result.cell == chosen.cell)
    name, paired = baseline.name, chosen.paired
    evidence = (f"{metric} {_name(cell.cell)} {cell.intervals[metric]} vs {name} {baseline.intervals[metric]} over "
                f"{paired.difference.n} seeds; difference {_name(cell.cell)} - {name} {paired.difference}, "
                f"{paired.test} p={paired.p_value:.3g}")
    if chosen.beaten:
        return f"{_name(cell.cell)} beats the best baseline, {name}, beyond the seed noise ({evidence})."
    where = f"above {_name(cell.cell)}" if chosen.above else f"level with {_name(cell.cell)}"
    beating = [_name(comparison.cell) for comparison in compared.values() if comparison.beaten]
    if beating:
        return (f"{_name(cell.cell)} does not beat {name} on this data: the baseline is {where} ({evidence}); "
                f"{', '.join(beating)} does.")
    nobody = "Neither cell" if len(compared) == 2 else "No cell"
    return f"{nobody} beats {name} on this data: the baseline is {where} ({evidence})."


def budget_sentence(warnings: Sequence[VerdictWarning], objective: str) -> str:
    """The ``budget_rising`` warnings in one sentence (more trials may change the answer), or "" for none."""
    rising = [warning for warning in warnings if warning.code is WarningCode.BUDGET_RISING]
    if not rising:
        return ""
    cells = "; ".join(f"{_name(warning.cell)} by {warning.numbers['gain']:.3g} from {warning.numbers['half']:.0f} to "
                      f"{warning.numbers['total']:.0f} trials" for warning in rising)
    return (f"Budget: the expected best {objective} still rose over the last doubling of trials ({cells}), "
            f"more than the tie tolerance {rising[0].numbers['tolerance']}: more trials may change the answer.")


def _tie_break(rule: Rule, tie_break: TieBreak) -> str:
    """How a tie was broken, in words (what follows "so")."""
    cheapest, label = _name(tie_break.cheapest), _cost_label(tie_break.cost)
    if rule is Rule.COST:
        shown = "; ".join(f"{_name(ratio.cell)}/{cheapest} {ratio.ratio}" for ratio in tie_break.versus)
        return (f"the cell cheaper by a distinguishable margin wins: lower {label} "
                f"({shown}, ratio of medians over the rounds)")
    undecided = ", ".join(f"{_name(ratio.cell)}/{cheapest} {ratio.ratio}" for ratio in tie_break.versus
                          if ratio.cell in tie_break.close)
    not_apart = (f"{label} not apart by a distinguishable margin ({undecided}; the interval must "
                 f"exclude 1 and the ratio exceed {1 + COST_MARGIN:g})")
    if rule is Rule.EQUAL:
        return f"with {not_apart} and equal multiply-accumulates, the better mean is kept"
    counts = ", ".join(f"{_name(cell)} {tie_break.macs[cell]:,.0f}" for cell in tie_break.close)
    return f"with {not_apart}, the cell with fewer multiply-accumulates per sequence wins ({counts})"


def _evidence(comparison: Comparison, metric: str, warnings: Sequence[VerdictWarning]) -> str:
    """How much evidence a comparison rests on, in words: the difference its seeds could detect, and more seeds'."""
    n, name = comparison.paired.difference.n, metric.removeprefix("test/")
    more = (f"{comparison.seeds_needed} seeds would resolve {comparison.target:.3g}" if comparison.seeds_needed
            else f"more than 100 seeds would be needed to resolve {comparison.target:.3g}")
    text = (f"Evidence: {n} seeds detect (with {POWER:.0%} power) only differences larger than "
            f"{comparison.detectable:.3g} {name}, against {abs(comparison.paired.difference.mean):.3g} observed; "
            f"{more}.")
    if any(warning.code is WarningCode.FEW_SEEDS for warning in warnings):
        text += (" With 2 seeds the test has 1 degree of freedom and can tell almost nothing: use --seeds auto "
                 "(SEEDS=auto) or more seeds.")
    return text


def _cost_label(cost: str) -> str:
    if cost == "macs":
        return "multiply-accumulates per sequence"
    return f"latency per sequence at batch {cost.removeprefix('latency_ms_batch')}"


def _name(cell: str) -> str:
    return cell.upper()


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
    return f"{_name(choice.cell)} vs {_name(other.cell)}: " + "; ".join(parts) + "."
