"""``train(cfg) -> metrics``: the one function the CLI, the Optuna objective and the tests call."""

from __future__ import annotations

import logging
import statistics
import warnings
from collections.abc import Sequence

import lightning.pytorch as pl
import torch

from gatelab.callbacks import BestWeights, EpochProgress, EpochTimer
from gatelab.config import RunConfig
from gatelab.module import SequenceClassifier

__all__ = ["build_module", "quiet_lightning", "train"]


def quiet_lightning() -> None:
    """Silence Lightning's start-up chatter and hints that say nothing about the run itself."""
    # pytorch_lightning: the standalone package's loggers, which importing mlflow.pytorch brings in.
    for name in ("lightning.pytorch", "lightning.fabric", "lightning.pytorch.utilities.rank_zero",
                 "pytorch_lightning", "pytorch_lightning.utilities.rank_zero"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=r".*(LeafSpec|treespec).*")
    warnings.filterwarnings("ignore", message=r".*`srun` command is available.*")  # Slurm installed, not used


def build_module(cfg: RunConfig) -> pl.LightningModule:
    """The LightningModule for a run whose DataModule is set up: the task's own, else ``SequenceClassifier``."""
    data = cfg.data
    module = data.make_module(cfg.model, cfg.optim)
    if module is not None:
        return module
    return SequenceClassifier(data.input_size, data.output_size, cfg.model, cfg.optim,
                              data.make_loss(), data.make_metrics())


def train(cfg: RunConfig, callbacks: Sequence[pl.Callback] = (), progress_name: str | None = None) -> dict[str, float]:
    """Fit on the training split, keep the weights of the best validation epoch, score them on test.

    Args:
        cfg: the run's settings, with its DataModule.
        callbacks: extra Lightning callbacks (pruning, tracking).
        progress_name: show a per-epoch progress bar with this name; none when None.

    Returns:
        The best validation metrics (``best_val/...``), the test metrics of those weights
        (``test/...``), ``best_epoch``, ``epochs``, ``params``, ``seconds_per_epoch`` and
        ``seconds_to_best_epoch`` (training seconds up to and including the best epoch).
    """
    quiet_lightning()
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    data = cfg.data
    data.prepare_data()
    data.setup("fit")
    module = build_module(cfg)
    best = BestWeights(data.objective, data.direction)
    timer = EpochTimer()
    extra = [EpochProgress(progress_name)] if progress_name else []
    trainer = pl.Trainer(
        max_epochs=cfg.trainer.max_epochs,
        accelerator=cfg.trainer.accelerator,
        devices=cfg.trainer.devices,
        gradient_clip_val=cfg.trainer.gradient_clip_val or None,
        limit_train_batches=cfg.trainer.limit_train_batches,
        limit_val_batches=cfg.trainer.limit_eval_batches,
        limit_test_batches=cfg.trainer.limit_eval_batches,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[best, timer, *extra, *callbacks],
    )
    trainer.fit(module, datamodule=data)
    if best.state is None:
        raise RuntimeError(f"no validation epoch produced '{data.objective}'")
    module.load_state_dict(best.state)
    (test,) = trainer.test(module, datamodule=data, verbose=False)
    return {
        **{f"best_{key}": value for key, value in best.metrics.items()},
        **{key: float(value) for key, value in test.items()},
        "best_epoch": float(best.best_epoch),
        "epochs": float(len(timer.seconds)),
        "params": float(sum(p.numel() for p in module.parameters())),
        "seconds_per_epoch": statistics.median(timer.seconds) if timer.seconds else float("nan"),
        "seconds_to_best_epoch": sum(timer.seconds[: best.best_epoch + 1]),
    }
