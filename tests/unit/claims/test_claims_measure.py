"""Training time to a target validation value, side by side: reached, or stopped at the cap."""

from __future__ import annotations

import torch
from gatelab.models import ModelConfig
from gatelab.settings import OptimConfig
from gatelab.training.module import SequenceClassifier, make_optimizer
from torch import nn
from torchmetrics import MetricCollection

from claims.measure import seconds_to_target


def test_each_model_trains_until_it_reaches_the_target_or_the_cap() -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(256, 4, 2, generator=generator)
    y = (x[:, -1, 0] > 0).long()  # the sign of the last step's first feature: learnt in a few dozen steps
    optim = OptimConfig(lr=0.05)
    torch.manual_seed(0)
    modules = {cell: SequenceClassifier(2, 2, ModelConfig(cell=cell, hidden_size=8), optim, nn.CrossEntropyLoss(),
                                        MetricCollection({})) for cell in ("lstm", "gru")}

    def accuracy(module: SequenceClassifier) -> float:
        with torch.inference_mode():
            return float((module(x).argmax(-1) == y).float().mean())

    def run(target: float, max_steps: int) -> dict:
        optimizers = {cell: make_optimizer(module.parameters(), optim) for cell, module in modules.items()}
        return seconds_to_target(modules, optimizers, x, y, accuracy, lambda found: found >= target, 32, 5,
                                 max_steps, 0)

    reached = run(0.9, 400)
    for found in reached.values():
        assert found.reached and 0 < found.steps < 400 and found.steps % 5 == 0 and found.seconds > 0
    capped = run(1.1, 12)  # an accuracy no model reaches: each stops at the cap, its last chunk cut short
    assert all(not found.reached and found.steps == 12 and found.seconds > 0 for found in capped.values())
