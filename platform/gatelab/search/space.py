"""The search space, as data (``SearchParam`` in the YAML), mapped to Optuna's ``trial.suggest_*`` in this one place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna

from gatelab.settings import SearchParam

__all__ = ["suggest"]


def suggest(trial: optuna.Trial, space: Sequence[SearchParam]) -> dict[str, Any]:
    """Draw one value per parameter; returns ``{config key: value}``."""
    values: dict[str, Any] = {}
    for param in space:
        if param.type == "int":
            values[param.name] = trial.suggest_int(param.name, int(param.low), int(param.high),
                                                   step=int(param.step or 1), log=param.log)
        elif param.type == "float":
            values[param.name] = trial.suggest_float(param.name, float(param.low), float(param.high),
                                                     step=param.step, log=param.log)
        else:
            values[param.name] = trial.suggest_categorical(param.name, list(param.choices or []))
    return values
