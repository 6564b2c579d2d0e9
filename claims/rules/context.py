"""What every rule works with: its context (the claims' sweeps, its own run, its text and levels) and helpers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gatelab.stats import mean_interval
from gatelab.tracking.client import Tracker
from gatelab.training.experiment import Experiment

from claims.config import RuleText
from claims.evidence import Effect, Finding, judge, paired_effect
from claims.lab import Lab, Outcome, SweepSpec

__all__ = ["CELLS", "RuleContext", "interval_text", "runs_of"]

CELLS = ("lstm", "gru")


@dataclass
class RuleContext:
    """What a rule function works with.

    Args:
        lab: runs the claims' sweeps.
        run: the rule's own MLflow run (a child of the claims run), for what it measures itself.
        text: the rule as the config states it.
        confidence: of every interval.
        power: at which a mean's smallest detectable effect is stated.
    """

    lab: Lab
    run: str
    text: RuleText
    confidence: float
    power: float

    def finding(self, rule: str, experiment: str, effect: Effect, runs: Sequence[str], notes: str = "",
                numbers: Mapping[str, float] | None = None) -> Finding:
        """A finding judged by the rule's prediction; the rule's own run is linked with the given runs."""
        return Finding(rule, experiment, effect, judge(effect, self.text.predicts), [*runs, self.run], notes,
                       dict(numbers or {}))

    def paired(self, values: Sequence[float]) -> Effect:
        return paired_effect(values, self.confidence, self.power)

    def sweep(self, spec: SweepSpec) -> Outcome:
        """The finished sweep ``spec`` asks for (run, resumed or read back once per claims run)."""
        return self.lab.sweep(spec)

    def config(self, spec: SweepSpec) -> Experiment:
        """The settings of the sweep ``spec`` asks for."""
        return self.lab.config(spec)

    @property
    def tracker(self) -> Tracker:
        """The ``gatelab-claims`` experiment."""
        return self.lab.tracker

    def log(self, metrics: Mapping[str, float], step: int = 0) -> None:
        """Log measurements on the rule's run."""
        self.lab.tracker.log_metrics(self.run, {key: float(value) for key, value in metrics.items()}, step)


def interval_text(values: Sequence[float], confidence: float) -> str:
    """The mean of ``values`` with its interval, in words."""
    return str(mean_interval(values, confidence))


def runs_of(outcomes: Sequence[Outcome]) -> list[str]:
    """Every run of the sweeps (parent and selection runs)."""
    return [run for outcome in outcomes for run in outcome.runs]
