"""Verdict inputs for the tests: cells with per-seed test values and per-round latencies, and the rule run on them."""

from __future__ import annotations

from collections.abc import Sequence

from gatelab.stats import mean_interval
from gatelab.verdict import COSTS, BaselineResult, CellResult, Decision, cost_ratios, decide

LATENCY = COSTS["latency"]
NOISE = [1.00, 1.03, 0.97, 1.01, 0.99, 1.02, 0.98, 1.00]  # a loaded machine's round-to-round wobble


def cell(name: str, values: list[float], latency: float, macs: int = 1000, metric: str = "test/auprc",
         wobble: list[float] = NOISE) -> tuple[CellResult, list[float]]:
    """A cell with per-seed test values, and its per-round latencies around ``latency``."""
    rounds = [latency * factor for factor in wobble]
    result = CellResult(cell=name, finished=4, pruned=1, failed=0, best_trial=0, best_val=0.5, run_id="run",
                        seeds=list(range(len(values))), test={metric: values},
                        costs={LATENCY: latency, "macs": macs, "params": macs // 10, "seconds_per_epoch": 2.0})
    result.intervals = {metric: mean_interval(values)}
    return result, rounds


def run(*cells: tuple[CellResult, list[float]], metric: str = "test/auprc", direction: str = "maximize",
        tolerance: float = 0.0, cost: str = LATENCY, baselines: Sequence[BaselineResult] = ()) -> Decision:
    ratios = cost_ratios({result.cell: {LATENCY: rounds} for result, rounds in cells},
                         {result.cell: result.costs["macs"] for result, _ in cells})
    return decide([result for result, _ in cells], metric, direction, cost, tolerance, ratios, baselines=baselines)


def baseline(name: str, values: list[float], metric: str = "test/auprc") -> BaselineResult:
    """A baseline with per-seed test values on the cells' seeds."""
    return BaselineResult(name=name, seeds=list(range(len(values))), seed_runs=[f"run-{name}"] * len(values),
                          test={metric: values}, intervals={metric: mean_interval(values)})
