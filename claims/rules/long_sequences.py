"""R1, LSTM for long sequences: the LSTM's advantage over the GRU as sequences grow (delayed recall, character LM,
ECG context)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from claims.evidence import (
    Finding,
)
from claims.lab import SweepSpec
from claims.rules.context import RuleContext, interval_text, runs_of

#: R1's series leg: the airline passengers forecast 12 months ahead (configs/series/airline.yaml's settings).
SERIES_FORECAST = {"data.init_args.problem": "forecasting", "data.init_args.source.init_args.name": "Airline",
                   "data.init_args.horizon": 12, "data.init_args.season": 12}


def _legs(lengths: Sequence[int], lm_bptt: Sequence[int], ecg_context_beats: Sequence[int],
          series_context: Sequence[int]) -> list[tuple[str, str, Sequence[int], str, dict[str, object]]]:
    """R1's legs: task, the config key that sets the length, its values, the length in words, other settings."""
    return [("synthetic", "data.init_args.length", lengths, "delayed recall of step 0, length", {}),
            ("lm", "data.init_args.bptt", lm_bptt, "Tiny Shakespeare characters, TBPTT window", {}),
            ("physio", "data.init_args.context_beats", ecg_context_beats,
             "MIT-BIH inter-patient beats with their rhythm (a step per beat), beats on each side", {}),
            ("series", "data.init_args.context", series_context,
             "airline passengers forecast 12 months ahead, context months", SERIES_FORECAST)]


def plan_long_sequences(lengths: Sequence[int], lm_bptt: Sequence[int], ecg_context_beats: Sequence[int],
                        series_context: Sequence[int]) -> list[SweepSpec]:
    return [SweepSpec.of(task, {key: size, **fixed})
            for task, key, sizes, _, fixed in _legs(lengths, lm_bptt, ecg_context_beats, series_context)
            for size in sizes]


def lstm_for_long_sequences(ctx: RuleContext, lengths: Sequence[int], lm_bptt: Sequence[int],
                            ecg_context_beats: Sequence[int], series_context: Sequence[int]) -> list[Finding]:
    """LSTM's advantage from the shortest to the longest length: delayed recall (lengths), character LM (TBPTT),
    ECG beats in a context of ``2k + 1`` beats (``k`` in ``ecg_context_beats``), the series task's airline
    forecast from ``series_context`` months; a leg with fewer than two sizes is not run."""
    findings = []
    for task, key, sizes, what, fixed in _legs(lengths, lm_bptt, ecg_context_beats, series_context):
        if len(sizes) < 2:
            continue
        outcomes = [ctx.sweep(SweepSpec.of(task, {key: size, **fixed})) for size in sizes]
        advantages = [outcome.advantage() for outcome in outcomes]
        growth = [longest - shortest for shortest, longest in zip(advantages[0], advantages[-1], strict=True)]
        per_size = "; ".join(f"{size}: {interval_text(values, ctx.confidence)}"
                             for size, values in zip(sizes, advantages, strict=True))
        for size, values in zip(sizes, advantages, strict=True):
            ctx.log({f"{task}.lstm_advantage.{size}": float(np.mean(values))})
        findings.append(ctx.finding("R1", f"{task}: {what} {sizes[-1]} vs {sizes[0]} ({outcomes[0].metric})",
                                    ctx.paired(growth), runs_of(outcomes),
                                    f"LSTM minus GRU per size: {per_size}"))
    return findings
