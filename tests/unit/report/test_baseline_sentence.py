"""Baselines in the verdict: every cell paired with the best baseline (data), the sentence that says whether a cell
beats it, and the baseline rows in the Markdown and HTML report."""

from __future__ import annotations

import json

import pytest
from gatelab.report.html import report_html
from gatelab.report.sentences import baseline_sentence, decision_sentence
from gatelab.report.tables import Report
from gatelab.verdict import BaselineResult, CellResult, Decision, Verdict
from verdict_support import baseline, cell, run

LSTM, GRU = [0.80, 0.82, 0.81, 0.83], [0.80, 0.81, 0.82, 0.83]
FAR_BELOW, LEVEL, ABOVE = [0.70, 0.71, 0.69, 0.70], [0.81, 0.80, 0.82, 0.82], [0.86, 0.88, 0.87, 0.89]


def decided(baselines: list[BaselineResult], *values: list[float], **settings) -> tuple[Decision, list[CellResult]]:
    metric = settings.get("metric", "test/auprc")
    cells = [cell(name, list(numbers), 0.01, 3000, metric) for name, numbers in zip(("lstm", "gru", "rnn"), values)]
    return run(*cells, baselines=baselines, **settings), [result for result, _ in cells]


def test_every_cell_is_paired_with_the_best_baseline() -> None:
    decision, _ = decided([baseline("logistic regression", FAR_BELOW), baseline("gradient-boosted trees", LEVEL)],
                          LSTM, GRU)
    assert [(found.cell, found.baseline) for found in decision.baseline_comparisons] == [
        ("lstm", "gradient-boosted trees"), ("gru", "gradient-boosted trees")]  # the best mean, not the first
    lstm = decision.baseline_comparisons[0]
    assert lstm.paired.difference.mean == pytest.approx(sum(LSTM) / 4 - sum(LEVEL) / 4)
    assert not lstm.beaten and not lstm.above  # level: a small gain, within the seed noise
    assert decided([baseline("logistic regression", FAR_BELOW)], LSTM, GRU)[0].baseline_comparisons[0].beaten
    assert decided([baseline("logistic regression", ABOVE)], LSTM, GRU)[0].baseline_comparisons[0].above
    noisy = decided([baseline("logistic regression", [0.83, 0.80, 0.84, 0.81])], LSTM, GRU)[0].baseline_comparisons[0]
    assert noisy.paired.difference.mean < 0 and not noisy.above and not noisy.beaten  # a better mean, in the noise
    # a distinguishable gain below the tie tolerance does not beat it
    assert not decided([baseline("logistic regression", [value - 0.005 for value in LSTM])], LSTM, GRU,
                       tolerance=0.01)[0].baseline_comparisons[0].beaten
    assert decided([], LSTM, GRU)[0].baseline_comparisons == []


def test_minimize_beats_a_baseline_from_below() -> None:
    decision, _ = decided([baseline("5-gram", [130.0, 131.0, 129.0, 130.5], "test/ppl")], [100.0, 101.0, 99.0, 100.2],
                          [120.0, 121.0, 119.5, 120.5], metric="test/ppl", direction="minimize")
    assert [found.beaten for found in decision.baseline_comparisons] == [True, True]


def test_the_sentence_says_neither_cell_beats_a_level_baseline_with_the_paired_interval() -> None:
    level = baseline("logistic regression", LEVEL)
    decision, cells = decided([level], LSTM, GRU)
    chosen = next(found for found in decision.baseline_comparisons if found.cell == decision.choice)
    name = decision.choice.upper()
    result = next(found for found in cells if found.cell == decision.choice)
    assert baseline_sentence(decision, cells, [level]) == (
        f"Neither cell beats logistic regression on this data: the baseline is level with {name} (test/auprc {name} "
        f"{result.intervals['test/auprc']} vs logistic regression {level.intervals['test/auprc']} over 4 seeds; "
        f"difference {name} - logistic regression {chosen.paired.difference}, paired t-test "
        f"p={chosen.paired.p_value:.3g}).")
    plain, _ = decided([], LSTM, GRU)  # the decision's own words unchanged, the baseline's after them
    assert decision_sentence(decision, cells, [level]) == \
        f"{decision_sentence(plain, cells)} {baseline_sentence(decision, cells, [level])}"


def test_the_sentence_names_a_baseline_above_the_cells_and_one_they_beat() -> None:
    above = baseline("gradient-boosted trees", ABOVE)
    decision, cells = decided([above], LSTM, GRU, LEVEL)
    assert baseline_sentence(decision, cells, [above]).startswith(
        f"No cell beats gradient-boosted trees on this data: the baseline is above {decision.choice.upper()} (")
    below = baseline("logistic regression", FAR_BELOW)
    decision, cells = decided([below], LSTM, GRU)
    assert baseline_sentence(decision, cells, [below]).startswith(
        f"{decision.choice.upper()} beats the best baseline, logistic regression, beyond the seed noise (test/auprc ")


def test_the_sentence_says_when_only_another_cell_beats_the_baseline() -> None:
    middle = baseline("logistic regression", [0.76, 0.77, 0.78, 0.77])
    noisy, steady = [0.70, 0.85, 0.72, 0.86], [0.80, 0.81, 0.82, 0.83]  # tied within the noise
    cells = [cell("lstm", steady, 0.03, 4000), cell("gru", noisy, 0.01, 3000)]
    decision = run(*cells, baselines=[middle])
    assert (decision.choice, decision.rule) == ("gru", "cost")  # the cheaper of the tied cells
    assert [found.beaten for found in decision.baseline_comparisons] == [True, False]
    sentence = baseline_sentence(decision, [result for result, _ in cells], [middle])
    assert sentence.startswith("GRU does not beat logistic regression on this data: the baseline is level with GRU (")
    assert sentence.endswith("); LSTM does.")


def test_the_report_shows_the_baselines_in_the_quality_table_the_notes_and_the_json() -> None:
    pairs = cell("lstm", LSTM, 0.03, 4000), cell("gru", GRU, 0.01, 3000)
    (lstm, _), (gru, _) = pairs
    level = baseline("logistic regression", LEVEL)
    decision = run(*pairs, baselines=[level])
    report = Report(Verdict("fraud", "abc123", "maximize", [lstm, gru], decision, {"rounds": 8}, baselines=[level]),
                    12.0, 8, 6.0, {})
    title, header, rows = report.tables()[0]
    assert rows[-1] == ["logistic regression (baseline)", "-", "-", str(level.intervals["test/auprc"])]
    markdown, page = report.to_markdown(), report_html(report)
    assert f"| logistic regression (baseline) | - | - | {level.intervals['test/auprc']} |" in markdown
    assert "<td>logistic regression (baseline)</td>" in page
    assert "Neither cell beats logistic regression on this data" in markdown and "Neither cell beats" in page
    assert "Baselines (logistic regression): reference models the task declares" in markdown
    data = json.loads(report.to_json())["verdict"]
    assert data["baselines"][0]["name"] == "logistic regression" and data["baselines"][0]["test"]["test/auprc"] == LEVEL
    assert [found["cell"] for found in data["baseline_comparisons"]] == ["lstm", "gru"]
    assert data["sentence"].endswith(baseline_sentence(decision, [lstm, gru], [level]))
