"""MLflow bookkeeping: the store, one experiment per task, parent and child runs, tags."""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from jsonargparse import Namespace
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.exceptions import MlflowException
from mlflow.utils.time import get_current_time_millis

from gatelab.storage import redact

__all__ = ["FIGURES", "ROLE_TAG", "EpochMetricsLogger", "FigureLogger", "StepLossLogger", "Tracker", "flatten",
           "git_sha", "run_loggers", "run_params", "tracking_uri"]

PARENT_TAG = "mlflow.parentRunId"
ROLE_TAG = "gatelab.role"
FIGURES = "figures"
"""The artifact folder of a run's figures."""
# MLflow caps a param value's length; longer values are cut rather than refused.
_MAX_PARAM = 6000
# MLflow's limit of metrics per log_batch call.
_MAX_METRICS = 1000

for _name in ("alembic", "mlflow.store.db.utils"):
    logging.getLogger(_name).setLevel(logging.WARNING)


def tracking_uri(store: Path) -> str:
    """``MLFLOW_TRACKING_URI`` if set, else a SQLite database in ``store``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{store.resolve() / 'mlflow.db'}"


@functools.cache
def git_sha() -> str:
    """The source's commit, with ``-dirty`` when it has uncommitted changes; ``unknown`` outside git.

    Read once per process: two ``git`` calls per trial would add to every trial's start-up.
    """
    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def run_params(cfg: Namespace) -> dict[str, Any]:
    """A run's params: its config flattened, without the sweep's settings and search space."""
    params = cfg.clone()
    for key in ("search_space", "sweep"):
        del params[key]
    return flatten(params.as_dict())


class Tracker:
    """One task's MLflow experiment, with its artifacts under ``store/artifacts``."""

    def __init__(self, store: Path, task: str) -> None:
        store.mkdir(parents=True, exist_ok=True)
        self.client = MlflowClient(tracking_uri(store))
        # Asynchronous logging runs on one worker thread of ours rather than through MLflow's async
        # queue: ending a run shuts that queue down, which waits on its polling thread (~0.5 s a run).
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gatelab-mlflow")
        self._pending: dict[str, list[Future[None]]] = {}
        name = f"gatelab-{task}"
        experiment = self.client.get_experiment_by_name(name)
        if experiment is None:
            # A tracking server keeps the artifacts itself; a local store keeps them beside its database.
            remote = self.client.tracking_uri.startswith(("http://", "https://"))
            artifacts = None if remote else (store.resolve() / "artifacts").as_uri()
            try:
                self.experiment_id = self.client.create_experiment(name, artifact_location=artifacts)
            except MlflowException:  # another worker created it first
                self.experiment_id = self.client.get_experiment_by_name(name).experiment_id
        else:
            self.experiment_id = experiment.experiment_id

    def find_parent(self, sweep_id: str) -> str | None:
        """The run id of a sweep's parent run, if the sweep ran before."""
        runs = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`gatelab.sweep` = '{sweep_id}' and tags.`{ROLE_TAG}` = 'sweep'",
            max_results=1,
        )
        return runs[0].info.run_id if runs else None

    def start_run(self, name: str, tags: Mapping[str, str], params: Mapping[str, Any] = {},
                  parent: str | None = None) -> str:
        """Create a run with its tags and params in one batch; returns its id."""
        all_tags = {key: redact(str(value)) for key, value in tags.items()} | ({PARENT_TAG: parent} if parent else {})
        run = self.client.create_run(self.experiment_id, run_name=name, tags=all_tags)
        self.log_params(run.info.run_id, params)
        return run.info.run_id

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Log params in batches of 100 (MLflow's limit per call), with any password in a URL redacted."""
        items = [Param(key, redact(str(value))[:_MAX_PARAM]) for key, value in params.items()]
        for start in range(0, len(items), 100):
            self.client.log_batch(run_id, params=items[start : start + 100])

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int = 0,
                    synchronous: bool = True) -> None:
        """Log several metrics at one step in one call."""
        now = get_current_time_millis()
        self._log_batch(run_id, [Metric(key, float(value), now, step) for key, value in metrics.items()], synchronous)

    def log_series(self, run_id: str, key: str, values: Sequence[float], steps: Sequence[int],
                   timestamps: Sequence[int]) -> None:
        """Log many points of one metric asynchronously, in as few calls as MLflow allows."""
        points = [Metric(key, value, time, step) for value, step, time in zip(values, steps, timestamps)]
        for start in range(0, len(points), _MAX_METRICS):
            self._log_batch(run_id, points[start : start + _MAX_METRICS], synchronous=False)

    def _log_batch(self, run_id: str, metrics: list[Metric], synchronous: bool) -> None:
        if synchronous:
            self.client.log_batch(run_id, metrics=metrics)
        else:
            self._pending.setdefault(run_id, []).append(self._worker.submit(self.client.log_batch, run_id, metrics))

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set tags, with any password in a URL redacted."""
        self.client.log_batch(run_id, tags=[RunTag(key, redact(str(value))) for key, value in tags.items()])

    def wait(self, run_id: str) -> None:
        """Wait until a run's asynchronous logging has reached the store."""
        for pending in self._pending.pop(run_id, []):
            pending.result()

    def end_run(self, run_id: str, status: str) -> None:
        """Close a run as ``FINISHED``, ``FAILED`` or ``KILLED``, after its pending async logging."""
        self.wait(run_id)
        self.client.set_terminated(run_id, status=status)

    def __getstate__(self) -> dict[str, Any]:
        """A copy for another process (DDP): the same store and experiment, a client and logging thread of its own."""
        return {"uri": self.client.tracking_uri, "experiment_id": self.experiment_id}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.client, self.experiment_id = MlflowClient(state["uri"]), state["experiment_id"]
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gatelab-mlflow")
        self._pending = {}

    def copy_artifacts(self, source: str, target: str, path: str, dest: str) -> None:
        """Copy the artifact folder ``path`` of run ``source`` to folder ``dest`` of run ``target``, if it exists."""
        if not self.client.list_artifacts(source, path):
            return
        with tempfile.TemporaryDirectory() as temp:
            self.client.log_artifacts(target, self.client.download_artifacts(source, path, temp), dest)

    def reopen(self, run_id: str) -> None:
        self.client.update_run(run_id, status=RunStatus.to_string(RunStatus.RUNNING))

    def children(self, parent: str, status: str | None = None) -> list[Any]:
        """The child runs of a parent run, only those with ``status`` (e.g. ``RUNNING``) if given."""
        where = f"tags.`{PARENT_TAG}` = '{parent}'" + (f" and attributes.status = '{status}'" if status else "")
        return self.client.search_runs([self.experiment_id], filter_string=where, max_results=10000)


