"""The rules of thumb as experiments: one module per rule, named for what it tests, each with a ``plan_*``
function naming the sweeps it needs.

Each rule function takes the rule's ``RuleContext`` (``ctx``) and its settings from ``configs/claims.yaml``, runs its
sweeps through ``ctx.sweep`` (each sweep once per claims run, shared between rules) or measures, and returns
its findings, the first one the rule's headline. ``docs/claims.md`` states each effect. A rule is known by its id
in ``configs/claims.yaml`` (``R1``, what ``CLAIMS="R1 R3"`` names) and by its name (``long_sequences``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from claims.evidence import Finding
from claims.lab import SweepSpec
from claims.rules.context import RuleContext
from claims.rules.data_size import gru_for_small_data, plan_data_size
from claims.rules.forget_bias import forget_bias_closes_the_gap, plan_forget_bias
from claims.rules.importance import learning_rate_matters_most, plan_importance
from claims.rules.latency import gru_for_low_latency, plan_latency
from claims.rules.long_sequences import lstm_for_long_sequences, plan_long_sequences
from claims.rules.precision import lstm_for_precision, plan_precision
from claims.rules.prototyping import gru_for_prototyping, plan_prototyping
from claims.rules.resources import gru_for_constrained_resources, plan_resources

__all__ = ["RULES", "Rule", "RuleContext"]


@dataclass(frozen=True)
class Rule:
    """A rule's name, its experiment (``run``), the sweeps it needs (``plan``, same settings) and whether it also
    measures."""

    name: str
    run: Callable[..., list[Finding]]
    plan: Callable[..., list[SweepSpec]]
    measures: bool = False


#: The rules by their id in ``configs/claims.yaml``.
RULES: dict[str, Rule] = {
    "R1": Rule("long_sequences", lstm_for_long_sequences, plan_long_sequences),
    "R2": Rule("precision", lstm_for_precision, plan_precision),
    "R3": Rule("resources", gru_for_constrained_resources, plan_resources, measures=True),
    "R4": Rule("data_size", gru_for_small_data, plan_data_size),
    "R5": Rule("latency", gru_for_low_latency, plan_latency, measures=True),
    "R6": Rule("prototyping", gru_for_prototyping, plan_prototyping),
    "R7": Rule("forget_bias", forget_bias_closes_the_gap, plan_forget_bias),
    "R8": Rule("importance", learning_rate_matters_most, plan_importance),
}

