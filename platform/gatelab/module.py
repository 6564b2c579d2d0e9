"""The thin LightningModule: a plain SequenceModel inside, one shared step for every stage."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

import lightning.pytorch as pl
import torch
from jsonargparse.typing import NonNegativeFloat, PositiveFloat
from torch import Tensor, nn
from torchmetrics import MetricCollection

from gatelab.cells import ModelConfig, SequenceModel

__all__ = ["DivergedError", "OptimConfig", "SequenceClassifier", "make_optimizer"]


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


def make_optimizer(params: Iterable[nn.Parameter], cfg: OptimConfig) -> torch.optim.Optimizer:
    """The optimiser ``cfg`` describes, over ``params``."""
    if cfg.name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    optimizer = torch.optim.AdamW if cfg.name == "adamw" else torch.optim.Adam
    return optimizer(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


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
        #: the latest non-scalar metric results (e.g. ``test/confmat``), which ``log_dict`` cannot take.
        self.arrays: dict[str, Tensor] = {}

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
        self.log(f"{stage}/loss", loss, on_step=False, on_epoch=True, batch_size=len(target))
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
