"""Medians over timing rounds and their ratios, with order-statistic intervals, on known numbers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from gatelab.stats import median_interval, ratio_interval


def test_median_interval_is_the_binomial_order_statistics() -> None:
    values = np.arange(30.0)[::-1]  # order does not matter
    interval = median_interval(values)
    # P(Binomial(30, 1/2) <= 9) = 0.021 <= 0.025 < P(<= 10) = 0.049: ranks 10 and 21 (values 9 and 20)
    assert stats.binom.cdf(9, 30, 0.5) <= 0.025 < stats.binom.cdf(10, 30, 0.5)
    assert (interval.median, interval.low, interval.high, interval.n) == (14.5, 9.0, 20.0, 30)
    assert str(interval) == "14.5 [9, 20]"


def test_six_rounds_are_the_fewest_for_a_95_percent_interval() -> None:
    six = median_interval([3.0, 1.0, 2.0, 6.0, 5.0, 4.0])
    assert (six.low, six.high) == (1.0, 6.0)  # coverage 1 - 2/64 = 0.969
    with pytest.raises(ValueError, match="more rounds than 5"):
        median_interval([1.0, 2.0, 3.0, 4.0, 5.0])


def test_ratio_pairs_rounds_so_a_shared_load_cancels() -> None:
    load = np.array([1.0, 3.0, 1.5, 0.8, 2.5, 1.2, 4.0, 1.1])  # the machine's load, round by round
    dearer, cheaper = 3.0 * load, 1.0 * load
    ratio = ratio_interval(dearer, cheaper)
    assert (ratio.median, ratio.low, ratio.high) == pytest.approx((3.0, 3.0, 3.0))
    assert ratio.excludes(1.0) and not ratio.excludes(3.0)
    unpaired = median_interval(dearer / np.roll(cheaper, 3))  # the same values, rounds mismatched
    assert unpaired.high - unpaired.low > 1.0
    with pytest.raises(ValueError, match="pair rounds"):
        ratio_interval([1.0, 2.0], [1.0])
