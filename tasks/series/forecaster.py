"""The forecasting module: the engine's sequence model read at the context's last step as a multi-step forecast."""

from __future__ import annotations

from gatelab.models import ModelConfig
from gatelab.settings import OptimConfig
from gatelab.training.module import SequenceClassifier
from torch import Tensor, nn
from torchmetrics import MetricCollection

__all__ = ["SequenceForecaster"]


class SequenceForecaster(SequenceClassifier):
    """Forecasts ``horizon`` steps of ``targets`` columns at once from the last step's output (direct
    multi-output strategy), trained by mean squared error on normalised values.

    Args:
        input_size: features per context step.
        horizon: steps forecast.
        targets: columns forecast.
        model: the backbone's shape.
        optim: the optimiser.
        metrics: forecast errors, fed ``(forecast, target, scale=...)``.
    """

    def __init__(self, input_size: int, horizon: int, targets: int, model: ModelConfig, optim: OptimConfig,
                 metrics: MetricCollection) -> None:
        super().__init__(input_size, horizon * targets, model, optim, nn.MSELoss(), metrics)
        self.horizon, self.targets = horizon, targets

    def forward(self, x: Tensor) -> Tensor:
        """Forecasts (batch, horizon, targets) for each context window of ``x`` (batch, time, features)."""
        output, _ = self.net(x)
        return output[:, -1].unflatten(-1, (self.horizon, self.targets))

    def probabilities(self, logits: Tensor) -> Tensor:
        """A forecast is served as it is (normalised units)."""
        return logits
