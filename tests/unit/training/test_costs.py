"""Measured costs on a real small model: latencies, throughput and peak memory on this machine's CPU."""

from __future__ import annotations

import math

import pytest
import torch

from gatelab.models import ModelConfig, SequenceModel
from gatelab.training.costs import inference_costs, peak_memory


class LastStep(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = SequenceModel(5, 1, ModelConfig(cell="gru", hidden_size=8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[0][:, -1, 0]


def test_inference_costs_are_measured_per_sequence_at_both_batches() -> None:
    costs = inference_costs(LastStep(), torch.randn(10, 6, 5), torch.device("cpu"), large_batch=64, repeats=5)
    assert set(costs) == {"latency_ms_batch1", "latency_ms_batch64", "throughput_per_s", "peak_inference_memory_mib"}
    assert all(math.isfinite(value) and value > 0 for value in costs.values())
    assert costs["throughput_per_s"] == pytest.approx(1e3 / costs["latency_ms_batch64"])


def test_peak_memory_on_cpu_sees_a_large_allocation() -> None:
    with peak_memory(torch.device("cpu")) as before:
        pass
    with peak_memory(torch.device("cpu")) as during:
        block = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched
        del block
    assert during.kind.startswith("process_resident")
    assert during.mib >= before.mib + 60
