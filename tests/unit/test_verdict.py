"""The verdict's rule on given measurements: noise goes to the cell cheaper by a distinguishable margin, else to
fewer multiply-accumulates; a real gap picks the better cell, priced."""

from __future__ import annotations

import optuna
import pytest
from gatelab.report.sentences import budget_sentence, decision_sentence
from gatelab.stats import Median, budget_curve
from gatelab.verdict import (
    CellResult,
    Decision,
    Rule,
    Tie,
    WarningCode,
    budget_warnings,
    cheaper_by_margin,
    is_bounded,
    search_values,
)
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial
from verdict_support import LATENCY, cell, run


def said(*cells: tuple[CellResult, list[float]], **settings) -> tuple[Decision, str]:
    """``run``'s decision and the report's sentence for it."""
    decision = run(*cells, **settings)
    return decision, decision_sentence(decision, [result for result, _ in cells])


def test_a_tie_goes_to_the_cell_cheaper_by_a_distinguishable_margin() -> None:
    lstm = cell("lstm", [0.70, 0.75, 0.68], latency=0.03, macs=4000)
    gru = cell("gru", [0.72, 0.69, 0.71], latency=0.01, macs=3000)
    decision, sentence = said(lstm, gru)
    assert (decision.choice, decision.runner_up, decision.rule) == ("gru", "lstm", "cost")
    assert decision.comparisons[0].tied and decision.comparisons[0].against == "lstm"
    assert "Pick GRU: the difference is within the seed noise" in sentence
    assert "cheaper by a distinguishable margin wins: lower latency per sequence at batch 1024" in sentence
    assert "LSTM/GRU 3 [" in sentence and "3,000 vs 4,000 multiply-accumulates" in sentence


def test_a_cost_gap_of_less_than_the_margin_falls_back_to_multiply_accumulates() -> None:
    # 5% apart on every round: the interval excludes 1, but the gap is below 10%
    lstm = cell("lstm", [0.70, 0.75, 0.68], latency=0.0100, macs=3000)
    gru = cell("gru", [0.72, 0.69, 0.71], latency=0.0105, macs=4000)
    decision, sentence = said(lstm, gru)
    assert (decision.choice, decision.rule) == ("lstm", "macs")
    assert "not apart by a distinguishable margin" in sentence
    assert "fewer multiply-accumulates per sequence wins (LSTM 3,000, GRU 4,000)" in sentence


def test_noisy_timings_without_a_clear_gap_fall_back_to_multiply_accumulates() -> None:
    # 30% apart in the median, but the rounds overlap: the ratio's interval holds 1
    lstm = cell("lstm", [0.70, 0.75, 0.68], latency=0.010, macs=3000, wobble=[1, 2, 0.5, 1.5, 0.7, 1.1, 0.6, 1.9])
    gru = cell("gru", [0.72, 0.69, 0.71], latency=0.013, macs=4000, wobble=[0.5, 1, 2, 0.6, 1.8, 1, 1.4, 0.7])
    decision = run(lstm, gru)
    assert (decision.choice, decision.rule) == ("lstm", "macs")


def test_identical_models_are_a_tie_on_everything_and_keep_the_better_mean() -> None:
    first = cell("lstm", [0.70, 0.75, 0.68], latency=0.01, macs=3000)
    second = cell("gru", [0.72, 0.69, 0.71], latency=0.01, macs=3000)
    decision, sentence = said(first, second)
    assert (decision.choice, decision.rule) == ("lstm", "equal")  # LSTM's mean 0.7100 is above GRU's 0.7067
    assert "equal multiply-accumulates, the better mean is kept" in sentence


def test_a_clear_difference_picks_the_better_cell_and_states_its_price() -> None:
    lstm = cell("lstm", [0.712, 0.698, 0.731, 0.705, 0.720], latency=0.02, macs=4000)
    gru = cell("gru", [0.701, 0.690, 0.715, 0.699, 0.708], latency=0.01, macs=3000)
    decision, sentence = said(gru, lstm)
    assert (decision.choice, decision.runner_up, decision.rule) == ("lstm", "gru", "quality")
    assert not decision.comparisons[0].tied
    assert decision.comparisons[0].paired.difference.mean == pytest.approx(0.0106)
    assert sentence.startswith("Pick LSTM: it is better beyond the seed noise")
    assert "Its price: LSTM vs GRU: 0.02 vs 0.01 ms/sequence at batch 1024 (2x [2, 2])" in sentence