class EpochMetricsLogger(pl.Callback):
    """Logs each epoch's train and validation metrics to one MLflow run, one batch per epoch, asynchronously."""

    def __init__(self, tracker: Tracker, run_id: str) -> None:
        self.tracker, self.run_id = tracker, run_id

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        metrics = {key: value.item() for key, value in trainer.callback_metrics.items() if value.numel() == 1}
        self.tracker.log_metrics(self.run_id, metrics, step=trainer.current_epoch, synchronous=False)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.tracker.wait(self.run_id)  # a DDP process may end right after fitting


class FigureLogger(pl.Callback):
    """Logs the DataModule's figures of the test metrics (``SequenceDataModule.figures``) on one MLflow run."""

    def __init__(self, tracker: Tracker, run_id: str) -> None:
        self.tracker, self.run_id = tracker, run_id

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        arrays = {key: value for key, value in getattr(pl_module, "arrays", {}).items() if key.startswith("test/")}
        for name, figure in trainer.datamodule.figures(arrays).items():
            self.tracker.client.log_figure(self.run_id, figure, f"{FIGURES}/{name}")


class StepLossLogger(pl.Callback):
    """Logs every training step's loss to one MLflow run without a host sync per step.

    The losses stay on the device; every ``flush_every`` steps, at the end of each epoch and when
    training stops on an exception (a pruned trial), they are copied to the host in one transfer and
    sent as one asynchronous batch. Each point keeps the wall time of its own step.

    Args:
        tracker: the task's MLflow experiment.
        run_id: the run to log to.
        flush_every: steps per transfer and MLflow batch.
    """

    #: the metric's name; its step is the number of optimiser steps done.
    key = "train/step_loss"

    def __init__(self, tracker: Tracker, run_id: str, flush_every: int = 100) -> None:
        self.tracker, self.run_id, self.flush_every = tracker, run_id, flush_every
        self._losses: list[torch.Tensor] = []
        self._steps: list[int] = []
        self._times: list[int] = []

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any,
                           batch: Any, batch_idx: int) -> None:
        loss = outputs.get("loss") if isinstance(outputs, Mapping) else outputs
        if not isinstance(loss, torch.Tensor) or not trainer.is_global_zero:
            return
        self._losses.append(loss.detach())
        self._steps.append(trainer.global_step)
        self._times.append(get_current_time_millis())
        if len(self._losses) >= self.flush_every:
            self.flush()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.flush()

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.tracker.wait(self.run_id)

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self.flush()

    def flush(self) -> None:
        """Send the buffered losses (one device-to-host copy, one asynchronous MLflow batch)."""
        if not self._losses:
            return
        values = torch.stack(self._losses).float().tolist()
        self.tracker.log_series(self.run_id, self.key, values, self._steps, self._times)
        self._losses, self._steps, self._times = [], [], []


def run_loggers(tracker: Tracker, run_id: str) -> list[pl.Callback]:
    """The callbacks that track one training run: per-epoch metrics, per-step loss, the task's figures."""
    return [EpochMetricsLogger(tracker, run_id), StepLossLogger(tracker, run_id), FigureLogger(tracker, run_id)]
