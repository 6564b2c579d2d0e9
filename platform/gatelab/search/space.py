"""The search space, as data (``SearchParam`` in the YAML), mapped to Optuna's ``trial.suggest_*`` in this one place.

Each entry becomes Optuna's distribution (``gatelab.training.distributions``, checked when the config
loads), and the trial draws from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from gatelab.settings import SearchParam
from gatelab.training.distributions import distribution

__all__ = ["suggest"]


def suggest(trial: optuna.Trial, space: Sequence[SearchParam]) -> dict[str, Any]:
    """Draw one value per parameter; returns ``{config key: value}``."""
    values: dict[str, Any] = {}
    for param in space:
        made = distribution(param)
        if isinstance(made, IntDistribution):
            values[param.name] = trial.suggest_int(param.name, made.low, made.high, step=made.step, log=made.log)
        elif isinstance(made, FloatDistribution):
            values[param.name] = trial.suggest_float(param.name, made.low, made.high, step=made.step, log=made.log)
        else:
            assert isinstance(made, CategoricalDistribution)
            values[param.name] = trial.suggest_categorical(param.name, made.choices)
    return values
