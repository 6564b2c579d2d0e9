"""Medians over timing rounds and their ratios, detectable differences, Holm's correction, bounded intervals and
budget curves, on known numbers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from gatelab.stats import (
    bounded_interval,
    budget_curve,
    detectable_difference,
    holm,
    mean_interval,
    median_interval,
    ratio_interval,
    seeds_for_width,
    seeds_to_resolve,
)
from scipy import stats


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


def test_detectable_difference_has_the_stated_power() -> None:
    # simulated paired t-tests at the returned difference reject 80% of the time
    delta = detectable_difference(1.0, 10)
    rng = np.random.default_rng(0)
    samples = rng.normal(delta, 1.0, size=(100_000, 10))
    t = samples.mean(axis=1) / (samples.std(axis=1, ddof=1) / np.sqrt(10))
    assert np.mean(np.abs(t) > stats.t.ppf(0.975, 9)) == pytest.approx(0.80, abs=0.005)
    # the normal approximation (z_a + z_b) / sqrt(n) is far too optimistic for few seeds
    assert delta == pytest.approx(0.996, abs=1e-3) and delta > (1.960 + 0.842) / np.sqrt(10)
    assert detectable_difference(0.02, 2) > 9 * detectable_difference(0.02, 8)  # 2 seeds: almost blind
    assert detectable_difference(0.0, 3) == 0.0


def test_seeds_to_resolve_and_seeds_for_width_follow_the_spread() -> None:
    needed = seeds_to_resolve(0.02, 0.01)
    assert detectable_difference(0.02, needed) <= 0.01 < detectable_difference(0.02, needed - 1)
    assert seeds_to_resolve(1.0, 1e-4) is None
    width = seeds_for_width(0.02, 0.04)
    assert 2 * stats.t.ppf(0.975, width - 1) * 0.02 / np.sqrt(width) < 0.04
    assert 2 * stats.t.ppf(0.975, width - 2) * 0.02 / np.sqrt(width - 1) >= 0.04


def test_holm_matches_the_step_down_procedure_by_hand() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 -> 0.02, 0.03, 0.06, 0.04 -> made monotone: 0.06 for the last
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.2]) == [0.2] and holm([0.5, 0.6]) == [1.0, 1.0]


def test_bounded_intervals_stay_in_range_and_match_the_t_interval_when_tight() -> None:
    wide = bounded_interval([0.048, 0.30])  # 2 seeds of a rare-event AUPRC
    assert 0.0 <= wide.low < wide.mean < wide.high <= 1.0 and wide.low < 0.048 and 0.30 < wide.high
    assert wide.mean == pytest.approx(1 / (1 + np.sqrt((1 - 0.048) / 0.048 * (1 - 0.30) / 0.30)))  # logit mean
    assert mean_interval([0.048, 0.30]).low < 0  # what the plain t-interval says
    tight = bounded_interval([0.50, 0.51, 0.49, 0.50])
    plain = mean_interval([0.50, 0.51, 0.49, 0.50])
    assert (tight.low, tight.high) == (pytest.approx(plain.low, abs=2e-4), pytest.approx(plain.high, abs=2e-4))
    assert bounded_interval([1.0, 1.0, 0.99]).high <= 1.0
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        bounded_interval([0.5, 1.2])


@pytest.mark.parametrize("maximize", [True, False])
def test_budget_curve_is_the_best_of_n_draws_counted_over_every_draw(maximize: bool) -> None:
    values = [0.31, 0.12, 0.55, 0.31, 0.08]  # a tie included
    curve = budget_curve(values, maximize)
    best = max if maximize else min
    for n in curve.n:
        draws = [best(draw) for draw in itertools.product(values, repeat=n)]  # all 5^n equally likely draws
        assert curve.expected[n - 1] == pytest.approx(np.mean(draws), abs=1e-12)
        assert curve.spread[n - 1] == pytest.approx(np.std(draws), abs=1e-12)
    assert curve.expected[0] == pytest.approx(np.mean(values))
    assert curve.n == [1, 2, 3, 4, 5]


def test_budget_curve_gain_over_the_last_doubling() -> None:
    curve = budget_curve([0.1, 0.2, 0.3, 0.9])
    half, total, gain = curve.gain()
    assert (half, total) == (2, 4) and gain == pytest.approx(curve.expected[3] - curve.expected[1]) and gain > 0
    lower = budget_curve([0.1, 0.2, 0.3, 0.9], maximize=False)
    gain = lower.gain(maximize=False)[2]
    assert gain == pytest.approx(lower.expected[1] - lower.expected[3]) and gain > 0
    assert budget_curve([0.4, 0.4, 0.4, 0.4]).gain()[2] == 0.0
    with pytest.raises(ValueError, match="at least 2 trials"):
        budget_curve([0.4]).gain()
    with pytest.raises(ValueError, match="finite values"):
        budget_curve([0.4, float("nan")])
