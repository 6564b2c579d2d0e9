"""The verdict's cost comparison on a busy machine: does timing side by side order models right, and call twins a tie?

Two pairs of models are timed with ``gatelab.training.costs.side_by_side`` while a background process
keeps a CPU core busy: a model that runs its GRU three times against the same GRU run once (a 3x cost
by construction), and two identical models. Each comparison is judged by the verdict's own rule
(``gatelab.verdict.cheaper_by_margin``: the per-round ratio's interval excludes 1 and the ratio
exceeds 1.1), once per timed cost, and repeated; the figures count how often the 3x pair was ordered
right and how often the twins were called a tie.
"""

from __future__ import annotations

import subprocess
import sys

import torch
from gatelab.stats import ratio_interval
from gatelab.training.costs import side_by_side
from gatelab.verdict import cheaper_by_margin
from torch import Tensor, nn

from benchmarks.common import Figure

__all__ = ["cost_ordering"]


class Repeated(nn.Module):
    """A GRU applied ``times`` times to the same input, then a linear head on the last step: ``times`` x the cost."""

    def __init__(self, features: int, hidden: int, times: int) -> None:
        super().__init__()
        self.times = times
        self.rnn = nn.GRU(features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: Tensor) -> Tensor:
        outputs = x.new_zeros(())
        for _ in range(self.times):
            outputs = outputs + self.rnn(x)[0][:, -1]
        return self.head(outputs)[:, 0]


def _judge(rounds: dict[str, dict[str, list[float]]], dearer: str, cheaper: str, key: str) -> tuple[bool, bool]:
    """Whether ``dearer`` is distinguishably dearer than ``cheaper``, and the other way round."""
    return (cheaper_by_margin(ratio_interval(rounds[dearer][key], rounds[cheaper][key])),
            cheaper_by_margin(ratio_interval(rounds[cheaper][key], rounds[dearer][key])))


def cost_ordering(quick: bool = False) -> list[Figure]:
    """Ten side-by-side comparisons (two with ``quick``) of a 3x pair and of identical twins, under CPU load."""
    repeats, rounds, large_batch = (2, 6, 64) if quick else (10, 30, 1024)
    torch.manual_seed(0)
    features, hidden, length = 16, 32, 16
    single, triple = Repeated(features, hidden, 1), Repeated(features, hidden, 3)
    twin = Repeated(features, hidden, 1)
    twin.load_state_dict(single.state_dict())
    sequences = torch.randn(64, length, features)
    keys = ("latency_ms_batch1", f"latency_ms_batch{large_batch}")
    ordered = dict.fromkeys(keys, 0)
    tied = dict.fromkeys(keys, 0)
    load = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # one core kept busy throughout
    try:
        for _ in range(repeats):
            pair = side_by_side({"x3": triple, "x1": single}, sequences, torch.device("cpu"), large_batch, rounds)
            twins = side_by_side({"a": single, "b": twin}, sequences, torch.device("cpu"), large_batch, rounds)
            for key in keys:
                right, wrong = _judge(pair.rounds, "x3", "x1", key)
                ordered[key] += right and not wrong
                tied[key] += not any(_judge(twins.rounds, "a", "b", key))
    finally:
        load.kill()
        load.wait()
    figures = []
    for key in keys:
        batch = key.removeprefix("latency_ms_batch")
        figures.append(Figure(f"costs.ordered_right_batch{batch}", ordered[key], f"of {repeats}", at_least=repeats,
                              note=f"3x-cost pair ordered by a distinguishable margin at batch {batch}, CPU loaded"))
        figures.append(Figure(f"costs.twins_tied_batch{batch}", tied[key], f"of {repeats}", at_least=repeats,
                              note=f"identical models called a tie at batch {batch}, CPU loaded"))
    return figures
