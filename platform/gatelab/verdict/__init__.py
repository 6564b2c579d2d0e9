"""The verdict: which cell to use, how sure we are, and what it costs, as data (``report/`` puts it in words).

``results`` holds each cell's outcome and the ``Verdict``; ``search`` summarises a cell's search; ``decision`` the
decision's types; ``rule`` the rule itself (``decide``).
"""

from __future__ import annotations

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
from gatelab.verdict.results import (
    BOUNDED_METRICS,
    COSTS,
    BaselineResult,
    CellResult,
    SeedMeasurement,
    Verdict,
    baseline_result,
    cell_result,
    cost_ratios,
    is_bounded,
    representative,
    sign,
)
from gatelab.verdict.rule import COST_MARGIN, POWER, against_baselines, budget_warnings, cheaper_by_margin, decide
from gatelab.verdict.search import best_trials, search_counts, search_values

__all__ = ["BOUNDED_METRICS", "COSTS", "COST_MARGIN", "POWER", "BaselineComparison", "BaselineResult", "CellResult",
           "Comparison", "CostRatio", "Decision", "Rule", "SeedMeasurement", "Tie", "TieBreak", "Verdict",
           "VerdictWarning", "WarningCode", "against_baselines", "baseline_result", "best_trials", "budget_warnings",
           "cell_result", "cheaper_by_margin", "cost_ratios", "decide", "is_bounded", "representative",
           "search_counts", "search_values", "sign"]
