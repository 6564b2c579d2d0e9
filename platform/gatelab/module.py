"""The thin LightningModule: a plain SequenceModel inside, one shared step for every stage."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import lightning.pytorch as pl
import torch
from jsonargparse.typing import NonNegativeFloat, PositiveFloat
from torch import Tensor, nn
from torchmetrics import MetricCollection

from gatelab.cells import ModelConfig, SequenceModel

__all__ = ["DivergedError", "OptimConfig", "SequenceClassifier"]


class DivergedError(RuntimeError):
    """The training loss became NaN or infinite."""


@dataclass
class OptimConfig:
    """Optimiser settings, identical for every cell.

    Args:
        name: ``adam``, ``adamw`` or ``sgd``.
        lr: learning rate.
        weight_decay: L2 penalty (decoupled for ``adamw``).
        momentum: SGD momentum; ignored by Adam.
    """

    name: Literal["adam", "adamw", "sgd"] = "adam"
    lr: PositiveFloat = 1e-3
    weight_decay: NonNegativeFloat = 0.0
    momentum: NonNegativeFloat = 0.0


class SequenceClassifier(pl.LightningModule):
    """Scores a whole sequence from the model's output at its last step.

    Args:
        input_size: features per time step.
        output_size: 1 for binary tasks (a logit), else the number of classes.
        model: the backbone's shape.
        optim: the optimiser.
        loss: the training loss over ``(logits, target)``.
        metrics: evaluation metrics; cloned for validation and test.
    """

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

    def forward(self, x: Tensor) -> Tensor:
        """Logits for each sequence of ``x`` (batch, time, features)."""
        logits, _ = self.net(x)
        last = logits[:, -1]
        return last.squeeze(-1) if last.shape[-1] == 1 else last

    def probabilities(self, logits: Tensor) -> Tensor:
        """Positive-class probability (binary) or class probabilities."""
        return torch.sigmoid(logits) if logits.dim() == 1 else torch.softmax(logits, dim=-1)

    def _step(self, batch: dict[str, Tensor], stage: Literal["train", "val", "test"]) -> Tensor:
        logits = self(batch["x"])
        target = batch["y"]
        loss = self.loss_fn(logits, target.to(logits.dtype) if logits.dim() == 1 else target)
        self.log(f"{stage}/loss", loss, on_step=False, on_epoch=True, batch_size=len(target), sync_dist=True)
        if stage != "train":
            extras = {key: value for key, value in batch.items() if key not in ("x", "y")}
            metrics = self.val_metrics if stage == "val" else self.test_metrics
            metrics.update(self.probabilities(logits.detach()), target, **extras)
        return loss

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        loss = self._step(batch, "train")
        if not torch.isfinite(loss):
            raise DivergedError(f"training loss is {loss.item()} at epoch {self.current_epoch}, step {batch_idx}")
        return loss

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._step(batch, "test")

    def on_validation_epoch_end(self) -> None:
        self.log_dict(self.val_metrics.compute())
        self.val_metrics.reset()

    def on_test_epoch_end(self) -> None:
        self.log_dict(self.test_metrics.compute())
        self.test_metrics.reset()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        params, cfg = self.parameters(), self.optim
        if cfg.name == "sgd":
            return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
        optimizer = torch.optim.AdamW if cfg.name == "adamw" else torch.optim.Adam
        return optimizer(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
