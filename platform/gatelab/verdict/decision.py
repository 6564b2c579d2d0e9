"""The verdict's decision as data: the rule that decided and why, each comparison, the cost ratios, the warnings.

Nothing here is in words: ``gatelab.report.sentences`` renders a ``Decision`` into the verdict's sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from gatelab.stats import Median, Paired

__all__ = ["BaselineComparison", "Comparison", "CostRatio", "Decision", "Rule", "Tie", "TieBreak", "VerdictWarning",
           "WarningCode"]


class Rule(StrEnum):
    """What decided: ``quality`` (better beyond the seed noise), ``cost`` (a tie, won on ``sweep.cost`` by a
    distinguishable margin), ``macs`` (a tie on quality and cost, won on fewer multiply-accumulates) or
    ``equal`` (a tie on everything, the better mean kept)."""

    QUALITY = "quality"
    COST = "cost"
    MACS = "macs"
    EQUAL = "equal"


class Tie(StrEnum):
    """Why the best cell and the one it is compared with are tied: ``noise`` (not distinguishable by the paired
    test after Holm's correction) or ``tolerance`` (distinguishable, but smaller than the tie tolerance)."""

    NOISE = "noise"
    TOLERANCE = "tolerance"


class WarningCode(StrEnum):
    """``budget_rising``: a cell's budget curve still rose by more than the tie tolerance over its last doubling of
    trials (numbers: ``gain``, ``half``, ``total`` trials, ``tolerance``); ``few_seeds``: the deciding comparison
    rests on 2 seeds, 1 degree of freedom (numbers: ``seeds``)."""

    BUDGET_RISING = "budget_rising"
    FEW_SEEDS = "few_seeds"


@dataclass(frozen=True)
class VerdictWarning:
    """A warning as data: its code, the cell it concerns ("" for none) and its numbers (see ``WarningCode``)."""

    code: WarningCode
    cell: str = ""
    numbers: dict[str, float] = field(default_factory=dict)


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
class BaselineComparison:
    """A cell against the best baseline (the best mean on the verdict's metric), paired by seed.

    Args:
        cell: the cell compared.
        baseline: the best baseline's name.
        paired: the paired t-test over the seeds (difference: cell minus baseline).
        beaten: the cell is better than the baseline beyond the seed noise (p below 1 - confidence) and by more
            than the tie tolerance; otherwise the baseline is level with the cell or above it.
        above: the baseline is better than the cell beyond the seed noise and by more than the tie tolerance
            (neither ``beaten`` nor ``above``: they are level).
    """

    cell: str
    baseline: str
    paired: Paired
    beaten: bool
    above: bool


@dataclass
class CostRatio:
    """``cell``'s cost over ``against``'s: the median of the per-round ratios with its interval."""

    cost: str
    cell: str
    against: str
    ratio: Median


@dataclass(frozen=True)
class TieBreak:
    """How a tie on quality was broken.

    Args:
        cost: the cost compared (a value of ``COSTS``).
        cheapest: the tied cell cheapest on ``cost``.
        versus: each other tied cell's ``cost`` over the cheapest's (best-ranked first).
        close: the cells not apart from the cheapest by a distinguishable margin, the cheapest first (only the
            cheapest where it won on ``cost``).
        macs: the multiply-accumulates per sequence of each cell in ``close`` (empty where it won on ``cost``).
    """

    cost: str
    cheapest: str
    versus: list[CostRatio]
    close: list[str]
    macs: dict[str, float] = field(default_factory=dict)


@dataclass
class Decision:
    """The rule's outcome.

    Args:
        choice: the chosen cell.
        runner_up: the best-ranked cell that was not chosen.
        rule: what decided.
        best: the cell with the best mean.
        compared: the comparison the decision rests on (the choice's, or the runner-up's where the best is chosen).
        tie: why the cells are tied (None: the best is better beyond the seed noise).
        tie_break: how the tie was broken (None without a tie).
        comparisons: each other cell's comparison with the best.
        cost_ratios: every ordered pair of cells' cost ratios, with their spread over the rounds.
        warnings: what may change the answer.
        metric: the test metric judged; ``cost``: the cost that breaks ties; ``tolerance``: the tie tolerance.
        confidence: the confidence level of the intervals and the tests.
        baseline_comparisons: each cell against the best baseline, where the task declares baselines (else empty).
    """

    choice: str
    runner_up: str
    rule: Rule
    best: str
    compared: Comparison
    tie: Tie | None
    tie_break: TieBreak | None
    comparisons: list[Comparison]
    cost_ratios: list[CostRatio]
    warnings: list[VerdictWarning]
    metric: str
    cost: str
    tolerance: float
    confidence: float
    baseline_comparisons: list[BaselineComparison] = field(default_factory=list)
