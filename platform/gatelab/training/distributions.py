"""A search-space entry as an Optuna distribution: the one mapping of ``SearchParam`` to ``optuna.distributions``.

Optuna's constructors hold its rules (``log`` with a float ``step``, ``low`` > ``high``, ``log`` with
``low`` <= 0, an empty ``choices``), so a config is checked against them when it loads, not in its
first trial. What Optuna would only warn about and quietly change is refused here too: a range that
is not a whole number of steps (Optuna narrows it) and an int bound or step that is not a whole
number (Optuna truncates it).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from gatelab.settings import SearchParam

__all__ = ["distribution", "extremes"]

_NUMERIC = ("low", "high", "step", "log")


def distribution(param: SearchParam) -> BaseDistribution:
    """Optuna's distribution for ``param``.

    Raises:
        ValueError: ``param`` breaks one of Optuna's rules (its message) or one of those above.
    """
    if param.type == "categorical":
        given = [name for name in _NUMERIC if getattr(param, name) not in (None, False)]
        if given:
            raise ValueError(f"{', '.join(given)}: apply to types int and float; type categorical takes 'choices' "
                             "only.")
        if param.choices is None:
            raise ValueError("type categorical needs 'choices', e.g. choices: [adam, sgd].")
        with _warnings_refused():
            return CategoricalDistribution(param.choices)
    if param.choices is not None:
        raise ValueError(f"choices: applies to type categorical; type {param.type} takes 'low' and 'high'.")
    if param.low is None or param.high is None:
        raise ValueError(f"type {param.type} needs 'low' and 'high'.")
    if param.type == "int":
        for name in ("low", "high", "step"):
            value = getattr(param, name)
            if value is not None and value != int(value):
                raise ValueError(f"{name}: {value} is not a whole number, which type int needs.")
    made: FloatDistribution | IntDistribution
    with _warnings_refused():
        if param.type == "int":
            made = IntDistribution(int(param.low), int(param.high), log=param.log, step=int(param.step or 1))
        else:
            made = FloatDistribution(param.low, param.high, log=param.log, step=param.step)
    if made.high != param.high:
        raise ValueError(f"the range {made.low}..{type(made.low)(param.high)} is not a whole number of steps of "
                         f"{made.step}, and Optuna would narrow it to {made.low}..{made.high}: set high: {made.high} "
                         "(or another step).")
    return made


def extremes(made: BaseDistribution) -> list[object]:
    """The values a search may reach at its edges: both bounds, or every choice."""
    if isinstance(made, CategoricalDistribution):
        return list(made.choices)
    assert isinstance(made, FloatDistribution | IntDistribution)
    return [made.low, made.high]


@contextmanager
def _warnings_refused() -> Iterator[None]:
    """Optuna's warnings (a choice it cannot store, ...) raised as ``ValueError``, except a range narrowed to whole
    steps, which ``distribution`` refuses with the fix."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for warning in caught:
        if "not divisible by `step`" not in str(warning.message):
            raise ValueError(str(warning.message))
