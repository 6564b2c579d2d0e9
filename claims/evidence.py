"""A rule's evidence: effects with their ``gatelab.stats`` intervals, and the claims verdict rule (pure functions of
numbers).

**The rule.** An effect is a difference (null 0) or a ratio (null 1) with its interval at the claims'
confidence. If the interval lies wholly on the side of the null the rule of thumb predicts, the rule is
**supported**; wholly on the other side, **contradicted**; otherwise there is **no detectable difference at
this budget**, stated with the smallest effect the experiment could have detected (``detectable``): for a
mean over seeds the paired t-test's detectable difference at the stated power (Cohen 1988, via
``gatelab.stats.detectable_difference``), for a median of per-round ratios or a bootstrap the interval's
half-width (how far from its centre the interval reaches), for an exact count zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from gatelab.stats import Interval, Median, detectable_difference, mean_interval, ratio_interval

__all__ = ["CONTRADICTED", "NO_DIFFERENCE", "SUPPORTED", "VERDICTS", "Effect", "Finding", "bootstrap_effect",
           "exact_ratio", "judge", "log_ratio_effect", "paired_effect", "round_ratio_effect"]

SUPPORTED, CONTRADICTED, NO_DIFFERENCE = "supported", "contradicted", "no detectable difference at this budget"
VERDICTS = (SUPPORTED, CONTRADICTED, NO_DIFFERENCE)


@dataclass(frozen=True)
class Effect:
    """A measured effect: its estimate and interval as ``gatelab.stats`` computes them, with what the claims add.

    Args:
        interval: the estimate with its interval: an ``Interval`` (a mean over seeds or sweeps, a bootstrap
            estimate) or a ``Median`` (of per-round ratios, or an exact count of width zero).
        null: no effect: 0 for a difference, 1 for a ratio.
        detectable: the smallest departure from the null the experiment could have detected (see the module).
        method: how the interval was computed, in words.
    """

    interval: Interval | Median
    null: float
    detectable: float
    method: str

    @property
    def estimate(self) -> float:
        """The effect (a difference, or a ratio)."""
        return self.interval.mean if isinstance(self.interval, Interval) else self.interval.median

    @property
    def low(self) -> float:
        return self.interval.low

    @property
    def high(self) -> float:
        return self.interval.high

    @property
    def n(self) -> int:
        """The units it rests on (seeds, timing rounds, sweeps, bootstrap resamples)."""
        return self.interval.n

    def __str__(self) -> str:
        return f"{self.estimate:.4g} [{self.low:.4g}, {self.high:.4g}]"

    def to_dict(self) -> dict[str, Any]:
        """As ``claims.json`` and ``findings.json`` hold it: estimate, low, high, n, null, detectable, method and
        the interval's kind (``mean`` or ``median``)."""
        return {"estimate": self.estimate, "low": self.low, "high": self.high, "n": self.n, "null": self.null,
                "detectable": self.detectable, "method": self.method,
                "kind": "mean" if isinstance(self.interval, Interval) else "median"}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Effect:
        """The effect ``to_dict`` wrote (a file without ``kind``, written before it, reads as a mean's interval)."""
        kind = Median if data.get("kind") == "median" else Interval
        interval = kind(data["estimate"], data["low"], data["high"], data["n"])
        return cls(interval, data["null"], data["detectable"], data["method"])


@dataclass
class Finding:
    """One experiment's outcome for a rule: the row of the table.

    Args:
        rule: the rule's name (``R1``).
        experiment: what ran, in words (task, sizes).
        effect: the measured effect.
        verdict: ``judge``'s verdict.
        runs: MLflow run ids holding the measurements.
        notes: more numbers, in words (per-size values, counts).
        numbers: named figures shown with the row (e.g. parameter counts).
    """

    rule: str
    experiment: str
    effect: Effect
    verdict: str
    runs: list[str] = field(default_factory=list)
    notes: str = ""
    numbers: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain data, its effect flattened (``Effect.to_dict``)."""
        return {item.name: getattr(self, item.name) for item in fields(self)} | {"effect": self.effect.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        """The finding ``to_dict`` wrote."""
        return cls(**(dict(data) | {"effect": Effect.from_dict(data["effect"])}))


def judge(effect: Effect, predicts: str) -> str:
    """The verdict on a rule that predicts the effect lies ``above`` or ``below`` its null (see the module)."""
    if effect.low > effect.null:
        side = "above"
    elif effect.high < effect.null:
        side = "below"
    else:
        return NO_DIFFERENCE
    return SUPPORTED if side == predicts else CONTRADICTED


def paired_effect(values: Sequence[float], confidence: float, power: float) -> Effect:
    """The mean of per-seed values (each a paired difference, or a difference of two) with its Student-t interval.

    Raises:
        ValueError: fewer than two values.
    """
    interval = mean_interval(values, confidence)
    spread = float(np.std(values, ddof=1))
    return Effect(interval, 0.0, detectable_difference(spread, interval.n, confidence, power),
                  f"mean over {interval.n} seeds, Student-t interval")


def round_ratio_effect(numerators: Sequence[float], denominators: Sequence[float], confidence: float) -> Effect:
    """The median of per-round ratios measured side by side, with its order-statistic interval."""
    median = ratio_interval(numerators, denominators, confidence)
    return Effect(median, 1.0, max(median.median - median.low, median.high - median.median),
                  f"median of {median.n} per-round ratios, order-statistic interval")


def log_ratio_effect(ratios: Sequence[float], confidence: float, power: float, unit: str = "sweeps") -> Effect:
    """The geometric mean of ratios (one per ``unit``: sweep, seed) with the Student-t interval of their logarithms
    mapped back; ``detectable`` is the smallest detectable ratio's departure from 1 (``exp(d) - 1``)."""
    logs = np.log(np.asarray(ratios, dtype=float))
    interval = mean_interval(logs, confidence)
    detectable = detectable_difference(float(np.std(logs, ddof=1)), interval.n, confidence, power)
    geometric = Interval(math.exp(interval.mean), math.exp(interval.low), math.exp(interval.high), interval.n)
    return Effect(geometric, 1.0, math.expm1(detectable),
                  f"geometric mean over {interval.n} {unit}, t interval of the logs")


def bootstrap_effect(estimate: float, resampled: Sequence[float], confidence: float) -> Effect:
    """An estimate with the percentile interval of its bootstrap resamples (Efron & Tibshirani 1993, ch. 13),
    widened to hold the estimate where it does not (a sign of too few trials: the verdict then rests on the
    wider interval)."""
    tail = (1.0 - confidence) / 2 * 100
    low, high = (float(value) for value in np.percentile(resampled, [tail, 100 - tail]))
    widened = not low <= estimate <= high
    low, high = min(low, estimate), max(high, estimate)
    return Effect(Interval(estimate, low, high, len(resampled)), 0.0, max(estimate - low, high - estimate),
                  f"percentile interval of {len(resampled)} bootstrap resamples of the trials"
                  + (", widened to hold the estimate" if widened else ""))


def exact_ratio(numerator: float, denominator: float, what: str) -> Effect:
    """A counted ratio (parameters, multiply-accumulates): the same on every machine, an interval of width zero."""
    ratio = numerator / denominator
    return Effect(Median(ratio, ratio, ratio, 1), 1.0, 0.0, f"exact, counted from the layers' shapes ({what})")