def test_a_significant_but_tiny_difference_is_a_tie_under_the_tolerance() -> None:
    lstm = cell("lstm", [0.712, 0.698, 0.731, 0.705, 0.720], latency=0.02)
    gru = cell("gru", [0.701, 0.690, 0.715, 0.699, 0.708], latency=0.01)
    decision, sentence = said(lstm, gru, tolerance=0.02)
    assert decision.choice == "gru" and "smaller than the tie tolerance 0.02" in sentence


def test_minimize_ranks_lower_first() -> None:
    lstm = cell("lstm", [120.0, 121.0, 119.5, 120.5], latency=0.01, metric="test/ppl")
    gru = cell("gru", [100.0, 101.0, 99.0, 100.2], latency=0.02, metric="test/ppl")
    decision = run(lstm, gru, metric="test/ppl", direction="minimize")
    assert decision.choice == "gru" and not decision.comparisons[0].tied


def test_multiply_accumulates_as_the_cost_decide_a_tie_exactly() -> None:
    lstm = cell("lstm", [0.70, 0.75, 0.68], latency=0.01, macs=4000)
    gru = cell("gru", [0.72, 0.69, 0.71], latency=0.03, macs=3000)
    decision, sentence = said(lstm, gru, cost="macs")
    assert (decision.choice, decision.rule) == ("gru", "cost")
    assert "lower multiply-accumulates per sequence (LSTM/GRU 1.333" in sentence


def test_the_margin_needs_both_an_interval_clear_of_one_and_more_than_ten_percent() -> None:
    assert cheaper_by_margin(Median(1.5, 1.2, 1.8, 30))
    assert not cheaper_by_margin(Median(1.5, 0.9, 1.8, 30))  # the interval holds 1
    assert not cheaper_by_margin(Median(1.05, 1.02, 1.08, 30))  # clear of 1, but by 5%


def test_the_sentence_says_how_much_evidence_the_seeds_give() -> None:
    lstm = cell("lstm", [0.70, 0.75, 0.68, 0.72], latency=0.03)
    gru = cell("gru", [0.72, 0.69, 0.71, 0.70], latency=0.01)
    decision, sentence = said(lstm, gru, tolerance=0.03)
    compared = decision.comparisons[0]
    assert compared.detectable > abs(compared.paired.difference.mean) and compared.target == 0.03
    assert 4 < compared.seeds_needed < 100
    assert f"Evidence: 4 seeds detect (with 80% power) only differences larger than {compared.detectable:.3g} auprc" \
        in sentence
    assert f"{compared.seeds_needed} seeds would resolve 0.03." in sentence
    assert "can tell almost nothing" not in sentence
    two, two_sentence = said(cell("lstm", [0.70, 0.75], latency=0.03), cell("gru", [0.72, 0.69], latency=0.01))
    assert "With 2 seeds the test has 1 degree of freedom and can tell almost nothing" in two_sentence


def test_more_than_two_cells_are_compared_with_holms_correction() -> None:
    best = cell("lstm", [0.80, 0.82, 0.81, 0.83, 0.80], latency=0.03)
    close = cell("gru", [0.78, 0.81, 0.80, 0.83, 0.79], latency=0.01)  # p = 0.034 alone
    far = cell("rnn", [0.60, 0.62, 0.61, 0.63, 0.60], latency=0.01)
    twin = cell("mingru", [0.81, 0.80, 0.83, 0.81, 0.81], latency=0.03)  # p = 1.0
    decision, sentence = said(best, close, far, twin)
    by_cell = {comparison.cell: comparison for comparison in decision.comparisons}
    # Holm: the middle of three p-values is doubled
    assert by_cell["gru"].paired.p_value < 0.05 <= by_cell["gru"].p_adjusted == pytest.approx(
        2 * by_cell["gru"].paired.p_value)
    assert by_cell["gru"].tied and by_cell["mingru"].tied and not by_cell["rnn"].tied
    assert decision.choice == "gru" and "Holm-adjusted over 3 comparisons" in sentence


def test_bounded_metrics_are_named_by_their_kind() -> None:
    assert all(is_bounded(key) for key in ("test/auprc", "test/macro_f1", "test/se_N", "test/accuracy",
                                           "test/card_precision_at_10"))
    assert not any(is_bounded(key) for key in ("test/ppl", "test/loss", "test/bpc"))


