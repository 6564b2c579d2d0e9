"""Intervals and paired tests over seeds: pure functions of numbers.

A mean over seeds gets a Student-t interval; two cells trained on the same seeds are compared by a
paired t-test (seed ``i`` of one cell against seed ``i`` of the other), with the difference's interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["Interval", "Paired", "mean_interval", "paired_comparison"]


@dataclass(frozen=True)
class Interval:
    """A mean over ``n`` seeds with its two-sided confidence interval ``[low, high]``."""

    mean: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.4f} [{self.low:.4f}, {self.high:.4f}]"


@dataclass(frozen=True)
class Paired:
    """A paired comparison of two cells over the same seeds: ``difference`` is first minus second.

    ``distinguishable`` is True when the two-sided paired t-test rejects "no difference" at
    ``1 - confidence`` (equivalently: the difference's interval excludes zero).
    """

    difference: Interval
    statistic: float
    p_value: float
    confidence: float
    test: str = "paired t-test"

    @property
    def distinguishable(self) -> bool:
        return self.p_value < 1.0 - self.confidence


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """The mean of ``values`` and its Student-t confidence interval (``n - 1`` degrees of freedom).

    Raises:
        ValueError: fewer than two values (no spread, so no interval).
    """
    data = np.asarray(values, dtype=float)
    if data.size < 2:
        raise ValueError(f"an interval needs at least 2 values, got {data.size}")
    mean = float(data.mean())
    half = float(stats.t.ppf(0.5 + confidence / 2, data.size - 1)) * float(data.std(ddof=1)) / math.sqrt(data.size)
    return Interval(mean, mean - half, mean + half, int(data.size))


def paired_comparison(first: Sequence[float], second: Sequence[float], confidence: float = 0.95) -> Paired:
    """Paired t-test of ``first - second`` over seeds, with the difference's confidence interval.

    Identical differences on every seed (no spread) are distinguishable unless they are all zero.

    Raises:
        ValueError: the two sequences differ in length or hold fewer than two pairs.
    """
    a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired values need the same seeds: {a.size} vs {b.size} values")
    differences = a - b
    interval = mean_interval(differences, confidence)
    spread = float(differences.std(ddof=1))
    if spread == 0.0:
        statistic = 0.0 if interval.mean == 0.0 else math.copysign(math.inf, interval.mean)
        p_value = 1.0 if interval.mean == 0.0 else 0.0
    else:
        statistic = interval.mean / (spread / math.sqrt(differences.size))
        p_value = float(2 * stats.t.sf(abs(statistic), differences.size - 1))
    return Paired(interval, statistic, p_value, confidence)
