"""Intervals and paired tests over seeds, and medians over timing rounds: pure functions of numbers.

A mean over seeds gets a Student-t interval; two cells trained on the same seeds are compared by a
paired t-test (seed ``i`` of one cell against seed ``i`` of the other), with the difference's interval.
A measured cost is the median over interleaved timing rounds with a distribution-free interval, and
two cells' costs are compared by the median of their per-round ratios. A search's budget curve is the
expected best of ``n`` trials drawn from the trials seen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

__all__ = ["BudgetCurve", "Interval", "Median", "Paired", "bounded_interval", "budget_curve", "detectable_difference",
           "holm", "mean_interval",
           "median_interval", "paired_comparison", "ratio_interval", "seeds_for_width", "seeds_to_resolve"]


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
class Median:
    """A median over ``n`` rounds with its two-sided confidence interval ``[low, high]``."""

    median: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        return f"{self.median:.4g} [{self.low:.4g}, {self.high:.4g}]"

    def excludes(self, value: float) -> bool:
        """Whether ``value`` lies outside the interval."""
        return not self.low <= value <= self.high


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


def median_interval(values: Sequence[float], confidence: float = 0.95) -> Median:
    """The median of ``values`` and its distribution-free confidence interval from order statistics.

    The interval is ``[x_(j), x_(n-j+1)]`` of the sorted values, with ``j`` the largest rank such that
    a Binomial(n, 1/2) count falls below ``j`` with probability at most ``(1 - confidence) / 2``
    (Conover, *Practical Nonparametric Statistics*, 3rd ed. 1999, section 3.2; computed by
    ``scipy.stats.quantile_test(...).confidence_interval``). It assumes only independent rounds.

    Raises:
        ValueError: too few values for an interval at ``confidence`` (fewer than 6 at 95%).
    """
    data = np.asarray(values, dtype=float)
    median = float(np.median(data)) if data.size else math.nan
    if data.size == 0 or stats.binom.cdf(0, data.size, 0.5) > (1.0 - confidence) / 2:
        raise ValueError(f"a {confidence:.0%} interval of a median needs more rounds than {data.size}")
    interval = stats.quantile_test(data, q=median, p=0.5).confidence_interval(confidence)
    return Median(median, float(interval.low), float(interval.high), int(data.size))


def ratio_interval(numerators: Sequence[float], denominators: Sequence[float], confidence: float = 0.95) -> Median:
    """The median of the per-round ratios ``numerators[i] / denominators[i]``, with ``median_interval``'s interval.

    Round ``i``'s two values were measured back to back, so a change of the machine's load between
    rounds falls on both and cancels in their ratio.

    Raises:
        ValueError: the sequences differ in length, or are too short for an interval.
    """
    a, b = np.asarray(numerators, dtype=float), np.asarray(denominators, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"ratios pair rounds: {a.size} vs {b.size} values")
    return median_interval(a / b, confidence)


def bounded_interval(values: Sequence[float], confidence: float = 0.95, clip: float = 1e-6) -> Interval:
    """The mean of values in [0, 1] (AUPRC, accuracy, F1, ...) with a Student-t interval that stays in range.

    The interval is computed on the logit scale, ``log(p / (1 - p))``, and mapped back with the
    logistic function, so that it never leaves [0, 1] however few and spread the values are (the
    usual remedy for proportions near a bound, e.g. Agresti, *Categorical Data Analysis*, 3rd ed. 2013,
    section 1.4). Values are clipped to ``[clip, 1 - clip]`` first (a logit of 0 or 1 is infinite).
    The centre reported (``mean``) is on the same scale: the mean of the logits mapped back, which
    lies inside the interval (the plain mean of few, spread values may not).

    Raises:
        ValueError: fewer than two values, or a value outside [0, 1].
    """
    data = np.asarray(values, dtype=float)
    if ((data < 0) | (data > 1)).any():
        raise ValueError(f"a bounded interval needs values in [0, 1], got {data.min():g} to {data.max():g}")
    logits = mean_interval(special.logit(np.clip(data, clip, 1 - clip)), confidence)
    return Interval(float(special.expit(logits.mean)), float(special.expit(logits.low)),
                    float(special.expit(logits.high)), logits.n)


def detectable_difference(spread: float, n: int, confidence: float = 0.95, power: float = 0.8) -> float:
    """The smallest true mean difference a two-sided paired t-test over ``n`` pairs detects with ``power``.

    With paired differences of standard deviation ``spread``, the test at level ``1 - confidence``
    rejects with probability ``power`` when the true difference is ``delta`` such that the noncentral t
    distribution (``n - 1`` degrees of freedom, noncentrality ``delta * sqrt(n) / spread``) lies beyond
    the critical values with that probability (Cohen, *Statistical Power Analysis for the Behavioral
    Sciences*, 2nd ed. 1988, chapter 2; solved exactly with ``scipy.stats.nct``, not by the normal
    approximation ``(z_a + z_b) * spread / sqrt(n)``, which is far too optimistic for a few seeds).

    Args:
        spread: the sample standard deviation of the paired differences.
        n: pairs (seeds).
        confidence: the test's confidence level.
        power: the probability of detecting the difference.

    Raises:
        ValueError: fewer than 2 pairs.
    """
    if n < 2:
        raise ValueError(f"a paired t-test needs at least 2 pairs, got {n}")
    if spread == 0.0:
        return 0.0
    df = n - 1
    critical = stats.t.ppf(0.5 + confidence / 2, df)

    def shortfall(noncentrality: float) -> float:
        # The opposite tail is tiny where the power is high; scipy gives NaN for it at some noncentralities.
        opposite = float(np.nan_to_num(stats.nct.cdf(-critical, df, noncentrality)))
        return float(stats.nct.sf(critical, df, noncentrality)) + opposite - power

    upper = critical + stats.norm.ppf(power) + 1.0
    while shortfall(upper) < 0:
        upper *= 2
    return float(optimize.brentq(shortfall, 0.0, upper) * spread / math.sqrt(n))


def seeds_to_resolve(spread: float, target: float, confidence: float = 0.95, power: float = 0.8,
                     limit: int = 100) -> int | None:
    """The fewest seeds whose paired t-test detects a difference of ``target`` (``detectable_difference``), given
    the paired differences' ``spread`` seen so far; None if more than ``limit`` would be needed."""
    for n in range(2, limit + 1):
        if detectable_difference(spread, n, confidence, power) <= target:
            return n
    return None


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (Holm 1979, "A simple sequentially rejective multiple test
    procedure", Scand. J. Statist. 6:65-70), in the order given.

    The ``i``-th smallest p-value is multiplied by ``m - i + 1`` (``m`` tests, ``i`` from 1), the
    results made non-decreasing in that order and capped at 1. Rejecting where the adjusted value is
    below ``alpha`` keeps the chance of any false rejection among the ``m`` at most ``alpha``.
    """
    order = np.argsort(p_values, kind="stable")
    m = len(order)
    adjusted, running = [0.0] * m, 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * float(p_values[index])))
        adjusted[index] = running
    return adjusted


def seeds_for_width(spread: float, width: float, confidence: float = 0.95, limit: int = 1000) -> int:
    """The fewest pairs whose Student-t interval of the mean difference is narrower than ``width``, given the
    paired differences' ``spread`` seen so far (``limit`` if even that many would not do)."""
    for n in range(2, limit):
        if 2 * stats.t.ppf(0.5 + confidence / 2, n - 1) * spread / math.sqrt(n) < width:
            return n
    return limit


@dataclass(frozen=True)
class BudgetCurve:
    """The expected best of ``n`` trials, for ``n`` = 1 .. N (the trials seen), with its standard deviation.

    ``n[k]``, ``expected[k]`` and ``spread[k]`` belong together.
    """

    n: list[int]
    expected: list[float]
    spread: list[float]

    def gain(self, maximize: bool = True) -> tuple[int, int, float]:
        """The improvement of the expected best over the last doubling of trials: ``(N // 2, N, improvement)``,
        positive when the best got better (higher where ``maximize``, lower otherwise).

        Raises:
            ValueError: fewer than 2 trials (no doubling).
        """
        total = len(self.n)
        if total < 2:
            raise ValueError(f"a doubling of trials needs at least 2 trials, got {total}")
        half = total // 2
        change = self.expected[-1] - self.expected[half - 1]
        return half, total, change if maximize else -change


def budget_curve(values: Sequence[float], maximize: bool = True) -> BudgetCurve:
    """The expected best validation value of ``n`` trials, ``n`` = 1 .. N, from the N trials' values.

    Dodge et al. 2019, "Show Your Work: Improved Reporting of Experimental Results" (EMNLP), section 3:
    ``n`` trials are ``n`` independent draws from the empirical distribution of the N values seen, so with
    the values sorted, ``v_(1) <= ... <= v_(N)``, the maximum of ``n`` draws is ``v_(i)`` with probability
    ``(i/N)^n - ((i-1)/N)^n``; the expectation and the standard deviation follow from those weights. For a
    metric to minimise the same holds with the values mirrored (the minimum of ``n`` draws).

    Raises:
        ValueError: no value, or a value that is not finite.
    """
    data = np.sort(np.asarray(values, dtype=float) * (1.0 if maximize else -1.0))
    if data.size == 0 or not np.isfinite(data).all():
        raise ValueError(f"a budget curve needs finite values, got {list(values)}")
    total = data.size
    ranks = np.arange(1, total + 1) / total
    trials = np.arange(1, total + 1)[:, None]
    weights = ranks ** trials - (ranks - 1 / total) ** trials  # (n, i): P(the best of n draws is v_(i))
    expected = weights @ data
    variance = np.clip(weights @ data**2 - expected**2, 0.0, None)
    sign = 1.0 if maximize else -1.0
    return BudgetCurve(list(range(1, total + 1)), [float(value) for value in sign * expected],
                       [float(value) for value in np.sqrt(variance)])
