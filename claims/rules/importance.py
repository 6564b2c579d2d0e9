"""R8, The learning rate matters most: fANOVA importances over a random search, bootstrapped over trials."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import optuna
from optuna.importance import FanovaImportanceEvaluator, get_param_importances
from optuna.trial import TrialState, create_trial

from claims.evidence import (
    Finding,
    bootstrap_effect,
)
from claims.lab import SweepSpec
from claims.rules.context import CELLS, RuleContext

#: Interactions of hyperparameters are not computed, and why.
NO_INTERACTIONS = ("pairwise interactions not computed: Optuna's fANOVA gives main effects only, and the fanova "
                   "package that computes interactions (2.0.19, last released 2020-06) needs pyrfr built with SWIG "
                   "and is no longer maintained")


def plan_importance(bootstrap: int, trees: int) -> list[SweepSpec]:
    return [SweepSpec.of("fraud")]

LEARNING_RATE = "optim.lr"


def _lr_lead(trials: Sequence[optuna.trial.FrozenTrial], direction: optuna.study.StudyDirection, trees: int,
             seed: int) -> tuple[float, dict[str, float]]:
    """fANOVA's importance of the learning rate minus the largest other one, and every importance."""
    study = optuna.create_study(direction=direction)
    study.add_trials([create_trial(params=trial.params, distributions=trial.distributions, value=trial.value)
                      for trial in trials])
    importances = get_param_importances(study, evaluator=FanovaImportanceEvaluator(n_trees=trees, seed=seed))
    others = [value for name, value in importances.items() if name != LEARNING_RATE]
    return importances.get(LEARNING_RATE, 0.0) - max(others, default=0.0), importances


def learning_rate_matters_most(ctx: RuleContext, bootstrap: int, trees: int) -> list[Finding]:
    """fANOVA main-effect importances per cell over the fraud sweep's random search (Greff et al. 2017)."""
    outcome = ctx.sweep(SweepSpec.of("fraud"))
    findings = []
    generator = np.random.default_rng(0)
    for cell in CELLS:
        study = outcome.studies[cell]
        trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        lead, importances = _lr_lead(trials, study.direction, trees, 0)
        ctx.log({f"{cell}.fanova.{name}": value for name, value in importances.items()})
        resampled = []
        for index in range(bootstrap):
            drawn = [trials[i] for i in generator.integers(len(trials), size=len(trials))]
            try:
                value = _lr_lead(drawn, study.direction, trees, index + 1)[0]
            except (ValueError, RuntimeError, ZeroDivisionError):  # a resample too uniform for a forest
                continue
            if math.isfinite(value):
                resampled.append(value)
        effect = bootstrap_effect(lead, resampled or [lead], ctx.confidence)
        shown = ", ".join(f"{name} {value:.2f}" for name, value in importances.items())
        findings.append(ctx.finding("R8", f"fraud, {cell.upper()}: learning rate's fANOVA importance minus the next "
                                          f"hyperparameter's, over {len(trials)} random-search trials",
                                    effect, outcome.runs, f"importances ({len(trials)} trials): {shown}; "
                                                          f"{len(resampled)} usable resamples; {NO_INTERACTIONS}",
                                    {"trials": len(trials)}))
    return findings
