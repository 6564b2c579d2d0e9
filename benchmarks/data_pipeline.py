"""Item 3: each task's training loader alone against the rate at which its model consumes batches."""

from __future__ import annotations

import time
import warnings
from dataclasses import replace
from itertools import islice
from typing import Any

import lightning.pytorch as pl
from gatelab.training.config import list_tasks
from gatelab.training.experiment import load_experiment
from gatelab.training.train import lightning_trainer, quiet_lightning

from benchmarks.common import Figure

__all__ = ["data_pipeline"]


class _BatchClock(pl.Callback):
    """Wall time from the start of the second training batch to the end of the last (the first warms up)."""

    def __init__(self) -> None:
        self.start, self.end, self.batches = 0.0, 0.0, 0

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        if batch_idx == 1:
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        self.end, self.batches = time.perf_counter(), self.batches + 1


class _Replay:
    """The same batches again, as one loader (a plain list would be taken as several loaders)."""

    def __init__(self, batches: list[Any]) -> None:
        self.batches = batches

    def __iter__(self) -> Any:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def loader_rate(loader: Any, limit: int) -> float:
    """Batches per second of one pass over at most ``limit`` batches, worker start-up included."""
    start = time.perf_counter()
    count = sum(1 for _ in islice(iter(loader), limit))
    return count / (time.perf_counter() - start)


def model_rate(task: str, batches: list[Any]) -> float:
    """Batches per second that the task's model trains on (Lightning loop included), data already in memory."""
    run = load_experiment(task).run()
    run.data.setup("fit")
    clock = _BatchClock()
    trainer = lightning_trainer(replace(run.trainer, max_epochs=1), [clock], limit_val_batches=0)
    trainer.fit(run.data.make_module(run.model, run.optim), train_dataloaders=_Replay(batches))
    return (clock.batches - 1) / (clock.end - clock.start)


def data_pipeline(quick: bool = False) -> list[Figure]:
    """For every task in ``configs/``: loader batches/s over the model's batches/s (goal: at least 5x)."""
    quiet_lightning()
    warnings.filterwarnings("ignore", message=r".*validation_step.*but have no.*val_dataloader.*")
    warnings.filterwarnings("ignore", message=r".*conditioned on metric val/loss which is not available.*")
    limit, model_batches = (8, 3) if quick else (200, 30)
    figures = []
    for task in list_tasks():
        run = load_experiment(task).run()
        run.data.prepare_data()
        run.data.setup("fit")
        loader = run.data.train_dataloader()
        loaded = loader_rate(loader, limit)
        consumed = model_rate(task, list(islice(iter(loader), model_batches)))
        workers = getattr(loader, "num_workers", 0)
        figures += [
            Figure(f"data.{task}.loader_vs_model_ratio", loaded / consumed, "x", at_least=5.0,
                   note=f"{workers} loader workers (chosen for this machine)"),
            Figure(f"data.{task}.loader_batches_per_s", loaded, "batch/s"),
            Figure(f"data.{task}.model_batches_per_s", consumed, "batch/s", note="training steps, default model"),
        ]
    return figures
