"""A seeded synthetic sequence task, so that a benchmark's data size is exactly what it asks for."""

from __future__ import annotations

import torch
from gatelab.training.loaders import TensorBatches, batch_loader
from gatelab.training.task import ClassificationDataModule
from torch import nn
from torch.utils.data import DataLoader
from torchmetrics import MetricCollection
from torchmetrics.classification import BinaryAUROC

__all__ = ["SyntheticTask"]


class SyntheticTask(ClassificationDataModule[dict[str, dict[str, torch.Tensor]]]):
    """Random sequences labelled by the sign of their first feature's sum; tensors built once.

    Args:
        sequences: training sequences (validation and test get an eighth each).
        length: time steps per sequence.
        features: features per step.
        batch_size: training batch size.
        seed: the data's seed.
    """

    objective = "val/auroc"
    direction = "maximize"

    def __init__(self, sequences: int = 4096, length: int = 64, features: int = 8, batch_size: int = 64,
                 seed: int = 0) -> None:
        super().__init__()
        self.sequences, self.length, self.features, self.batch_size = sequences, length, features, batch_size
        self.seed = seed

    def load(self) -> dict[str, dict[str, torch.Tensor]]:
        generator = torch.Generator().manual_seed(self.seed)
        tensors = {}
        for name, size in (("train", self.sequences), ("val", max(self.sequences // 8, 1)),
                           ("test", max(self.sequences // 8, 1))):
            x = torch.randn(size, self.length, self.features, generator=generator)
            tensors[name] = {"x": x, "y": (x[:, :, 0].sum(dim=1) > 0).long()}
        return tensors

    @property
    def input_size(self) -> int:
        return self.features

    @property
    def output_size(self) -> int:
        return 1

    def fingerprint(self) -> str:
        return f"synthetic-{self.sequences}x{self.length}x{self.features}"

    def make_loss(self) -> nn.Module:
        return nn.BCEWithLogitsLoss()

    def make_metrics(self) -> MetricCollection:
        return MetricCollection({"auroc": BinaryAUROC()})

    def train_dataloader(self) -> DataLoader:
        return batch_loader(TensorBatches(**self.prepared["train"]), self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return batch_loader(TensorBatches(**self.prepared["val"]), 1024)

    def test_dataloader(self) -> DataLoader:
        return batch_loader(TensorBatches(**self.prepared["test"]), 1024)
