"""Lightning callbacks that track a training run in MLflow: per-epoch metrics, per-step loss, the task's figures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning.pytorch as pl
import torch
from mlflow.utils.time import get_current_time_millis

from gatelab.tracking.client import Tracker
from gatelab.training.module import TaskModule
from gatelab.training.task import SequenceDataModule

__all__ = ["FIGURES", "GATES_FOLDER", "EpochMetricsLogger", "FigureLogger", "GateSummaryLogger", "StepLossLogger",
           "run_loggers"]

FIGURES = "figures"
"""The artifact folder of a run's figures."""
GATES_FOLDER = "gates"
"""The artifact folder of a run's gate summaries, one ``epoch-<n>.json`` per epoch (``GateTelemetry``)."""


class GateSummaryLogger:
    """``GateTelemetry``'s ``log``: each epoch's gate summary as the run's artifact ``gates/epoch-<n>.json``.

    A class rather than a closure, so that DDP can send it to the processes it starts.
    """

    def __init__(self, tracker: Tracker, run_id: str) -> None:
        self.tracker, self.run_id = tracker, run_id

    def __call__(self, epoch: int, summary: dict[str, Any]) -> None:
        self.tracker.client.log_dict(self.run_id, summary, f"{GATES_FOLDER}/epoch-{epoch}.json")


class EpochMetricsLogger(pl.Callback):
    """Logs each epoch's train and validation metrics to one MLflow run, one batch per epoch, asynchronously.

    ``prefix`` starts every key (a fold's runs share one MLflow run: ``fold1/val/auprc``).
    """

    def __init__(self, tracker: Tracker, run_id: str, prefix: str = "") -> None:
        self.tracker, self.run_id, self.prefix = tracker, run_id, prefix

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        metrics = {self.prefix + key: value.item() for key, value in trainer.callback_metrics.items()
                   if value.numel() == 1}
        self.tracker.log_metrics(self.run_id, metrics, step=trainer.current_epoch, synchronous=False)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.tracker.wait(self.run_id)  # a DDP process may end right after fitting


class FigureLogger(pl.Callback):
    """Logs the DataModule's figures of the test metrics (``SequenceDataModule.figures``) on one MLflow run,
    under ``figures/<prefix>``."""

    def __init__(self, tracker: Tracker, run_id: str, prefix: str = "") -> None:
        self.tracker, self.run_id, self.prefix = tracker, run_id, prefix

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero or not isinstance(pl_module, TaskModule):
            return
        arrays = {key: value for key, value in pl_module.arrays.items() if key.startswith("test/")}
        # Lightning attaches the DataModule as ``trainer.datamodule`` at fit/test time without declaring it.
        datamodule: SequenceDataModule = trainer.datamodule  # type: ignore[attr-defined]
        for name, figure in datamodule.figures(arrays).items():
            self.tracker.client.log_figure(self.run_id, figure, f"{FIGURES}/{self.prefix}{name}")


class StepLossLogger(pl.Callback):
    """Logs every training step's loss to one MLflow run without a host sync per step.

    The losses stay on the device; every ``flush_every`` steps, at the end of each epoch and when
    training stops on an exception (a pruned trial), they are copied to the host in one transfer and
    sent as one asynchronous batch. Each point keeps the wall time of its own step.

    Args:
        tracker: the task's MLflow experiment.
        run_id: the run to log to.
        flush_every: steps per transfer and MLflow batch.
        prefix: starts the metric's name (a fold's: ``fold1/train/step_loss``).
    """

    #: the metric's name on a run without folds (a fold's has the ``prefix``).
    KEY = "train/step_loss"

    def __init__(self, tracker: Tracker, run_id: str, flush_every: int = 100, prefix: str = "") -> None:
        self.tracker, self.run_id, self.flush_every = tracker, run_id, flush_every
        #: the metric's name; its step is the number of optimiser steps done.
        self.key = prefix + self.KEY
        self._losses: list[torch.Tensor] = []
        self._steps: list[int] = []
        self._times: list[int] = []

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any,
                           batch: Any, batch_idx: int) -> None:
        loss = outputs.get("loss") if isinstance(outputs, Mapping) else outputs
        if not isinstance(loss, torch.Tensor) or not trainer.is_global_zero:
            return
        self._losses.append(loss.detach())
        self._steps.append(trainer.global_step)
        self._times.append(get_current_time_millis())
        if len(self._losses) >= self.flush_every:
            self.flush()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.flush()

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.tracker.wait(self.run_id)

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self.flush()

    def flush(self) -> None:
        """Send the buffered losses (one device-to-host copy, one asynchronous MLflow batch)."""
        if not self._losses:
            return
        values = torch.stack(self._losses).float().tolist()
        self.tracker.log_series(self.run_id, self.key, values, self._steps, self._times)
        self._losses, self._steps, self._times = [], [], []


def run_loggers(tracker: Tracker, run_id: str, prefix: str = "") -> list[pl.Callback]:
    """The callbacks that track one training run: per-epoch metrics, per-step loss, the task's figures; ``prefix``
    starts their names (one fold of several on one MLflow run: ``gatelab.training.folds.fold_prefix``)."""
    return [EpochMetricsLogger(tracker, run_id, prefix), StepLossLogger(tracker, run_id, prefix=prefix),
            FigureLogger(tracker, run_id, prefix)]
