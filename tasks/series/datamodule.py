"""The series task: anyone's sequences, classified (one label per series) or forecast (``horizon`` steps ahead)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import torch
from gatelab.models import ModelConfig
from gatelab.settings import OptimConfig
from gatelab.training.baselines import Baseline, EstimatorBaseline, SplitFeatures
from gatelab.training.loaders import TensorBatches, batch_loader
from gatelab.training.module import TaskModule
from gatelab.training.task import ClassificationDataModule
from torch import nn
from torch.utils.data import DataLoader
from torchmetrics import MetricCollection

from tasks.series.anchors import (
    FORECASTERS,
    NEAREST_NEIGHBOUR_DTW,
    ForecastBaseline,
    nearest_neighbour_dtw,
    series_panel,
)
from tasks.series.forecaster import SequenceForecaster
from tasks.series.metrics import classification_metrics, forecasting_metrics
from tasks.series.options import SeriesOptions
from tasks.series.prepare import SPLITS, SeriesData, classification_splits, forecasting_splits

__all__ = ["SeriesDataModule"]


class SeriesDataModule(SeriesOptions, ClassificationDataModule[SeriesData]):
    """Series from a ``.ts`` archive pair or a long table, for classification or forecasting.

    Classification: one label per series; inputs are the standardised channels plus a presence flag, left-padded
    to the longest series; objective validation accuracy. Forecasting: windows of ``context`` steps predict the
    next ``horizon`` steps of ``targets``; objective validation MASE (lower is better).
    """

    def load(self) -> SeriesData:
        panel = self.source.read()
        if self.problem == "classification":
            return classification_splits(panel, self.val_share, self.test_share, self.seed, self.train_fraction)
        return forecasting_splits(panel, self.targets or panel.channels, self.context, self.horizon, self.season,
                                  self.scaling, self.train_fraction)

    @property
    def input_size(self) -> int:
        return int(self.prepared.x["train"].shape[-1])

    @property
    def output_size(self) -> int:
        data = self.prepared
        return len(data.classes) if self.problem == "classification" else int(data.y["train"][0].numel())

    def fingerprint(self) -> str:
        """The sha256 (16 hex digits) of every split's inputs and targets."""
        digest = hashlib.sha256(self.problem.encode())
        for name in SPLITS:
            digest.update(self.prepared.x[name].numpy().tobytes())
            digest.update(self.prepared.y[name].numpy().tobytes())
        return digest.hexdigest()[:16]

    def data_report(self) -> dict[str, Any]:
        """Each split's size (``data.<split>_series`` or ``data.<split>_windows``) and what reading did."""
        data = self.prepared
        unit = "series" if self.problem == "classification" else "windows"
        report: dict[str, Any] = {f"data.{name}_{unit}": data.counts[name] for name in SPLITS}
        if data.panel.notes:
            report["data.read"] = "; ".join(data.panel.notes)
        return report

    def baselines(self) -> list[Baseline]:
        """Classification: 1-NN DTW on the raw series, fitted on the training and validation series (the archive's
        training set; it has nothing to tune). Forecasting: the seasonal-naive and Holt-Winters forecasts of each
        series' and target's test steps from every step before them (``tasks.series.anchors``)."""
        data = self.prepared
        if self.problem == "classification":
            return [EstimatorBaseline(NEAREST_NEIGHBOUR_DTW, nearest_neighbour_dtw(), self._series, self.make_metrics,
                                      self.output_size)]
        columns, horizon = data.targets or [], self.horizon
        histories = [values[:-horizon, columns] for values in data.panel.values]
        actual = np.stack([values[-horizon:, columns] for values in data.panel.values])
        return [ForecastBaseline(name, forecast, histories, actual, data.extras["test"]["scale"], self.season,
                                 self.make_metrics) for name, forecast in FORECASTERS.items()]

    def _series(self, split: str) -> SplitFeatures:
        """The raw series of ``split`` as aeon's panel and their class indices; ``train`` is training and validation."""
        data = self.prepared
        assert data.rows is not None  # classification
        names = ("train", "val") if split == "train" else (split,)
        rows = np.concatenate([data.rows[name] for name in names])
        target = torch.cat([data.y[name] for name in names]).numpy()
        return SplitFeatures(series_panel([data.panel.values[row] for row in rows]), target)

    def make_loss(self) -> nn.Module:
        return nn.CrossEntropyLoss() if self.problem == "classification" else nn.MSELoss()

    def make_metrics(self) -> MetricCollection:
        if self.problem == "classification":
            return classification_metrics(len(self.prepared.classes))
        return forecasting_metrics()

    def make_module(self, model: ModelConfig, optim: OptimConfig) -> TaskModule:
        if self.problem == "classification":
            return super().make_module(model, optim)
        horizon, targets = self.prepared.y["train"].shape[1:]
        return SequenceForecaster(self.input_size, int(horizon), int(targets), model, optim, self.make_metrics())

    def _loader(self, name: str, batch_size: int, shuffle: bool = False) -> DataLoader:
        data = self.prepared
        dataset = TensorBatches(x=data.x[name], y=data.y[name], **data.extras[name])
        return batch_loader(dataset, batch_size, shuffle=shuffle, num_workers=self.num_workers)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", self.eval_batch_size)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", self.eval_batch_size)
