"""The series task in the rules that vary data size (R4) and sequence length (R1), like the other tasks: their plans
name settings the series config accepts (the legs' loops are the other tasks'; a real series sweep of a leg takes
a minute, so none runs here)."""

from __future__ import annotations

from typing import Any

from gatelab.training.experiment import load_experiment

from claims.lab import SweepSpec
from claims.rules import RULES


def _built(spec: SweepSpec) -> Any:
    """The DataModule of the sweep a spec asks for, as the engine builds it."""
    return load_experiment(spec.task, [], dict(spec.overrides)).run().data


def test_r4_plans_a_learning_curve_over_the_training_series() -> None:
    specs = RULES["R4"].plan(card_fractions=[], ecg_record_fractions=[], series_fractions=[0.25, 1.0])
    assert [spec.describe() for spec in specs] == ["series, train_fraction=0.25", "series"]
    assert _built(specs[0]).train_fraction == 0.25


def test_r1_plans_the_airline_forecast_over_context_lengths() -> None:
    specs = RULES["R1"].plan(lengths=[], lm_bptt=[], ecg_context_beats=[], series_context=[12, 36])
    assert [dict(spec.overrides)["data.init_args.context"] for spec in specs] == [12, 36]
    data = _built(specs[1])
    assert (data.problem, data.context, data.horizon, data.source.name) == ("forecasting", 36, 12, "Airline")
