"""The claims verdict rule: supported, contradicted, or no detectable difference with the smallest detectable effect."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gatelab.stats import Interval, Median, detectable_difference

from claims.evidence import (
    CONTRADICTED,
    NO_DIFFERENCE,
    SUPPORTED,
    Effect,
    Finding,
    bootstrap_effect,
    exact_ratio,
    judge,
    log_ratio_effect,
    paired_effect,
    round_ratio_effect,
)


def test_a_difference_wholly_on_the_predicted_side_supports_the_rule_and_on_the_other_contradicts_it() -> None:
    effect = paired_effect([0.10, 0.12, 0.11, 0.13], 0.95, 0.8)
    assert effect.low > 0 and effect.null == 0
    assert judge(effect, "above") == SUPPORTED
    assert judge(effect, "below") == CONTRADICTED


def test_an_interval_across_the_null_is_no_detectable_difference_with_the_smallest_detectable_effect() -> None:
    values = [0.05, -0.04, 0.03, -0.02]
    effect = paired_effect(values, 0.95, 0.8)
    assert effect.low < 0 < effect.high
    assert judge(effect, "above") == judge(effect, "below") == NO_DIFFERENCE
    assert effect.detectable == pytest.approx(detectable_difference(float(np.std(values, ddof=1)), 4, 0.95, 0.8))
    assert effect.detectable > abs(effect.estimate)


def test_ratios_are_judged_against_one() -> None:
    faster = round_ratio_effect([0.7, 0.72, 0.69, 0.71, 0.7, 0.73, 0.68, 0.7], [1.0] * 8, 0.95)
    assert faster.null == 1 and faster.high < 1 and judge(faster, "below") == SUPPORTED
    same = round_ratio_effect([0.9, 1.1, 1.0, 0.95, 1.05, 1.02, 0.98, 1.0], [1.0] * 8, 0.95)
    assert judge(same, "below") == NO_DIFFERENCE and same.detectable > 0
    assert judge(log_ratio_effect([1.5, 1.6, 1.55], 0.95, 0.8), "below") == CONTRADICTED


def test_a_counted_ratio_is_exact_and_a_bootstrap_interval_holds_its_estimate() -> None:
    counted = exact_ratio(3, 4, "multiply-accumulates")
    assert (counted.estimate, counted.low, counted.high, counted.detectable) == (0.75, 0.75, 0.75, 0.0)
    assert judge(counted, "below") == SUPPORTED
    widened = bootstrap_effect(-0.3, [0.3, 0.4, 0.5], 0.95)
    assert widened.low == -0.3 and "widened" in widened.method
    assert judge(widened, "above") == NO_DIFFERENCE


def test_an_effect_holds_a_stats_interval_and_reads_back_as_written() -> None:
    ratio = round_ratio_effect([0.7, 0.72, 0.69, 0.71, 0.7, 0.73, 0.68, 0.7], [1.0] * 8, 0.95)
    mean = paired_effect([0.10, 0.12, 0.11, 0.13], 0.95, 0.8)
    assert isinstance(ratio.interval, Median) and isinstance(mean.interval, Interval)
    for effect in (ratio, mean):
        finding = Finding("R3", "toy", effect, judge(effect, "below"), ["run"])
        data = json.loads(json.dumps(finding.to_dict()))
        assert data["effect"]["low"] <= data["effect"]["estimate"] <= data["effect"]["high"]
        assert Finding.from_dict(data) == finding
    old = {"estimate": 1.5, "low": 1.2, "high": 1.8, "n": 3, "null": 1.0, "detectable": 0.1, "method": "m"}
    assert Effect.from_dict(old).interval == Interval(1.5, 1.2, 1.8, 3)  # written before the interval's kind was
