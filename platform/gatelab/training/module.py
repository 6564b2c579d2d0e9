"""The thin LightningModule: a plain SequenceModel inside, one shared step for every stage."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import asdict
from typing import Literal

import lightning.pytorch as pl
import torch
from torch import Tensor, nn
from torchmetrics import MetricCollection

from gatelab.models import ModelConfig, SequenceModel
from gatelab.settings import OptimConfig

__all__ = ["DivergedError", "SequenceClassifier", "TaskModule", "make_optimizer"]

#: Training steps between checks of the loss for NaN or infinity; each check is one device-to-host copy.
CHECK_EVERY = 50


class DivergedError(RuntimeError):
    """The training loss became NaN or infinite."""


def make_optimizer(params: Iterable[nn.Parameter], cfg: OptimConfig) -> torch.optim.Optimizer:
    """The optimiser ``cfg`` describes, over ``params``."""
    if cfg.name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    optimizer = torch.optim.AdamW if cfg.name == "adamw" else torch.optim.Adam
    return optimizer(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


class TaskModule(pl.LightningModule, abc.ABC):
    """What the engine needs of a trained LightningModule, beyond Lightning's own hooks.

    ``arrays`` holds the latest non-scalar metric results (e.g. ``test/confmat``), which Lightning's
    ``log_dict`` cannot take; ``FigureLogger`` draws the task's figures from them (none by default).
    ``net`` is the plain network inside, whose recurrent layer is ``net.rnn`` (``GateTelemetry`` reads it).
    """

    net: nn.Module

    def __init__(self) -> None:
        super().__init__()
        self.arrays: dict[str, Tensor] = {}

    @abc.abstractmethod
    def score(self, x: Tensor) -> Tensor:
        """What a registered model serves: scores for each sequence of ``x`` (batch, time, features)."""


class SequenceClassifier(TaskModule):
    """Scores a whole sequence from the model's output at its last step.

    Args:
        input_size: features per time step.
        output_size: 1 for binary tasks (a logit), else the number of classes.
        model: the backbone's shape.
        optim: the optimiser.
        loss: the training loss over ``(logits, target)``.
        metrics: evaluation metrics; cloned for validation and test.
    """

    net: SequenceModel

    def __init__(
        self,
        input_size: int,
        output_size: int,
        model: ModelConfig,
        optim: OptimConfig,
        loss: nn.Module,
        metrics: MetricCollection,
    ) -> None:
        super().__init__()
        self.save_hyperparameters({"input_size": input_size, "output_size": output_size,
                                   "model": asdict(model), "optim": asdict(optim)})
        self.net = SequenceModel(input_size, output_size, model)
        self.optim = optim
        self.loss_fn = loss
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")
        # The training loss of each step since the last check, kept on the device (see on_train_batch_end).
        self._unchecked: list[Tensor] = []
        self._sizes: list[int] = []
        self._epoch_loss, self._epoch_size = torch.zeros(()), 0

    def forward(self, x: Tensor) -> Tensor:
        """Logits for each sequence of ``x`` (batch, time, features)."""
        logits, _ = self.net(x)
        last = logits[:, -1]
        return last.squeeze(-1) if last.shape[-1] == 1 else last

    def probabilities(self, logits: Tensor) -> Tensor:
        """Positive-class probability (binary) or class probabilities."""
        return torch.sigmoid(logits) if logits.dim() == 1 else torch.softmax(logits, dim=-1)

    def score(self, x: Tensor) -> Tensor:
        """What a registered model serves: the probabilities for each sequence of ``x``."""
        return self.probabilities(self(x))

    def _step(self, batch: dict[str, Tensor], stage: Literal["train", "val", "test"]) -> Tensor:
        logits = self(batch["x"])
        target = batch["y"]
        loss = self.loss_fn(logits, target.to(logits.dtype) if logits.dim() == 1 else target)
        if stage == "train":
            # Lightning's self.log costs more than a small model's step; the epoch mean is logged once instead.
            self._unchecked.append(loss.detach())
            self._sizes.append(len(target))
            return loss
        self.log(f"{stage}/loss", loss, on_step=False, on_epoch=True, batch_size=len(target), sync_dist=True)
        extras = {key: value for key, value in batch.items() if key not in ("x", "y")}
        metrics = self.val_metrics if stage == "val" else self.test_metrics
        metrics.update(self.probabilities(logits.detach()), target, **extras)
        return loss

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        return self._step(batch, "train")

    def on_train_epoch_start(self) -> None:
        self._unchecked, self._sizes = [], []
        self._epoch_loss, self._epoch_size = torch.zeros((), device=self.device), 0

    def on_train_batch_end(self, outputs: object, batch: object, batch_idx: int) -> None:
        """Every ``CHECK_EVERY`` steps and at the epoch's last step (before validation), one host sync:
        stop on a NaN or infinite loss; at the last step, log the epoch's mean training loss."""
        last = self.trainer.is_last_batch or batch_idx + 1 >= self.trainer.num_training_batches
        if len(self._unchecked) < CHECK_EVERY and not last:
            return
        losses = torch.stack(self._unchecked)
        sizes = torch.tensor(self._sizes, dtype=losses.dtype, device=losses.device)
        bad = (~torch.isfinite(losses)).nonzero()
        if len(bad):
            first = int(bad[0])
            step = batch_idx - len(losses) + 1 + first
            raise DivergedError(f"training loss is {losses[first].item()} at epoch {self.current_epoch}, step {step}")
        self._epoch_loss = self._epoch_loss + (losses * sizes).sum()
        self._epoch_size += sum(self._sizes)
        self._unchecked, self._sizes = [], []
        if last:
            self.log("train/loss", self._epoch_loss / self._epoch_size, on_step=False, on_epoch=True, sync_dist=True)

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._step(batch, "test")

    def _log_computed(self, metrics: MetricCollection) -> None:
        """Log the scalar results; keep the others in ``arrays``."""
        values = metrics.compute()
        self.log_dict({key: value for key, value in values.items() if value.numel() == 1})
        self.arrays.update({key: value.detach().cpu() for key, value in values.items() if value.numel() != 1})
        metrics.reset()

    def on_validation_epoch_end(self) -> None:
        self._log_computed(self.val_metrics)

    def on_test_epoch_end(self) -> None:
        self._log_computed(self.test_metrics)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return make_optimizer(self.parameters(), self.optim)
