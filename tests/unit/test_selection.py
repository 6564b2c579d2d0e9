"""Selection statistics on fixed numbers, checked against scipy's own tests and intervals."""

from __future__ import annotations

import math

import pytest
from gatelab.errors import GatelabError
from gatelab.selection import SEED_OFFSET, selection_seeds
from gatelab.settings import check_seeds
from gatelab.stats import mean_interval, paired_comparison
from scipy import stats

LSTM = [0.712, 0.698, 0.731, 0.705, 0.720]
GRU = [0.701, 0.690, 0.715, 0.699, 0.708]


def test_mean_interval_matches_scipy_t_interval() -> None:
    interval = mean_interval(LSTM)
    low, high = stats.t.interval(0.95, len(LSTM) - 1, loc=sum(LSTM) / len(LSTM), scale=stats.sem(LSTM))
    assert interval.mean == pytest.approx(0.7132)
    assert (interval.low, interval.high) == (pytest.approx(low), pytest.approx(high))
    assert interval.n == 5
    wider = mean_interval(LSTM, confidence=0.99)
    assert wider.low < interval.low and wider.high > interval.high


def test_known_interval_by_hand() -> None:
    # mean 2, sample sd 1, n 3: half-width t(0.975, 2) / sqrt(3) = 4.302653 / 1.732051 = 2.484138
    interval = mean_interval([1.0, 2.0, 3.0])
    assert interval.low == pytest.approx(2 - 2.484138, abs=1e-6)
    assert interval.high == pytest.approx(2 + 2.484138, abs=1e-6)


def test_paired_comparison_matches_scipy_ttest_rel() -> None:
    paired = paired_comparison(LSTM, GRU)
    reference = stats.ttest_rel(LSTM, GRU)
    assert paired.statistic == pytest.approx(reference.statistic)
    assert paired.p_value == pytest.approx(reference.pvalue)
    low, high = reference.confidence_interval(0.95)
    assert (paired.difference.low, paired.difference.high) == (pytest.approx(low), pytest.approx(high))
    assert paired.difference.mean == pytest.approx(0.0106)
    assert paired.distinguishable and paired.p_value < 0.05  # GRU is below LSTM on every seed


def test_noise_is_not_distinguishable() -> None:
    paired = paired_comparison([0.70, 0.75, 0.68], [0.72, 0.69, 0.71])
    assert paired.p_value == pytest.approx(stats.ttest_rel([0.70, 0.75, 0.68], [0.72, 0.69, 0.71]).pvalue)
    assert not paired.distinguishable
    assert paired.difference.low < 0 < paired.difference.high


def test_identical_differences_have_no_spread() -> None:
    shifted = paired_comparison([0.5, 0.6, 0.7], [0.4, 0.5, 0.6])
    assert shifted.statistic == math.inf and shifted.p_value == 0.0 and shifted.distinguishable
    same = paired_comparison([0.5, 0.6], [0.5, 0.6])
    assert same.p_value == 1.0 and not same.distinguishable


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 2 values"):
        mean_interval([0.5])
    with pytest.raises(ValueError, match="same seeds"):
        paired_comparison([0.5, 0.6], [0.5, 0.6, 0.7])
    with pytest.raises(ValueError, match="at least 2 seeds"):
        selection_seeds(0, 1)


def test_selection_seeds_are_shared_by_cells_and_apart_from_trial_seeds() -> None:
    assert selection_seeds(0, 3) == [SEED_OFFSET, SEED_OFFSET + 1, SEED_OFFSET + 2]
    assert selection_seeds(7, 2) == [SEED_OFFSET + 7, SEED_OFFSET + 8]


def test_seed_counts_below_two_are_refused_in_the_words_of_the_fix() -> None:
    for seeds in (2, 10, "auto"):
        check_seeds(seeds)
    for seeds in (1, 0, -3):
        with pytest.raises(GatelabError, match=f"seeds={seeds}: the verdict needs at least 2 seeds.*SEEDS=2 or more"):
            check_seeds(seeds)
