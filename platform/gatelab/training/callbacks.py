"""Small Lightning callbacks the training function uses."""

from __future__ import annotations

import copy
import sys
import time

import lightning.pytorch as pl
import torch
from tqdm.auto import tqdm

__all__ = ["BestWeights", "EpochProgress", "EpochTimer"]


class BestWeights(pl.Callback):
    """Keeps a copy of the weights, and the validation metrics, of the best epoch."""

    def __init__(self, monitor: str, mode: str) -> None:
        self.monitor, self.mode = monitor, mode
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.state: dict[str, torch.Tensor] | None = None
        self.metrics: dict[str, float] = {}

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        value = trainer.callback_metrics[self.monitor].item()
        better = self.best is None or (value > self.best if self.mode == "maximize" else value < self.best)
        if better and value == value:  # NaN never counts as best
            self.best, self.best_epoch = value, trainer.current_epoch
            self.state = copy.deepcopy(pl_module.state_dict())
            self.metrics = {key: metric.item() for key, metric in trainer.callback_metrics.items()
                            if key.startswith("val/")}


class EpochTimer(pl.Callback):
    """Wall seconds of each training epoch, validation excluded."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._start = 0.0

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking and len(self.seconds) == trainer.current_epoch:
            self.seconds.append(time.perf_counter() - self._start)


class EpochProgress(pl.Callback):
    """A progress bar over the batches of each epoch, named after the run (e.g. ``gru #3``)."""

    def __init__(self, name: str, position: int = 1) -> None:
        self.name, self.position = name, position
        self.bar: tqdm | None = None

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        total = trainer.num_training_batches
        self.bar = tqdm(total=None if total == float("inf") else int(total), position=self.position, leave=False,
                        desc=f"{self.name} epoch {trainer.current_epoch + 1}/{trainer.max_epochs}",
                        unit="batch", file=sys.stderr, dynamic_ncols=True)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: object) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self.on_train_epoch_end(trainer, pl_module)
