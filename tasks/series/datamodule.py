"""The series task: anyone's sequences, classified (one label per series) or forecast (``horizon`` steps ahead)."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import numpy as np
import torch
from gatelab.errors import ConfigError
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
from tasks.series.prepare import SPLITS, SeriesData, classification_splits, forecasting_splits
from tasks.series.sources import ArchiveSource, SeriesSource

__all__ = ["SeriesDataModule"]


class SeriesDataModule(ClassificationDataModule[SeriesData]):
    """Series from a ``.ts`` archive pair or a long table, for classification or forecasting.

    Classification: one label per series; inputs are the standardised channels plus a presence flag, left-padded
    to the longest series; objective validation accuracy. Forecasting: windows of ``context`` steps predict the
    next ``horizon`` steps of ``targets``; objective validation MASE (lower is better).

    Args:
        source: where the series come from (``ArchiveSource``, ``TsFiles`` or ``LongTable``).
        problem: ``classification`` or ``forecasting``.
        targets: forecast columns (default: every value column).
        context: steps of history each forecast sees.
        horizon: steps forecast.
        season: the seasonal period of the MASE's naive forecast (1: the previous step).
        scaling: forecasting inputs and targets divided by each window's context mean absolute value
            (``window``, DeepAR's mean scaling) or standardised with the training steps (``global``).
        val_share: share of the training series held out for validation (classification).
        test_share: share of all series held out for test when the source gives no split (classification).
        train_fraction: share of the training data kept (classification: series, stratified; forecasting: each
            series' latest training windows), for learning curves.
        seed: the split's seed.
        batch_size: training batch size.
        eval_batch_size: validation and test batch size.
        num_workers: loader worker processes (``None``: chosen for the machine).

    Raises:
        ConfigError: a value out of range, naming its field.
    """

    def __init__(
        self,
        source: SeriesSource = ArchiveSource("JapaneseVowels"),
        problem: Literal["classification", "forecasting"] = "classification",
        targets: list[str] | None = None,
        context: int = 24,
        horizon: int = 12,
        season: int = 1,
        scaling: Literal["window", "global"] = "window",
        val_share: float = 0.2,
        test_share: float = 0.3,
        train_fraction: float = 1.0,
        seed: int = 0,
        batch_size: int = 32,
        eval_batch_size: int = 1024,
        num_workers: int | None = None,
    ) -> None:
        super().__init__()
        for field, value in {"context": context, "horizon": horizon, "season": season, "batch_size": batch_size,
                             "eval_batch_size": eval_batch_size}.items():
            if value < 1:
                raise ConfigError(f"data.init_args.{field}: {value} is too small for the series task; set it to 1 "
                                  "or more.")
        for field, share in {"val_share": val_share, "test_share": test_share}.items():
            if not 0.0 < share < 1.0:
                raise ConfigError(f"data.init_args.{field}: {share} is not a share; give a number in (0, 1).")
        if not 0.0 < train_fraction <= 1.0:
            raise ConfigError(f"data.init_args.train_fraction: {train_fraction} is not a fraction; give a number in "
                              "(0, 1], e.g. 0.25.")
        self.train_fraction = train_fraction
        self.source, self.problem, self.targets = source, problem, targets
        self.context, self.horizon, self.season, self.scaling = context, horizon, season, scaling
        self.val_share, self.test_share, self.seed = val_share, test_share, seed
        self.batch_size, self.eval_batch_size, self.num_workers = batch_size, eval_batch_size, num_workers
        self.objective = "val/accuracy" if problem == "classification" else "val/mase"
        self.direction = "maximize" if problem == "classification" else "minimize"

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