def trial(state: TrialState, value: float | None = None, reported: dict[int, float] | None = None,
          diverged: bool = False) -> optuna.trial.FrozenTrial:
    return create_trial(state=state, value=value, params={"lr": 0.01}, distributions={"lr": FloatDistribution(0, 1)},
                        intermediate_values=reported or {}, user_attrs={"diverged": "nan loss"} if diverged else {})


def test_budget_curve_values_count_stopped_trials_at_their_best_reported_value() -> None:
    trials = [trial(TrialState.COMPLETE, 0.6), trial(TrialState.PRUNED, reported={0: 0.3, 1: 0.4, 2: 0.35}),
              trial(TrialState.FAIL, reported={0: 0.2, 1: float("nan")}, diverged=True),
              trial(TrialState.PRUNED),  # stopped before reporting anything
              trial(TrialState.FAIL, reported={0: 0.9})]  # crashed: retried, not in the budget
    assert search_values(trials, "maximize") == ([0.6, 0.4, 0.2], 2, 1)
    assert search_values(trials, "minimize") == ([0.6, 0.3, 0.2], 2, 1)


def with_curve(name: str, values: list[float], direction: str = "maximize") -> CellResult:
    result, _ = cell(name, [0.7, 0.7], latency=0.01)
    result.budget = budget_curve(values, direction == "maximize")
    return result


def budget_warning(cells: list[CellResult], objective: str, direction: str, tolerance: float) -> str:
    """The report's budget sentence for the rule's warnings on ``cells``."""
    return budget_sentence(budget_warnings(cells, direction, tolerance), objective)


def test_the_verdict_warns_when_a_curve_still_rose_by_more_than_the_tolerance() -> None:
    rising = with_curve("lstm", [0.40, 0.41, 0.42, 0.80])  # one good trial among four: still rising at the budget
    flat = with_curve("gru", [0.70, 0.70, 0.71, 0.70])
    half, total, gain = rising.budget.gain()
    assert gain > 0.01
    (data,) = budget_warnings([rising, flat], "maximize", 0.01)
    assert (data.code, data.cell, data.numbers) == (WarningCode.BUDGET_RISING, "lstm",
                                                    {"gain": gain, "half": 2, "total": 4, "tolerance": 0.01})
    warning = budget_warning([rising, flat], "val/auprc", "maximize", 0.01)
    assert warning == (f"Budget: the expected best val/auprc still rose over the last doubling of trials (LSTM by "
                       f"{gain:.3g} from 2 to 4 trials), more than the tie tolerance 0.01: more trials may change the "
                       "answer.")
    assert budget_warning([flat, flat], "val/auprc", "maximize", 0.01) == ""
    assert budget_warning([rising, flat], "val/auprc", "maximize", gain + 0.001) == ""
    # minimising: a curve falling by more than the tolerance is still improving
    falling = with_curve("lstm", [5.0, 4.9, 4.8, 3.0], "minimize")
    assert "LSTM by" in budget_warning([falling, flat], "val/ppl", "minimize", 0.01)
    assert budget_warning([with_curve("lstm", [0.4])], "val/auprc", "maximize", 0.0) == ""


def test_the_decision_holds_the_rule_the_tie_the_ratios_and_the_warnings_as_data() -> None:
    lstm = cell("lstm", [0.70, 0.75], latency=0.03, macs=4000)
    gru = cell("gru", [0.72, 0.69], latency=0.01, macs=3000)
    lstm[0].budget = budget_curve([0.40, 0.41, 0.42, 0.80])
    decision = run(lstm, gru, tolerance=0.01)
    assert (decision.rule, decision.tie, decision.best, decision.compared.cell) == (Rule.COST, Tie.NOISE, "lstm", "gru")
    assert decision.tie_break.cheapest == "gru" and [ratio.cell for ratio in decision.tie_break.versus] == ["lstm"]
    assert decision.tie_break.versus[0].ratio.median == pytest.approx(3.0)
    assert {(ratio.cost, ratio.cell, ratio.against) for ratio in decision.cost_ratios} == {
        (LATENCY, "lstm", "gru"), (LATENCY, "gru", "lstm"), ("macs", "lstm", "gru"), ("macs", "gru", "lstm")}
    assert [(warning.code, warning.cell) for warning in decision.warnings] == [
        (WarningCode.FEW_SEEDS, "gru"), (WarningCode.BUDGET_RISING, "lstm")]
    assert decision.warnings[0].numbers == {"seeds": 2}
