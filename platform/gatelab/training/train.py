"""``train(cfg) -> metrics``: the one function the CLI, the Optuna objective and the tests call."""

from __future__ import annotations

import logging
import os
import signal
import socket
import statistics
import warnings
from collections.abc import Sequence
from typing import Any

import lightning.pytorch as pl
import torch
import torch.multiprocessing
from lightning.fabric.plugins.environments import LightningEnvironment
from optuna_integration import PyTorchLightningPruningCallback

from gatelab.settings import TrainerConfig
from gatelab.training.callbacks import BestWeights, EpochProgress, EpochTimer
from gatelab.training.config import RunConfig

__all__ = ["lightning_trainer", "quiet_lightning", "train"]


def quiet_lightning() -> None:
    """Silence Lightning's start-up chatter and hints that say nothing about the run itself."""
    # pytorch_lightning: the standalone package's loggers, which importing mlflow.pytorch brings in.
    for name in ("lightning.pytorch", "lightning.fabric", "lightning.pytorch.utilities.rank_zero",
                 "pytorch_lightning", "pytorch_lightning.utilities.rank_zero"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=r".*(LeafSpec|treespec).*")
    warnings.filterwarnings("ignore", message=r".*The `srun` command is available.*")  # runs make their own processes
    # Under DDP the metrics are already gathered by torchmetrics (and the loss logged with sync_dist).
    warnings.filterwarnings("ignore", message=r".*It is recommended to use `self.log\(.*sync_dist=True.*")


def train(cfg: RunConfig, callbacks: Sequence[pl.Callback] = (), progress_name: str | None = None,
          pruning: PyTorchLightningPruningCallback | None = None, *, test: bool) -> dict[str, float]:
    """Fit on the training split, keep the weights of the best validation epoch, and score them on test if asked.

    A search's trials pass ``test=False``: they see the validation split only, so nothing can be
    chosen by its test score; a selection seed (or a single ``gatelab train`` run) passes ``test=True``.

    With ``trainer.devices`` above 1 the run uses Lightning's DDP over that many fresh processes
    (gloo on CPUs, NCCL on GPUs), started here and gone when it ends, so a long-lived caller (a
    sweep's worker) can train one run after another. Their callbacks are copies: only rank 0 logs;
    the pruning callback's decision is read back afterwards (``check_pruned``, Optuna's way for DDP).

    Args:
        cfg: the run's settings, with its DataModule.
        callbacks: extra Lightning callbacks (tracking).
        progress_name: show a per-epoch progress bar with this name; none when None.
        pruning: Optuna's pruning callback of the trial this run is, if any.
        test: score the best epoch's weights on the test split.

    Returns:
        The best validation metrics (``best_val/...``), the test metrics of those weights
        (``test/...``, only with ``test``), ``best_epoch``, ``epochs``, ``params``, ``seconds_per_epoch`` and
        ``seconds_to_best_epoch`` (training seconds up to and including the best epoch).
    """
    callbacks = [*callbacks, *([pruning] if pruning is not None else [])]
    processes = cfg.trainer.devices if isinstance(cfg.trainer.devices, int) else 1
    if processes == 1:
        return _fit_and_test(cfg, callbacks, progress_name, test)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    results = torch.multiprocessing.get_context("spawn").SimpleQueue()
    try:
        torch.multiprocessing.start_processes(_rank, args=(processes, port, cfg, list(callbacks), progress_name, test,
                                                           results),
                                              nprocs=processes, start_method="spawn")
    except torch.multiprocessing.ProcessRaisedException as error:  # its message holds the process's traceback
        if not results.empty():
            raise results.get() from error
        raise
    metrics = results.get()
    if pruning is not None:
        pruning.check_pruned()
    return metrics


