"""`make bench`'s runner at tiny sizes: it runs, prints its table, writes its JSON and prints that path last."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from gatelab.training.costs import interleaved

from benchmarks.common import Figure, ratio_figure
from benchmarks.run import main

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_runner_writes_figures_and_prints_the_path_last(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # The tasks whose default data is offline (physio's default reads the full MIT-BIH database).
    configs = tmp_path / "configs"
    configs.mkdir()
    for task in ("fraud", "lm"):
        shutil.copy(CONFIGS / f"{task}.yaml", configs)
    monkeypatch.setenv("GATELAB_CONFIGS", str(configs))
    out = tmp_path / "bench.json"
    main(["--quick", "--out", str(out), "--only", "tracking_overhead", "layer_overhead", "data_pipeline",
          "mingru_speed", "cost_ordering"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == str(out.resolve())
    assert any(line.startswith("| tracking.gatelab_vs_bare_throughput_ratio |") for line in lines)
    report = json.loads(out.read_text())
    figures = report["figures"]
    expected = {"tracking.gatelab_vs_bare_throughput_ratio", "layers.lstm_vs_torch_ratio",
                "layers.gru_vs_torch_ratio", "data.fraud.loader_vs_model_ratio", "data.lm.loader_vs_model_ratio",
                "mincells.mingru_vs_gru_T64_ratio", "costs.ordered_right_batch64", "costs.twins_tied_batch64"}
    assert expected <= set(figures)
    assert all(math.isfinite(value) and value > 0 for key, value in figures.items() if not key.startswith("costs."))
    assert all(0 <= figures[key] <= 2 for key in ("costs.ordered_right_batch64", "costs.twins_tied_batch64"))
    assert report["goals"]["costs.twins_tied_batch64"]["goal"] == ">= 2"
    assert report["goals"]["layers.gru_vs_torch_ratio"]["goal"] == ">= 0.98"
    assert len(report["spread"]["tracking.gatelab_vs_bare_throughput_ratio"]) == 2
    assert set(report["seconds"]) == {"tracking_overhead", "layer_overhead", "data_pipeline", "mingru_speed",
                                      "cost_ordering"}


def test_figures_state_their_goals() -> None:
    assert Figure("a_ratio", 0.99, at_least=0.97).met is True
    assert Figure("b_ratio", 0.9, at_least=0.97).goal == ">= 0.97"
    assert Figure("c", 1.5, below=1.0).met is False
    assert Figure("d", 3.0).met is None


def test_interleaved_rounds_alternate_order_and_ratios_pair_rounds() -> None:
    calls: list[str] = []
    results = interleaved({"a": lambda: calls.append("a") or 2.0, "b": lambda: calls.append("b") or 1.0}, 3)
    assert calls == ["a", "b", "b", "a", "a", "b"]
    figure = ratio_figure("a_vs_b_ratio", results["a"], [1.0, 4.0, 0.5], at_least=1.0)
    assert figure.value == 2.0 and figure.spread == (0.5, 4.0) and figure.met
