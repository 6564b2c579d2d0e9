"""``make bench``: run every benchmark, print a table, write the figures to JSON and print its path last.

Each benchmark is a function ``(quick: bool) -> list[Figure]``; ratios are measured side by side in
this one process, repeated, and reported as medians. ``--quick`` runs each at a tiny size (a smoke
test: its figures mean nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from benchmarks.common import Figure
from benchmarks.cost_ordering import cost_ordering
from benchmarks.data_pipeline import data_pipeline
from benchmarks.gates import gate_telemetry_cost
from benchmarks.layers import layer_overhead, mingru_speed
from benchmarks.lm_throughput import lm_throughput
from benchmarks.streaming import streaming_scoring
from benchmarks.sweep_costs import sweep_costs
from benchmarks.tracking_overhead import tracking_overhead

__all__ = ["BENCHMARKS", "main", "table"]

#: The benchmarks, in the issue's order.
BENCHMARKS: list[Callable[[bool], list[Figure]]] = [
    tracking_overhead,
    layer_overhead,
    data_pipeline,
    sweep_costs,
    lm_throughput,
    mingru_speed,
    streaming_scoring,
    gate_telemetry_cost,
    cost_ordering,
]


def table(figures: list[Figure]) -> str:
    """The figures as a Markdown table: value, spread over rounds, goal and whether it is met."""
    lines = ["| figure | value | rounds (min-max) | goal | met | what |", "|---|---|---|---|---|---|"]
    for figure in figures:
        met = {True: "yes", False: "**no**", None: ""}[figure.met]
        spread = f"{figure.spread[0]:.3g}-{figure.spread[1]:.3g}" if figure.spread else ""
        lines.append(f"| {figure.key} | {figure.value:.4g} {figure.unit} | {spread} | {figure.goal} | {met} "
                     f"| {figure.note} |")
    return "\n".join(lines)


def _machine() -> dict[str, object]:
    return {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "cuda": torch.cuda.is_available(), "python": platform.python_version(),
            "load_average": list(os.getloadavg())}


def main(argv: list[str] | None = None) -> Path:
    """Run the benchmarks; returns the JSON file's path (also printed as the last line)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="JSON file (default: mlruns/bench/bench-<time>.json)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check that every benchmark runs")
    parser.add_argument("--only", nargs="*", default=None, help="names of the benchmark functions to run")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch's CPU threads (default: torch's choice, one per core)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    # The bench measures the local store, whatever tracking server the shell points at.
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    warnings.filterwarnings("ignore", message=r".*(srun|LeafSpec|treespec).*")
    out = args.out or Path("mlruns") / "bench" / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    machine_before = _machine()
    figures: list[Figure] = []
    seconds: dict[str, float] = {}
    for bench in BENCHMARKS:
        if args.only is not None and bench.__name__ not in args.only:
            continue
        start = time.perf_counter()
        print(f"bench: {bench.__name__} ...", file=sys.stderr, flush=True)
        figures += bench(args.quick)
        seconds[bench.__name__] = time.perf_counter() - start
    print(table(figures), flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "figures": {figure.key: figure.value for figure in figures},
        "goals": {figure.key: {"goal": figure.goal, "met": figure.met} for figure in figures if figure.goal},
        "notes": {figure.key: figure.note for figure in figures if figure.note},
        "spread": {figure.key: list(figure.spread) for figure in figures if figure.spread},
        "seconds": seconds,
        "quick": args.quick,
        "machine": {"before": machine_before, "after": _machine()},
    }, indent=2))
    print(out.resolve(), flush=True)
    return out


if __name__ == "__main__":
    main()
