"""The verdict's rule on known inputs: noise goes to the cheaper cell; a real gap picks the better, priced."""

from __future__ import annotations

import pytest

from gatelab.stats import mean_interval
from gatelab.verdict import COST, COST_MARGIN, CellResult, decide


def cell(name: str, values: list[float], latency: float, params: int = 1000, metric: str = "test/auprc") -> CellResult:
    result = CellResult(cell=name, finished=4, pruned=1, failed=0, best_trial=0, best_val=0.5, run_id="run",
                        seeds=list(range(len(values))), test={metric: values},
                        costs={COST: latency, "params": params, "seconds_per_epoch": 2.0})
    result.intervals = {metric: mean_interval(values)}
    return result


def test_a_difference_within_seed_noise_goes_to_the_cheaper_cell() -> None:
    lstm = cell("lstm", [0.70, 0.75, 0.68], latency=0.02, params=4000)
    gru = cell("gru", [0.72, 0.69, 0.71], latency=0.01, params=3000)
    choice, runner, comparisons, sentence = decide([lstm, gru], "test/auprc", "maximize", COST, 0.0)
    assert (choice, runner) == ("gru", "lstm")
    assert comparisons[0].tied and comparisons[0].against == "lstm"
    assert "Pick GRU: the difference is within the seed noise" in sentence
    assert "cheaper cell wins (lower latency per sequence at batch 1024)" in sentence
    assert "3,000 vs 4,000 parameters" in sentence


def test_a_clear_difference_picks_the_better_cell_and_states_its_price() -> None:
    lstm = cell("lstm", [0.712, 0.698, 0.731, 0.705, 0.720], latency=0.02, params=4000)
    gru = cell("gru", [0.701, 0.690, 0.715, 0.699, 0.708], latency=0.01, params=3000)
    choice, runner, comparisons, sentence = decide([gru, lstm], "test/auprc", "maximize", COST, 0.0)
    assert (choice, runner) == ("lstm", "gru")
    assert not comparisons[0].tied and comparisons[0].paired.difference.mean == pytest.approx(0.0106)
    assert sentence.startswith("Pick LSTM: it is better beyond the seed noise")
    assert "Its price: LSTM vs GRU: 0.02 vs 0.01 ms/sequence" in sentence and "(2.00x)" in sentence


def test_a_significant_but_tiny_difference_is_a_tie_under_the_tolerance() -> None:
    lstm = cell("lstm", [0.712, 0.698, 0.731, 0.705, 0.720], latency=0.02)
    gru = cell("gru", [0.701, 0.690, 0.715, 0.699, 0.708], latency=0.01)
    choice, _, _, sentence = decide([lstm, gru], "test/auprc", "maximize", COST, 0.02)
    assert choice == "gru" and "smaller than the tie tolerance 0.02" in sentence


def test_the_better_cell_that_is_also_cheaper_wins_a_tie() -> None:
    lstm = cell("lstm", [0.71, 0.75, 0.69], latency=0.01)
    gru = cell("gru", [0.72, 0.69, 0.70], latency=0.02)
    choice, runner, _, _ = decide([lstm, gru], "test/auprc", "maximize", COST, 0.0)
    assert (choice, runner) == ("lstm", "gru")


def test_minimize_ranks_lower_first() -> None:
    lstm = cell("lstm", [120.0, 121.0, 119.5, 120.5], latency=0.01, metric="test/ppl")
    gru = cell("gru", [100.0, 101.0, 99.0, 100.2], latency=0.02, metric="test/ppl")
    choice, _, comparisons, _ = decide([lstm, gru], "test/ppl", "minimize", COST, 0.0)
    assert choice == "gru" and not comparisons[0].tied


def test_latencies_within_the_margin_leave_the_choice_to_the_parameter_count() -> None:
    lstm = cell("lstm", [0.70, 0.75, 0.68], latency=0.0100, params=3000)
    gru = cell("gru", [0.72, 0.69, 0.71], latency=0.0095, params=4000)
    choice, _, _, sentence = decide([lstm, gru], "test/auprc", "maximize", COST, 0.0)
    assert choice == "lstm"
    assert f"fewer parameters; latency per sequence at batch 1024 within {COST_MARGIN:.0%}" in sentence
