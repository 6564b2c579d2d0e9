"""Costs of real small models: multiply-accumulates counted from shapes, timings side by side, peak memory."""

from __future__ import annotations

import math

import pytest
import torch
from gatelab.models import ModelConfig, SequenceModel
from gatelab.training.costs import interleaved, macs_per_sequence, peak_memory, side_by_side
from torch.utils.flop_counter import FlopCounterMode


class LastStep(torch.nn.Module):
    def __init__(self, cell: str = "gru", hidden: int = 8) -> None:
        super().__init__()
        self.net = SequenceModel(5, 1, ModelConfig(cell=cell, hidden_size=hidden))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[0][:, -1, 0]


class Recorder(torch.nn.Module):
    """Notes its name in a shared list at every call."""

    def __init__(self, name: str, calls: list[str]) -> None:
        super().__init__()
        self.name, self.calls = name, calls

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(self.name)
        return x.sum(dim=-1)


@pytest.mark.parametrize(("layer", "expected"), [
    (torch.nn.LSTM(8, 16, batch_first=True), 4 * 16 * (8 + 16) * 10),
    (torch.nn.GRU(8, 16, batch_first=True), 3 * 16 * (8 + 16) * 10),
    (torch.nn.RNN(8, 16, batch_first=True), 16 * (8 + 16) * 10),
    # two layers both ways: the second layer reads both directions' outputs (32 features)
    (torch.nn.LSTM(8, 16, num_layers=2, bidirectional=True, batch_first=True),
     4 * 16 * ((8 + 16) + (32 + 16)) * 2 * 10),
])
def test_recurrent_layers_count_their_gate_blocks(layer: torch.nn.Module, expected: int) -> None:
    assert macs_per_sequence(layer, torch.randn(3, 10, 8)) == expected


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_the_count_agrees_with_torchs_flop_counter_where_it_sees_the_layer(cell: str) -> None:
    model, sequence = LastStep(cell, hidden=16).eval(), torch.randn(1, 7, 5)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(sequence)
    assert macs_per_sequence(model, sequence) == counter.get_total_flops() // 2


def test_lstm_is_counted_where_the_flop_counter_sees_nothing() -> None:
    model, sequence = LastStep("lstm", hidden=16), torch.randn(1, 7, 5)
    encoder, recurrent, head = 5 * 16 * 7, 4 * 16 * 32 * 7, 16 * 1 * 7
    assert macs_per_sequence(model, sequence) == encoder + recurrent + head


@pytest.mark.parametrize(("cell", "blocks"), [("mingru", 2), ("minlstm", 3)])
def test_min_cells_count_their_input_only_gates(cell: str, blocks: int) -> None:
    model, sequence = LastStep(cell, hidden=16), torch.randn(1, 7, 5)
    assert macs_per_sequence(model, sequence) == 5 * 16 * 7 + blocks * 16 * 16 * 7 + 16 * 7


def test_interleaved_alternates_the_order_and_drops_the_warm_up_rounds() -> None:
    order: list[str] = []

    def call(name: str, value: int):
        return lambda: order.append(name) or value + len(order)

    values = interleaved({"a": call("a", 0), "b": call("b", 100)}, rounds=2, warmup=1)
    assert order == ["a", "b", "b", "a", "a", "b"]
    assert values == {"a": [4, 5], "b": [103, 106]}  # what each call returned, warm-up round left out
    assert interleaved({"a": call("a", 0)}, rounds=0) == {"a": []}


def test_side_by_side_interleaves_the_models_round_by_round() -> None:
    calls: list[str] = []
    models = {"a": Recorder("a", calls), "b": Recorder("b", calls)}
    measured = side_by_side(models, torch.randn(4, 3, 5), torch.device("cpu"), large_batch=8, rounds=6, warmup=1,
                            min_seconds=0.0)
    # per round: batch 1 then the large batch, each model in turn, every other round in reverse order
    assert calls[:8] == ["a", "b", "a", "b", "b", "a", "b", "a"]
    for name in models:
        assert set(measured.rounds[name]) == {"latency_ms_batch1", "latency_ms_batch8"}
        assert all(len(values) == 6 and all(value > 0 for value in values)
                   for values in measured.rounds[name].values())
        assert math.isfinite(measured.memory_mib[name])
    assert measured.large_batch == 8 and measured.device.startswith("cpu: ")


def test_side_by_side_times_real_models_per_sequence() -> None:
    small, large = LastStep("gru", hidden=4), LastStep("lstm", hidden=64)
    measured = side_by_side({"small": small, "large": large}, torch.randn(10, 6, 5), torch.device("cpu"),
                            large_batch=64, rounds=6, warmup=1)
    assert measured.calls > 1  # a batch-1 call is far shorter than 2 ms: timed in groups
    assert not small.training and not large.training
    for values in measured.rounds["small"].values():
        assert all(0 < value < 100 for value in values)


def test_peak_memory_on_cpu_sees_a_large_allocation() -> None:
    with peak_memory(torch.device("cpu")) as before:
        pass
    with peak_memory(torch.device("cpu")) as during:
        block = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched
        del block
    assert during.kind.startswith("process_resident")
    assert during.mib >= before.mib + 60
