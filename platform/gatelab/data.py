"""What the engine needs from a task's DataModule."""

from __future__ import annotations

import abc
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import lightning.pytorch as pl
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, Sampler
from torchmetrics import MetricCollection

if TYPE_CHECKING:
    from gatelab.cells import ModelConfig
    from gatelab.module import OptimConfig

__all__ = ["SequenceDataModule", "TensorBatches", "auto_workers", "batch_loader", "keep_batch"]


class SequenceDataModule(pl.LightningDataModule, abc.ABC):
    """A task: batches of sequences plus what it takes to train and score a model on them.

    Batches are dicts with ``x`` (batch, time, features) and ``y`` (batch,); any other keys are
    passed to the metrics' ``update`` as keyword arguments (e.g. card ids for card precision@k).
    A task whose ``make_module`` returns its own LightningModule defines its own batches.
    The attributes below are valid after ``setup("fit")``.
    """

    #: the validation metric the sweep optimises, as logged (e.g. ``"val/auprc"``).
    objective: str
    #: whether a higher or a lower objective is better.
    direction: Literal["maximize", "minimize"]

    @property
    @abc.abstractmethod
    def input_size(self) -> int:
        """Features per time step."""

    @property
    @abc.abstractmethod
    def output_size(self) -> int:
        """Model outputs per sequence: 1 for a binary logit, else the number of classes."""

    @abc.abstractmethod
    def fingerprint(self) -> str:
        """A short stable id of the data and its preparation (tagged on every run)."""

    @abc.abstractmethod
    def make_loss(self) -> nn.Module:
        """The training loss, taking ``(logits, target)``; class weights come from the training split."""

    @abc.abstractmethod
    def make_metrics(self) -> MetricCollection:
        """A fresh collection of evaluation metrics, fed ``(probabilities, target, **extras)``.

        Metrics may return non-scalar tensors (e.g. a confusion matrix): they are not logged as
        metrics but handed to ``figures``.
        """

    def figures(self, arrays: Mapping[str, Tensor]) -> dict[str, Any]:
        """Figures drawn from the non-scalar test metrics of a run's best weights (e.g. ``"test/confmat"``).

        Returns:
            artifact file name (e.g. ``"confusion_matrix.png"``) -> matplotlib ``Figure``, logged on
            the run under ``figures/``; none by default.
        """
        return {}

    def make_module(self, model: ModelConfig, optim: OptimConfig) -> pl.LightningModule | None:
        """This task's own LightningModule, for tasks the engine's ``SequenceClassifier`` does not fit.

        None (the default) means ``SequenceClassifier``. A task that returns its own module keeps the
        cell chosen by ``model.cell`` (from ``gatelab.cells.CELLS``) and the optimiser settings.
        """
        return None


class TensorBatches(Dataset):
    """Aligned tensors (first dimension = examples) served as whole batches of dicts.

    Fetching a batch is one index operation per tensor (``__getitems__``), not one per example;
    use it with ``collate_fn=keep_batch``.
    """

    def __init__(self, **tensors: Tensor) -> None:
        lengths = {len(tensor) for tensor in tensors.values()}
        if len(lengths) != 1:
            raise ValueError(f"tensors of different lengths: { {k: len(v) for k, v in tensors.items()} }")
        self.tensors = tensors
        self.length = lengths.pop()

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        return {key: tensor[index] for key, tensor in self.tensors.items()}

    def __getitems__(self, indices: list[int]) -> dict[str, Tensor]:
        rows = torch.as_tensor(indices)
        return {key: tensor[rows] for key, tensor in self.tensors.items()}


def keep_batch(batch: dict[str, Tensor]) -> dict[str, Tensor]:
    """The collate function for ``TensorBatches``: the batch is already assembled."""
    return batch


def auto_workers(dataset: Dataset) -> int:
    """Loader worker processes for ``dataset`` on this machine.

    ``TensorBatches`` hold the data in memory and make a batch with one indexing operation per
    tensor, far faster than any model consumes it; a worker process would only add the cost of
    sending each batch between processes, so they load in the training process. Other datasets get
    one worker per core but one (kept for training), at most four.
    """
    if isinstance(dataset, TensorBatches):
        return 0
    return min(4, max(0, (os.cpu_count() or 1) - 1))


def batch_loader(dataset: Dataset, batch_size: int, *, shuffle: bool = False, sampler: Sampler | None = None,
                 num_workers: int | None = None) -> DataLoader:
    """A loader of whole-batch dicts: workers chosen for the machine (``num_workers=None``), kept alive
    between epochs, and batches in pinned memory where a GPU will read them."""
    workers = auto_workers(dataset) if num_workers is None else num_workers
    collate = keep_batch if isinstance(dataset, TensorBatches) else None
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, sampler=sampler, collate_fn=collate,
                      num_workers=workers, persistent_workers=workers > 0, pin_memory=torch.cuda.is_available())
