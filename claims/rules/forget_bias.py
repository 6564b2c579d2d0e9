"""R7, A forget-gate bias of 1 closes the LSTM's gap to the GRU: the LSTM's advantage at bias 1 minus at bias 0."""

from __future__ import annotations

from collections.abc import Sequence

from claims.evidence import (
    Finding,
)
from claims.lab import SweepSpec
from claims.rules.context import RuleContext, interval_text, runs_of


def _bias_specs(task: str, synthetic_length: int, biases: Sequence[float]) -> list[SweepSpec]:
    base = {"data.init_args.length": synthetic_length} if task == "synthetic" else {}
    return [SweepSpec.of(task, base | {"model.forget_bias": bias}) for bias in biases]


def plan_forget_bias(synthetic_length: int, biases: Sequence[float], tasks: Sequence[str]) -> list[SweepSpec]:
    return [spec for task in tasks for spec in _bias_specs(task, synthetic_length, biases)]


def forget_bias_closes_the_gap(ctx: RuleContext, synthetic_length: int, biases: Sequence[float],
                               tasks: Sequence[str]) -> list[Finding]:
    """The LSTM's advantage over the GRU with forget-gate bias ``biases[-1]`` minus with ``biases[0]``."""
    findings = []
    for task in tasks:
        outcomes = [ctx.sweep(spec) for spec in _bias_specs(task, synthetic_length, biases)]
        first, last = outcomes[0].advantage(), outcomes[-1].advantage()
        where = f"{task}" + (f" (length {synthetic_length})" if task == "synthetic" else "")
        findings.append(ctx.finding("R7", f"{where}: LSTM minus GRU ({outcomes[0].metric}) at forget bias "
                                          f"{biases[-1]:g} minus at {biases[0]:g}",
                                    ctx.paired([b - a for a, b in zip(first, last, strict=True)]), runs_of(outcomes),
                                    f"LSTM minus GRU at bias {biases[0]:g}: {interval_text(first, ctx.confidence)}; "
                                    f"at {biases[-1]:g}: {interval_text(last, ctx.confidence)}"))
    return findings