def _rank(rank: int, processes: int, port: int, cfg: RunConfig, callbacks: list[pl.Callback],
          progress_name: str | None, test: bool, results: Any) -> None:
    """One DDP process: rank 0 sends back its metrics, or the exception that stopped it."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(processes), NODE_RANK="0",
                      LOCAL_RANK=str(rank))
    try:
        metrics = _fit_and_test(cfg, callbacks, progress_name if rank == 0 else None, test, distributed=True)
    except BaseException as error:
        if rank == 0:
            results.put(error)
        raise
    finally:
        _leave_process_group()
    if rank == 0:
        results.put(metrics)


def _leave_process_group() -> None:
    """Close this process's DDP process group before it exits.

    Lightning leaves the group open; a process that exits with gloo's threads still running can
    abort at exit ("terminate called without an active exception"), which fails the whole run.
    """
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def lightning_trainer(settings: TrainerConfig, callbacks: Sequence[pl.Callback] = (), *, distributed: bool = False,
                      **changes: Any) -> pl.Trainer:
    """The one place a run's trainer settings become a ``pl.Trainer``.

    gatelab's runs log through their own callbacks and keep their best weights in memory: no Lightning logger,
    checkpoint, progress bar, model summary or sanity validation.

    Args:
        settings: the run's trainer settings.
        callbacks: the run's callbacks.
        distributed: this process is one of a DDP run's (``train`` started them); else the run uses one device.
        changes: ``pl.Trainer`` arguments that replace these (a benchmark's loop, e.g. ``limit_val_batches=0``).
    """
    arguments: dict[str, Any] = {
        "max_epochs": settings.max_epochs,
        "accelerator": settings.accelerator,
        "devices": settings.devices if distributed else 1,
        "strategy": "ddp" if distributed else "auto",
        # A DDP run's processes exist already (``train`` started them): Lightning joins them. Inside a
        # Slurm job the run still makes its own processes, not the job's tasks.
        "plugins": [LightningEnvironment()],
        "gradient_clip_val": settings.gradient_clip_val or None,
        "limit_train_batches": settings.limit_train_batches,
        "limit_val_batches": settings.limit_eval_batches,
        "limit_test_batches": settings.limit_eval_batches,
        "num_sanity_val_steps": 0,
        # fixed epochs (the last epoch's weights): validate once, at the end
        "check_val_every_n_epoch": settings.max_epochs if settings.weights == "last" else 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "callbacks": list(callbacks),
    }
    return pl.Trainer(**(arguments | changes))


def _fit_and_test(cfg: RunConfig, callbacks: Sequence[pl.Callback], progress_name: str | None, test: bool,
                  distributed: bool = False) -> dict[str, float]:
    """``train``'s work in one process (one of several when ``distributed``)."""
    quiet_lightning()
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    data = cfg.data
    data.prepare_data()
    data.setup("fit")
    module = data.make_module(cfg.model, cfg.optim)
    best = BestWeights(data.objective, data.direction)
    timer = EpochTimer()
    extra = [EpochProgress(progress_name)] if progress_name else []
    trainer = lightning_trainer(cfg.trainer, [best, timer, *extra, *callbacks], distributed=distributed)
    try:
        trainer.fit(module, datamodule=data)
    except SystemExit:
        if not trainer.interrupted:
            raise
        # Lightning ends a Ctrl-C with sys.exit(1) after its own shutdown (and ignores SIGINT from then
        # on): hand the interrupt on, so that the caller closes its runs as killed and says how to resume.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        raise KeyboardInterrupt from None
    if best.state is None or best.best_epoch is None:
        raise RuntimeError(f"no validation epoch produced '{data.objective}'")
    if cfg.trainer.weights == "best":  # else the last epoch's (trainer.weights)
        module.load_state_dict(best.state)
    scores = trainer.test(module, datamodule=data, verbose=False)[0] if test else {}
    return {
        **{f"best_{key}": value for key, value in best.metrics.items()},
        **{key: float(value) for key, value in scores.items()},
        "best_epoch": float(best.best_epoch),
        "epochs": float(len(timer.seconds)),
        "params": float(sum(p.numel() for p in module.parameters())),
        "seconds_per_epoch": statistics.median(timer.seconds) if timer.seconds else float("nan"),
        "seconds_to_best_epoch": sum(timer.seconds[: best.best_epoch + 1]),
    }
