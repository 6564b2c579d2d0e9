"""The training hot path: every step's loss reaches MLflow in batches; a NaN loss still stops training."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
from gatelab.models import ModelConfig
from gatelab.settings import OptimConfig
from gatelab.tracking.client import Tracker
from gatelab.tracking.loggers import EpochMetricsLogger, StepLossLogger
from gatelab.training.experiment import load_experiment
from gatelab.training.loaders import TensorBatches, auto_workers, batch_loader
from gatelab.training.module import CHECK_EVERY, DivergedError, SequenceClassifier
from gatelab.training.train import quiet_lightning, train
from torch import Tensor, nn
from torchmetrics import MetricCollection
from torchmetrics.classification import BinaryAUROC


def test_every_step_loss_is_logged_with_its_own_step_and_time(tmp_path: Path, tiny_config) -> None:
    cfg = load_experiment("fraud", [tiny_config(epochs=2)])
    run_cfg = cfg.run()
    tracker = Tracker(tmp_path / "mlruns", "fraud")
    run_id = tracker.start_run("steps", {"gatelab.task": "fraud"})
    metrics = train(run_cfg, [EpochMetricsLogger(tracker, run_id), StepLossLogger(tracker, run_id, flush_every=3)],
                    test=False)
    tracker.end_run(run_id, "FINISHED")

    steps_per_epoch = len(run_cfg.data.train_dataloader())
    history = tracker.client.get_metric_history(run_id, "train/step_loss")
    assert metrics["epochs"] == 2
    assert sorted(point.step for point in history) == list(range(1, 2 * steps_per_epoch + 1))
    by_step = sorted(history, key=lambda point: point.step)
    assert all(a.timestamp <= b.timestamp for a, b in zip(by_step, by_step[1:]))
    assert all(point.value > 0 for point in history)
    assert len(tracker.client.get_metric_history(run_id, "train/loss")) == 2


class NanFrom(nn.Module):
    """Binary cross-entropy that turns NaN from its ``start``-th call on (a diverging run)."""

    def __init__(self, start: int) -> None:
        super().__init__()
        self.start, self.calls = start, 0

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        self.calls += 1
        loss = nn.functional.binary_cross_entropy_with_logits(logits, target)
        return loss * float("nan") if self.calls >= self.start else loss


@pytest.mark.parametrize(("batches", "start"), [(10, 4), (3 * CHECK_EVERY, CHECK_EVERY + 5)])
def test_a_nan_loss_stops_training_naming_its_step(batches: int, start: int) -> None:
    quiet_lightning()
    torch.manual_seed(0)
    data = TensorBatches(x=torch.randn(batches * 4, 3, 2), y=torch.randint(0, 2, (batches * 4,)))
    loss = NanFrom(start)
    module = SequenceClassifier(2, 1, ModelConfig(cell="gru", hidden_size=4), OptimConfig(), loss,
                                MetricCollection({"auroc": BinaryAUROC()}))
    trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu")
    with pytest.raises(DivergedError, match=f"training loss is nan at epoch 0, step {start - 1}"):
        trainer.fit(module, train_dataloaders=batch_loader(data, 4))
    assert loss.calls <= start + CHECK_EVERY


def test_in_memory_batches_load_in_process() -> None:
    data = TensorBatches(x=torch.zeros(10, 2, 1))
    loader = batch_loader(data, 4)
    assert auto_workers(data) == 0 and loader.num_workers == 0
    assert [len(batch["x"]) for batch in loader] == [4, 4, 2]
