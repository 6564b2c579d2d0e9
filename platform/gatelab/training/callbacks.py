"""Small Lightning callbacks the training function uses."""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable
from typing import Any, cast

import lightning.pytorch as pl
import torch
from torch import Tensor
from tqdm.auto import tqdm

from gatelab.models.gates import cell_name, gate_activations, gate_summary, rnn_input

__all__ = ["BestWeights", "EpochProgress", "EpochTimer", "GateTelemetry"]


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

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if len(self.seconds) == trainer.current_epoch:  # an epoch without validation
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


class GateTelemetry(pl.Callback):
    """At the end of each training epoch, ``gate_summary`` of a fixed sample of sequences, handed to ``log``.

    Runs on the LightningModule's backbone ``pl_module.net`` (its recurrent layer ``net.rnn``, one of
    ``GATES``) in evaluation mode without gradients, then restores every submodule's mode; it draws no
    random numbers from the training's generators. Only the global-zero process computes and logs.

    Args:
        sample_x: sequences as the backbone reads them (``(batch, time, features)``; token ids ``(batch, time)``
            for a language model), or a count: the first ``sample_x`` sequences (``batch["x"]``) of the
            DataModule's validation loader, drawn once when fitting starts (batches shaped unlike the first, such
            as a language model's shorter last window, are skipped).
        log: called as ``log(epoch, summary)`` with the epoch counted from 0 (as the metrics' steps).
    """

    def __init__(self, sample_x: Tensor | int, log: Callable[[int, dict[str, Any]], None]) -> None:
        # Not ``self.log``: Lightning sets every callback's ``log`` to the LightningModule's when fitting starts.
        self.sample_x, self._log = sample_x, log

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        cell_name(pl_module.get_submodule("net.rnn"))  # a layer without gates fails before the first epoch, not after
        if isinstance(self.sample_x, Tensor):
            return
        # Lightning's DataConnector sets Trainer.datamodule, but Trainer does not declare it.
        datamodule: pl.LightningDataModule | None = trainer.datamodule  # type: ignore[attr-defined]
        if datamodule is None:
            raise ValueError("GateTelemetry: without a DataModule, give sample_x as a tensor of sequences")
        pieces: list[Tensor] = []
        count = 0
        with torch.random.fork_rng(devices=[]):  # a loader's iterator draws its base seed from torch's generator
            for batch in datamodule.val_dataloader():
                if pieces and batch["x"].shape[1:] != pieces[0].shape[1:]:
                    continue  # a shorter last window of a language model's stream: not stackable with the others
                pieces.append(batch["x"][: self.sample_x - count])
                count += len(pieces[-1])
                if count == self.sample_x:
                    break
        self.sample_x = torch.cat(pieces)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        net = pl_module.get_submodule("net")
        sample = cast(Tensor, self.sample_x)  # on_fit_start has replaced a count by the sequences
        modes = [(module, module.training) for module in net.modules()]
        net.eval()
        try:
            with torch.no_grad():
                inputs = rnn_input(net, sample.to(pl_module.device))
                summary = gate_summary(gate_activations(net.get_submodule("rnn"), *inputs))
        finally:
            for module, mode in modes:
                module.training = mode
        self._log(trainer.current_epoch, summary)
