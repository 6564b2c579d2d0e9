"""Loaders of in-memory task data: whole batches per indexing operation, workers chosen for the machine."""

from __future__ import annotations

import os

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

__all__ = ["TensorBatches", "auto_workers", "batch_loader", "keep_batch"]


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
    # torch types collate_fn as taking a list of examples; given a dataset's __getitems__, the fetcher hands it
    # that method's batch instead (torch/utils/data/_utils/fetch.py).
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, sampler=sampler,
                      collate_fn=collate,  # type: ignore[arg-type]
                      num_workers=workers, persistent_workers=workers > 0, pin_memory=torch.cuda.is_available())
