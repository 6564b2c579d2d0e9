"""Item 2 and the min-cells' benchmark: recurrent layers' forward + backward, measured side by side."""

from __future__ import annotations

import statistics
from collections.abc import Callable

import torch
from gatelab.models import ModelConfig, SequenceModel
from gatelab.training.costs import interleaved
from torch import nn

from benchmarks.common import Figure, ratio_figure, time_steps

__all__ = ["layer_overhead", "mingru_speed"]


def _fwd_bwd(layer: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    """One forward and backward pass of ``layer`` over ``x``."""

    def step() -> None:
        outputs, _ = layer(x)
        outputs.sum().backward()

    return step


def layer_overhead(quick: bool = False) -> list[Figure]:
    """gatelab's LSTM and GRU layers (as ``SequenceModel`` builds them) against raw ``nn.LSTM``/``nn.GRU``."""
    batch, length, hidden, steps, repeats = (8, 16, 16, 2, 1) if quick else (64, 64, 64, 4, 16)
    figures = []
    for cell, raw_class in (("lstm", nn.LSTM), ("gru", nn.GRU)):
        torch.manual_seed(0)
        ours = SequenceModel(hidden, 1, ModelConfig(cell=cell, hidden_size=hidden)).rnn
        raw = raw_class(hidden, hidden, batch_first=True)
        x = torch.randn(batch, length, hidden)
        seconds = interleaved({"ours": lambda ours=ours, x=x: time_steps(_fwd_bwd(ours, x), steps),
                               "raw": lambda raw=raw, x=x: time_steps(_fwd_bwd(raw, x), steps)}, repeats)
        figures.append(ratio_figure(f"layers.{cell}_vs_torch_ratio", seconds["raw"], seconds["ours"], at_least=0.98,
                                    note=f"fwd+bwd throughput, batch {batch} x {length} steps x {hidden}"))
    return figures


def _train_step(model: SequenceModel, optimizer: torch.optim.Optimizer, x: torch.Tensor) -> Callable[[], None]:
    """One training step of ``model`` on ``x`` (forward, backward, Adam)."""

    def step() -> None:
        outputs, _ = model(x)
        optimizer.zero_grad()
        outputs[:, -1].square().mean().backward()
        optimizer.step()

    return step


def mingru_speed(quick: bool = False) -> list[Figure]:
    """Training steps of minGRU (parallel scan) and GRU (fused library layer) at growing sequence lengths."""
    lengths, batch, hidden, repeats = ((16, 64), 4, 16, 1) if quick else ((64, 256, 1024), 32, 64, 3)
    figures = []
    for length in lengths:
        x = torch.randn(batch, length, 8)
        candidates = {}
        for cell in ("gru", "mingru"):
            torch.manual_seed(0)
            model = SequenceModel(8, 1, ModelConfig(cell=cell, hidden_size=hidden))
            optimizer = torch.optim.Adam(model.parameters())
            step, steps = _train_step(model, optimizer, x), 2 if quick else max(2, 2048 // length)
            candidates[cell] = lambda step=step, steps=steps: time_steps(step, steps)
        seconds = interleaved(candidates, repeats)
        for cell in ("gru", "mingru"):
            rate = batch * length / statistics.median(seconds[cell])
            figures.append(Figure(f"mincells.{cell}_T{length}_tokens_per_s", rate, "tokens/s",
                                  note=f"training, batch {batch}, hidden {hidden}"))
        figures.append(ratio_figure(f"mincells.mingru_vs_gru_T{length}_ratio", seconds["gru"], seconds["mingru"],
                                    note="minGRU training throughput / GRU's"))
    return figures
