"""Delayed recall: name the symbol seen ``length - 1`` steps before a query, through distractor noise.

After the long-time-lag experiments of Hochreiter & Schmidhuber, "Long Short-Term Memory", Neural
Computation 9(8):1735-1780, 1997 (section 5.2, noise-free and noisy sequences with long time lags).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from gatelab.training.loaders import TensorBatches, batch_loader
from gatelab.training.task import ClassificationDataModule
from torch import Tensor, nn
from torch.utils.data import DataLoader
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy

from tasks.synthetic.options import RecallOptions

__all__ = ["RecallBatches", "RecallData", "RecallDataModule", "draw_recall"]

SPLITS = ("train", "val", "test")


class RecallBatches(TensorBatches):
    """Recall sequences kept as channel indices, served as whole batches of one-hot ``{"x", "y"}``.

    Args:
        tokens: (sequences, length) the channel set at each step (step 0 a symbol, the rest distractors).
        y: (sequences,) the label, the symbol at step 0.
        channels: features per step; the last one is the query marker, set at the last step.
    """

    def __init__(self, tokens: Tensor, y: Tensor, channels: int) -> None:
        super().__init__(tokens=tokens, y=y)
        self.channels = channels

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        return {key: value[0] for key, value in self.__getitems__([index]).items()}

    def __getitems__(self, indices: list[int]) -> dict[str, Tensor]:
        rows = torch.as_tensor(indices)
        x = nn.functional.one_hot(self.tensors["tokens"][rows], self.channels).float()
        x[:, -1, -1] = 1.0
        return {"x": x, "y": self.tensors["y"][rows]}


@dataclass(frozen=True)
class RecallData:
    """Each split's sequences as channel indices (``tokens``, (sequences, length)) and labels (``y``)."""

    tokens: dict[str, Tensor]
    y: dict[str, Tensor]


def draw_recall(length: int, symbols: int, distractors: int, sizes: dict[str, int], seed: int) -> RecallData:
    """Draw the splits from one NumPy ``Generator`` seeded with ``seed``, one after the other (disjoint draws).

    Each sequence: a symbol drawn uniformly from ``symbols`` at step 0 (the label), then ``length - 1``
    distractors drawn uniformly from ``distractors`` others (channels ``symbols`` ..). Short sequences
    can repeat across splits (at ``length`` 2 there are only ``symbols * distractors`` of them).
    """
    rng = np.random.default_rng(seed)
    tokens, labels = {}, {}
    for name in SPLITS:
        label = rng.integers(symbols, size=sizes[name])
        noise = symbols + rng.integers(distractors, size=(sizes[name], length - 1))
        tokens[name] = torch.from_numpy(np.concatenate([label[:, None], noise], axis=1))
        labels[name] = torch.from_numpy(label)
    return RecallData(tokens=tokens, y=labels)


class RecallDataModule(RecallOptions, ClassificationDataModule[RecallData]):
    """Delayed recall (Hochreiter & Schmidhuber 1997's long-time-lag task): the label is the symbol of
    step 0; the net must carry it across ``length - 1`` steps of distractor noise to the query.

    Each step is one-hot over ``symbols + distractors + 1`` channels: step 0 sets one of the ``symbols``
    channels, steps 1 .. ``length - 1`` each set one of the ``distractors`` channels, and the last step
    also sets the final (query) channel. Labels are uniform over the symbols, so chance accuracy is
    ``1 / symbols``. The data is drawn from ``seed`` alone, independent of the training seed.
    """

    objective = "val/accuracy"
    direction: Literal["maximize", "minimize"] = "maximize"

    def load(self) -> RecallData:
        return draw_recall(self.length, self.symbols, self.distractors, self.sizes, self.seed)

    @property
    def input_size(self) -> int:
        return self.symbols + self.distractors + 1

    @property
    def output_size(self) -> int:
        return self.symbols

    def fingerprint(self) -> str:
        """The sha256 (16 hex digits) of every split's sequences and labels."""
        digest = hashlib.sha256(f"{self.symbols}:{self.distractors}".encode())
        for name in SPLITS:
            digest.update(self.prepared.tokens[name].numpy().tobytes())
            digest.update(self.prepared.y[name].numpy().tobytes())
        return digest.hexdigest()[:16]

    def make_loss(self) -> nn.Module:
        return nn.CrossEntropyLoss()

    def make_metrics(self) -> MetricCollection:
        return MetricCollection({"accuracy": MulticlassAccuracy(self.symbols, average="micro")})

    def _loader(self, name: str, batch_size: int, shuffle: bool = False) -> DataLoader:
        data = self.prepared
        dataset = RecallBatches(data.tokens[name], data.y[name], self.input_size)
        return batch_loader(dataset, batch_size, shuffle=shuffle, num_workers=self.num_workers)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", self.eval_batch_size)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", self.eval_batch_size)
