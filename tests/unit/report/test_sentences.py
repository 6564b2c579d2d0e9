"""The report's words for a decision are the words the verdict printed before the decision became data: each
scenario's sentence, markdown and HTML equal the text saved from the earlier code (tests/fixtures/verdict_text.json,
made by the verdict of commit a42e9e9 on the same inputs)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from gatelab.report.html import report_html
from gatelab.report.sentences import budget_sentence, decision_sentence
from gatelab.report.tables import Report
from gatelab.stats import budget_curve, median_interval
from gatelab.verdict import CellResult, Decision, Verdict, budget_warnings, cost_ratios, decide
from verdict_support import LATENCY, cell, run

SAVED = json.loads((Path(__file__).parents[2] / "fixtures" / "verdict_text.json").read_text())
Cells = list[tuple[CellResult, list[float]]]
NOISY = ([1, 2, 0.5, 1.5, 0.7, 1.1, 0.6, 1.9], [0.5, 1, 2, 0.6, 1.8, 1, 1.4, 0.7])
WIDE, NARROW = [0.70, 0.75, 0.68], [0.72, 0.69, 0.71]
GAP = ([0.712, 0.698, 0.731, 0.705, 0.720], [0.701, 0.690, 0.715, 0.699, 0.708])
FOUR = ([0.80, 0.82, 0.81, 0.83, 0.80], [0.78, 0.81, 0.80, 0.83, 0.79], [0.60, 0.62, 0.61, 0.63, 0.60],
        [0.81, 0.80, 0.83, 0.81, 0.81])
SCENARIOS: dict[str, tuple[Callable[[], Cells], dict]] = {
    "cost": (lambda: [cell("lstm", WIDE, 0.03, 4000), cell("gru", NARROW, 0.01, 3000)], {}),
    "macs_margin": (lambda: [cell("lstm", WIDE, 0.0100, 3000), cell("gru", NARROW, 0.0105, 4000)], {}),
    "macs_noisy": (lambda: [cell("lstm", WIDE, 0.010, 3000, wobble=NOISY[0]),
                            cell("gru", NARROW, 0.013, 4000, wobble=NOISY[1])], {}),
    "equal": (lambda: [cell("lstm", WIDE, 0.01, 3000), cell("gru", NARROW, 0.01, 3000)], {}),
    "quality": (lambda: [cell("gru", GAP[1], 0.01, 3000), cell("lstm", GAP[0], 0.02, 4000)], {}),
    "tolerance": (lambda: [cell("lstm", GAP[0], 0.02), cell("gru", GAP[1], 0.01)], {"tolerance": 0.02}),
    "minimize": (lambda: [cell("lstm", [120.0, 121.0, 119.5, 120.5], 0.01, metric="test/ppl"),
                          cell("gru", [100.0, 101.0, 99.0, 100.2], 0.02, metric="test/ppl")],
                 {"metric": "test/ppl", "direction": "minimize"}),
    "macs_cost": (lambda: [cell("lstm", WIDE, 0.01, 4000), cell("gru", NARROW, 0.03, 3000)], {"cost": "macs"}),
    "evidence": (lambda: [cell("lstm", [0.70, 0.75, 0.68, 0.72], 0.03), cell("gru", [0.72, 0.69, 0.71, 0.70], 0.01)],
                 {"tolerance": 0.03}),
    "two_seeds": (lambda: [cell("lstm", [0.70, 0.75], 0.03), cell("gru", [0.72, 0.69], 0.01)], {}),
    "holm": (lambda: [cell(name, values, latency) for name, values, latency
                      in zip(("lstm", "gru", "rnn", "mingru"), FOUR, (0.03, 0.01, 0.01, 0.03))], {}),
    "three_macs": (lambda: [cell("lstm", FOUR[0], 0.0100, 5000),
                            cell("gru", [0.80, 0.81, 0.82, 0.83, 0.80], 0.0104, 3000),
                            cell("rnn", [0.81, 0.82, 0.80, 0.82, 0.81], 0.0102, 2000)], {}),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_each_decision_reads_as_before(name: str) -> None:
    make, settings = SCENARIOS[name]
    cells = make()
    assert decision_sentence(run(*cells, **settings), [result for result, _ in cells]) == SAVED["sentences"][name]


def curved(name: str, values: list[float], direction: str = "maximize") -> CellResult:
    result, _ = cell(name, [0.7, 0.7], 0.01)
    result.budget = budget_curve(values, direction == "maximize")
    return result


def test_budget_warnings_read_as_before() -> None:
    rising, flat = curved("lstm", [0.40, 0.41, 0.42, 0.80]), curved("gru", [0.70, 0.70, 0.71, 0.70])
    falling, both = curved("lstm", [5.0, 4.9, 4.8, 3.0], "minimize"), curved("gru", [0.1, 0.2, 0.3, 0.9])
    for key, cells, objective, direction in (("budget_rising", [rising, flat], "val/auprc", "maximize"),
                                             ("budget_falling", [falling, flat], "val/ppl", "minimize"),
                                             ("budget_two", [rising, both], "val/auprc", "maximize")):
        assert budget_sentence(budget_warnings(cells, direction, 0.01), objective) == SAVED["sentences"][key]


def verdict(rising: bool) -> Verdict:
    """A fraud verdict of two cells tied on quality, LSTM's budget curve still rising or flat."""
    (lstm, lstm_rounds), (gru, gru_rounds) = cell("lstm", WIDE, 0.03, 4000), cell("gru", NARROW, 0.01, 3000)
    curves = [0.40, 0.41, 0.42, 0.80] if rising else [0.7, 0.7, 0.71, 0.7], [0.70, 0.70, 0.71, 0.70]
    for result, rounds, curve in ((lstm, lstm_rounds, curves[0]), (gru, gru_rounds, curves[1])):
        result.budget, result.device = budget_curve(curve, True), "cpu"
        result.cost_intervals = {LATENCY: median_interval(rounds)}
    ratios = cost_ratios({"lstm": {LATENCY: lstm_rounds}, "gru": {LATENCY: gru_rounds}}, {"lstm": 4000, "gru": 3000})
    decision: Decision = decide([lstm, gru], "test/auprc", "maximize", LATENCY, 0.01, ratios)
    return Verdict("fraud", "abc123", "maximize", [lstm, gru], decision, {"device": "cpu", "rounds": 8},
                   "3 seeds, as given")


@pytest.mark.parametrize("rising", [False, True])
def test_the_markdown_and_the_html_read_as_before(rising: bool) -> None:
    report = Report(verdict(rising), 12.0, 8, 6.0, {"champion": "1", "runner-up": "2"})
    assert report.to_markdown() == SAVED["reports"][f"markdown_rising_{rising}"]
    assert report_html(report) == SAVED["reports"][f"html_rising_{rising}"]


def test_verdict_json_holds_the_decision_as_data_beside_the_sentence() -> None:
    report = Report(verdict(True), 12.0, 8, 6.0, {})
    data = json.loads(report.to_json())["verdict"]
    assert (data["choice"], data["runner_up"], data["rule"], data["tie"], data["best"]) == (
        "gru", "lstm", "cost", "noise", "lstm")
    assert data["tie_break"]["versus"][0]["ratio"]["median"] == pytest.approx(3.0)
    assert [(warning["code"], warning["cell"]) for warning in data["warnings"]] == [("budget_rising", "lstm")]
    assert data["sentence"] in report.to_markdown() and data["metric"] == "test/auprc"
    assert {"cells", "comparisons", "cost_ratios", "timing", "seeding", "task", "sweep"} <= set(data)
