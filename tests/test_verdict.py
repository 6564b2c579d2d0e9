"""The verdict rule: a clear winner is picked; a tie goes to the cheaper cell; gaps are explained."""

from __future__ import annotations

import json

from gatelab.verdict import CellResult, Verdict, decide


def cell(name: str, val: float | None, seconds: float = 1.0, params: int = 1000) -> CellResult:
    return CellResult(cell=name, finished=4, pruned=1, failed=0, best_trial=0 if val is not None else None,
                      best_val=val, test={"test/auprc": 0.5} if val is not None else {}, params=params,
                      seconds_per_epoch=seconds)


def test_clear_winner_is_picked_and_its_cost_stated() -> None:
    choice, sentence = decide([cell("lstm", 0.80, 2.0, 4000), cell("gru", 0.70, 1.0, 3000)], "val/auprc", "maximize", 0.01)
    assert choice == "lstm"
    assert "beats GRU's 0.7000 by 0.1000" in sentence and "LSTM 2.00 s/epoch with 4,000 parameters" in sentence


def test_tie_goes_to_the_cheaper_cell() -> None:
    choice, sentence = decide([cell("lstm", 0.805, 2.0), cell("gru", 0.800, 1.0)], "val/auprc", "maximize", 0.01)
    assert choice == "gru"
    assert "cheaper cell wins" in sentence


def test_tie_where_the_best_is_also_cheapest() -> None:
    choice, sentence = decide([cell("lstm", 0.805, 1.0), cell("gru", 0.800, 2.0)], "val/auprc", "maximize", 0.01)
    assert choice == "lstm" and "no more expensive" in sentence


def test_minimize_direction() -> None:
    choice, _ = decide([cell("lstm", 120.0), cell("gru", 100.0)], "val/ppl", "minimize", 0.5)
    assert choice == "gru"


def test_missing_cells_are_named_and_nothing_is_invented() -> None:
    choice, sentence = decide([cell("lstm", None), cell("gru", None)], "val/auprc", "maximize", 0.01)
    assert choice is None and "No cell has a completed trial" in sentence
    choice, sentence = decide([cell("lstm", 0.6), cell("gru", None)], "val/auprc", "maximize", 0.01)
    assert choice == "lstm" and "GRU had no completed trial" in sentence


def test_markdown_and_json_agree() -> None:
    cells = [cell("lstm", 0.8), cell("gru", 0.7)]
    choice, sentence = decide(cells, "val/auprc", "maximize", 0.01)
    verdict = Verdict("fraud", "abc", "val/auprc", "maximize", cells, choice, sentence)
    table = verdict.to_markdown()
    assert "| LSTM | 0.8000 | 0.5000 | 1,000 | 1.00 | 4 (1, 0) |" in table and sentence in table
    assert json.loads(verdict.to_json())["choice"] == "lstm"
