"""Scores of the series task: classification as the UEA/UCR archive reports it, forecasts by MAE, RMSE, MASE."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassAUROC, MulticlassF1Score

__all__ = ["ForecastError", "classification_metrics", "forecasting_metrics"]


def classification_metrics(classes: int) -> MetricCollection:
    """Accuracy, macro-F1 and, for two classes, AUROC (one-vs-rest AUROC of either class is the binary AUROC)."""
    metrics: dict[str, Metric] = {"accuracy": MulticlassAccuracy(classes, average="micro"),
                                  "macro_f1": MulticlassF1Score(classes, average="macro")}
    if classes == 2:
        metrics["auroc"] = MulticlassAUROC(2, average="macro")
    return MetricCollection(metrics)


class ForecastError(Metric):
    """One error of forecasts against targets, both (windows, horizon, targets) in normalised units.

    ``update`` takes each window's ``unit`` (windows, targets: normalised to the data's units) and ``scale``
    (windows, targets: its series' in-sample seasonal-naive MAE, in the data's units). ``mae`` and ``rmse``
    are in the data's units; ``mase`` divides each absolute error by ``scale``, so 1.0 is as good as the
    seasonal-naive forecast on the training steps (Hyndman & Koehler 2006).
    """

    full_state_update = False

    def __init__(self, kind: Literal["mae", "rmse", "mase"]) -> None:
        super().__init__()
        self.kind = kind
        self.add_state("total", default=torch.zeros(()), dist_reduce_fx="sum")
        self.add_state("count", default=torch.zeros(()), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor, unit: Tensor, scale: Tensor) -> None:
        error = (preds - target).abs() * unit[:, None, :]
        if self.kind == "mase":
            error = error / scale[:, None, :]
        elif self.kind == "rmse":
            error = error.square()
        self.total += error.sum()
        self.count += error.numel()

    def compute(self) -> Tensor:
        mean = self.total / self.count
        return mean.sqrt() if self.kind == "rmse" else mean


def forecasting_metrics() -> MetricCollection:
    """MAE and RMSE in the data's units, and MASE."""
    return MetricCollection({kind: ForecastError(kind) for kind in ("mae", "rmse", "mase")})
