"""R4, GRU for small data sets: learning curves over fractions of the training data, with the generalisation gap."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from claims.evidence import (
    Finding,
)
from claims.lab import Outcome, SweepSpec
from claims.rules.context import CELLS, RuleContext, interval_text, runs_of

#: R4's learning curves: per task, the DataModule key that trains on a fraction, and what is counted.
R4_LEGS = {"fraud": ("data.init_args.card_fraction", "the cards"),
           "physio": ("data.init_args.record_fraction", "the DS1 training records"),
           "series": ("data.init_args.train_fraction", "the training series")}


def _fraction_spec(task: str, fraction: float) -> SweepSpec:
    return SweepSpec.of(task, {} if fraction == 1.0 else {R4_LEGS[task][0]: fraction})


def plan_data_size(card_fractions: Sequence[float], ecg_record_fractions: Sequence[float],
                   series_fractions: Sequence[float]) -> list[SweepSpec]:
    legs = (("fraud", card_fractions), ("physio", ecg_record_fractions), ("series", series_fractions))
    return [_fraction_spec(task, fraction) for task, fractions in legs for fraction in fractions]


def _generalisation_gap(ctx: RuleContext, outcome: Outcome, cell: str) -> float:
    """Mean over the selection seeds of test loss minus final training loss."""
    gaps = []
    for run_id in outcome.cell(cell)["seed_runs"]:
        metrics = ctx.tracker.client.get_run(run_id).data.metrics
        gaps.append(metrics["test/loss"] - metrics["train/loss"])
    return float(np.mean(gaps))


def _learning_curve(ctx: RuleContext, task: str, fractions: Sequence[float]) -> list[Finding]:
    """GRU minus LSTM on ``task`` trained on growing ``fractions`` of its training data, and the generalisation gap
    per size."""
    what = R4_LEGS[task][1]
    outcomes = [ctx.sweep(_fraction_spec(task, fraction)) for fraction in fractions]
    advantages = [outcome.advantage(better="gru", worse="lstm") for outcome in outcomes]
    gaps = {}
    for fraction, outcome in zip(fractions, outcomes, strict=True):
        for cell in CELLS:
            gaps[cell, fraction] = _generalisation_gap(ctx, outcome, cell)
            ctx.log({f"{task}.{cell}.generalisation_gap.{fraction:g}": gaps[cell, fraction]})
    per_size = "; ".join(f"{fraction:.0%}: GRU-LSTM {interval_text(values, ctx.confidence)}, gap (test minus train "
                         f"loss) LSTM {gaps['lstm', fraction]:.3g}, GRU {gaps['gru', fraction]:.3g}"
                         for fraction, values in zip(fractions, advantages, strict=True))
    runs = runs_of(outcomes)
    smallest, largest = fractions[0], fractions[-1]
    shrink = [small - large for small, large in zip(advantages[0], advantages[-1], strict=True)]
    return [ctx.finding("R4", f"{task}: GRU minus LSTM ({outcomes[0].metric}) trained on {smallest:.0%} of {what}",
                        ctx.paired(advantages[0]), runs, per_size),
            ctx.finding("R4", f"{task}: GRU's advantage at {smallest:.0%} of {what} minus at {largest:.0%}",
                        ctx.paired(shrink), runs)]


def gru_for_small_data(ctx: RuleContext, card_fractions: Sequence[float], ecg_record_fractions: Sequence[float],
                       series_fractions: Sequence[float]) -> list[Finding]:
    """Learning curves, GRU minus LSTM: fraud on ``card_fractions`` of the cards, ECG on ``ecg_record_fractions`` of
    the DS1 training records (``record_fraction``), the series task on ``series_fractions`` of its training series
    (``train_fraction``); a leg with fewer than two fractions is not run."""
    legs = (("fraud", card_fractions), ("physio", ecg_record_fractions), ("series", series_fractions))
    return [finding for task, fractions in legs if len(fractions) >= 2
            for finding in _learning_curve(ctx, task, fractions)]
