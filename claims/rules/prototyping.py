"""R6, GRU for prototyping: search wall time to a share of the final best, over the learning-curve sweeps."""

from __future__ import annotations

from collections.abc import Sequence

import optuna
from optuna.trial import TrialState

from claims.evidence import (
    Finding,
    log_ratio_effect,
)
from claims.lab import SweepSpec
from claims.rules.context import CELLS, RuleContext, runs_of
from claims.rules.data_size import plan_data_size


def plan_prototyping(share: float, card_fractions: Sequence[float]) -> list[SweepSpec]:
    return plan_data_size(card_fractions, [], [])


def time_to_share(study: optuna.Study, share: float) -> float:
    """Wall seconds of a study's trials, in order, until its best-so-far covers ``share`` of the way from the
    first completed trial's value to the final best (either direction)."""
    trials = sorted((trial for trial in study.get_trials(deepcopy=False) if trial.datetime_complete),
                    key=lambda trial: trial.number)
    values = [trial.value for trial in trials if trial.state == TrialState.COMPLETE]
    better = max if study.direction == optuna.study.StudyDirection.MAXIMIZE else min
    target = values[0] + share * (better(values) - values[0])
    seconds, best = 0.0, None
    for trial in trials:
        seconds += (trial.datetime_complete - trial.datetime_start).total_seconds()
        if trial.state == TrialState.COMPLETE:
            best = trial.value if best is None else better(best, trial.value)
            if better(best, target) == best:
                return seconds
    return seconds


def gru_for_prototyping(ctx: RuleContext, share: float, card_fractions: Sequence[float]) -> list[Finding]:
    """Search wall time to ``share`` of the final best, GRU over LSTM, over fraud sweeps (R4's, shared)."""
    outcomes = [ctx.sweep(spec) for spec in plan_prototyping(share, card_fractions)]
    times = [{cell: time_to_share(outcome.studies[cell], share) for cell in CELLS} for outcome in outcomes]
    for step, found in enumerate(times):
        ctx.log({f"{cell}.seconds_to_{share:g}_of_best": value for cell, value in found.items()}, step)
    full = outcomes[-1]
    curves = "; ".join(f"{result['cell'].upper()} "
                       + ", ".join(f"{value:.3g}" for value in result["budget"]["expected"])
                       for result in full.verdict["cells"] if result.get("budget"))
    trials = len(full.studies["lstm"].get_trials(deepcopy=False))
    fractions = ", ".join(f"{fraction:.0%}" for fraction in card_fractions)
    return [ctx.finding("R6", f"fraud: search seconds to {share:.0%} of the way to the final best, GRU / LSTM, over "
                              f"{len(outcomes)} sweeps (cards {fractions}) of {trials} random-search trials per cell",
                        log_ratio_effect([found["gru"] / found["lstm"] for found in times], ctx.confidence, ctx.power),
                        runs_of(outcomes),
                        "seconds per sweep LSTM/GRU: " + ", ".join(f"{found['lstm']:.3g}/{found['gru']:.3g}"
                                                                   for found in times)
                        + f"; expected best {full.metric.replace('test/', 'val/')} of n = 1, 2, ... trials (Dodge et "
                          f"al. 2019) at {card_fractions[-1]:.0%} of the cards: {curves}")]
