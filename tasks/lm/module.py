"""The language-modelling LightningModule: truncated backpropagation through time with carried state."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

import torch
import torch.nn.functional as F
from gatelab.errors import DataError
from gatelab.models import HiddenState, ModelConfig, detach_state
from gatelab.settings import OptimConfig
from gatelab.training.module import DivergedError, TaskModule, make_optimizer
from torch import Tensor
from torchmetrics import MetricCollection

from tasks.lm.model import LanguageModel
from tasks.lm.schedule import LRSchedule
from tasks.lm.vocab import Vocabulary

__all__ = ["LanguageModule"]

Stage = Literal["train", "val", "test"]
VOCABULARY_KEY = "gatelab_vocabulary"


class LanguageModule(TaskModule):
    """Next-token prediction over long streams, trained with truncated backpropagation through time.

    Each stage keeps the hidden state of its last batch: the next batch (the next window of the same
    streams) starts from it, detached so gradients stop at the window's start. The training state is
    reset at each epoch's start, the validation and test states at the start of each evaluation.

    Args:
        vocabulary: the training split's vocabulary (checked against a checkpoint's on load).
        model: the recurrent layer's shape and cell.
        optim: the optimiser.
        metrics: evaluation metrics over ``(nll_sum, tokens)``; cloned for validation and test.
        embedding_size: embedding width (None: ``model.hidden_size``).
        tie_weights: share the embedding and softmax weights.
        init_range: uniform initialisation range of every parameter (None: PyTorch's defaults).
        lr_schedule: the learning-rate schedule.
        loss_per: ``token``: the training loss is the mean over a window's tokens; ``stream``: summed over the
            window's time steps and averaged over streams (Zaremba et al.'s convention, under which their
            lr 1 and gradient norm 5 hold). Reported losses and metrics are always per token.
    """

    def __init__(
        self,
        vocabulary: Vocabulary,
        model: ModelConfig,
        optim: OptimConfig,
        metrics: MetricCollection,
        embedding_size: int | None = None,
        tie_weights: bool = False,
        init_range: float | None = None,
        lr_schedule: LRSchedule | None = None,
        loss_per: Literal["token", "stream"] = "token",
    ) -> None:
        super().__init__()
        self.lr_schedule = lr_schedule or LRSchedule()
        self.save_hyperparameters({
            "vocab_size": len(vocabulary), "vocabulary": vocabulary.fingerprint(), "model": asdict(model),
            "optim": asdict(optim), "embedding_size": embedding_size, "tie_weights": tie_weights,
            "init_range": init_range, "lr_schedule": asdict(self.lr_schedule), "loss_per": loss_per,
        })
        self.vocabulary = vocabulary
        self.net = LanguageModel(len(vocabulary), model, embedding_size or model.hidden_size, tie_weights, init_range)
        self.optim, self.loss_per = optim, loss_per
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")
        self.states: dict[Stage, HiddenState | None] = {"train": None, "val": None, "test": None}

    def forward(self, ids: Tensor, state: HiddenState | None = None) -> tuple[Tensor, HiddenState]:
        """Next-token logits for ``ids`` (batch, time) from ``state``, and the new state."""
        return self.net(ids, state)

    def score(self, ids: Tensor) -> Tensor:
        """What a registered model serves: next-token probabilities at each position of ``ids``, from a fresh state."""
        logits, _ = self(ids)
        return torch.softmax(logits, dim=-1)

    def _step(self, batch: dict[str, Tensor], stage: Stage) -> Tensor:
        logits, state = self(batch["x"], self.states[stage])
        self.states[stage] = detach_state(state)
        target = batch["y"]
        tokens = target.numel()
        nll = F.cross_entropy(logits.reshape(tokens, -1), target.reshape(tokens), reduction="sum")
        self.log(f"{stage}/loss", nll.detach() / tokens, on_step=False, on_epoch=True, batch_size=tokens)
        if stage != "train":
            (self.val_metrics if stage == "val" else self.test_metrics).update(nll, tokens)
        return nll / (target.shape[0] if self.loss_per == "stream" else tokens)

    def on_train_epoch_start(self) -> None:
        self.states["train"] = None

    def on_validation_epoch_start(self) -> None:
        self.states["val"] = None

    def on_test_epoch_start(self) -> None:
        self.states["test"] = None

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

    def configure_optimizers(self) -> Any:
        optimizer = make_optimizer(self.parameters(), self.optim)
        schedule = self.lr_schedule
        if schedule.kind == "step":
            scheduler = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda epoch: schedule.factor ** schedule.decays(epoch))
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}
        if schedule.kind == "plateau":
            scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, mode="min", factor=schedule.factor, patience=schedule.patience, threshold=0.0, eps=0.0)
            # not strict: a run without validation (a throughput benchmark) keeps its rate instead of failing
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch",
                                                             "monitor": "val/loss", "strict": False}}
        return optimizer

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[VOCABULARY_KEY] = list(self.vocabulary.tokens)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Refuse weights trained on another vocabulary: their token ids would mean other tokens."""
        saved = tuple(checkpoint.get(VOCABULARY_KEY, ()))
        if saved != self.vocabulary.tokens:
            differ = next((i for i, pair in enumerate(zip(saved, self.vocabulary.tokens)) if pair[0] != pair[1]),
                          min(len(saved), len(self.vocabulary)))
            path = getattr(self._trainer, "ckpt_path", None) or "the checkpoint"
            raise DataError(
                f"{path}: the checkpoint's vocabulary ({len(saved)} tokens) does not match the data's "
                f"({len(self.vocabulary)} tokens; they first differ at id {differ}); load it with the corpus and "
                "level it was trained on.")
