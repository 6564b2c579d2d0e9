"""Item 1: gatelab training, fully tracked in MLflow, against a bare PyTorch loop on the same model and data."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import torch
from gatelab.models import ModelConfig, SequenceModel
from gatelab.settings import OptimConfig, TrainerConfig
from gatelab.tracking.client import Tracker
from gatelab.tracking.loggers import run_loggers
from gatelab.training.config import RunConfig
from gatelab.training.costs import interleaved
from gatelab.training.train import train
from torch import nn

from benchmarks.common import Figure, ratio_figure
from benchmarks.synthetic import SyntheticTask

__all__ = ["tracking_overhead"]

LR, CLIP = 1e-3, 1.0
# In the task configs' search range (128-512); the smaller the batch, the more Lightning's fixed cost per step weighs.
BATCH = 128


def bare_loop(data: SyntheticTask, model: ModelConfig, epochs: int) -> float:
    """Median seconds per epoch of a plain loop: shuffled tensor rows, forward, loss, backward, clip, Adam."""
    torch.manual_seed(0)
    net = SequenceModel(data.input_size, 1, model)
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)
    loss_fn = nn.BCEWithLogitsLoss()
    x, y = data.prepared["train"]["x"], data.prepared["train"]["y"]
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(x))
        for first in range(0, len(x), data.batch_size):
            rows = order[first : first + data.batch_size]
            logits, _ = net(x[rows])
            loss = loss_fn(logits[:, -1, 0], y[rows].float())
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), CLIP)
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def gatelab_run(data: SyntheticTask, model: ModelConfig, epochs: int, tracker: Tracker | None) -> float:
    """Median seconds per training epoch of ``gatelab.train``, tracked in MLflow when ``tracker`` is given."""
    run = RunConfig(task="bench", data=data, model=model, optim=OptimConfig(lr=LR),
                    trainer=TrainerConfig(max_epochs=epochs, gradient_clip_val=CLIP))
    if tracker is None:
        return train(run, test=False)["seconds_per_epoch"]
    run_id = tracker.start_run("bench", {"gatelab.task": "bench", "gatelab.cell": model.cell})
    metrics = train(run, run_loggers(tracker, run_id), test=False)
    tracker.end_run(run_id, "FINISHED")
    return metrics["seconds_per_epoch"]


def tracking_overhead(quick: bool = False) -> list[Figure]:
    """Training throughput of gatelab (per-step loss and per-epoch metrics to MLflow) over a bare loop's."""
    sequences, length, epochs, repeats = (256, 16, 2, 1) if quick else (4096, 64, 3, 3)
    data = SyntheticTask(sequences=sequences, length=length, batch_size=BATCH)
    model = ModelConfig(cell="gru", hidden_size=64)
    with tempfile.TemporaryDirectory() as store:
        tracker = Tracker(Path(store), "bench")
        seconds = interleaved({
            "bare": lambda: bare_loop(data, model, epochs),
            "tracked": lambda: gatelab_run(data, model, epochs, tracker),
            "untracked": lambda: gatelab_run(data, model, epochs, None),
        }, repeats)
    size = f"GRU 64, {sequences} seqs x {length} steps, batch {BATCH}, {epochs} epochs"
    return [
        ratio_figure("tracking.gatelab_vs_bare_throughput_ratio", seconds["bare"], seconds["tracked"], at_least=0.97,
                     note=f"gatelab + MLflow (per-step loss) / bare loop; {size}"),
        ratio_figure("tracking.untracked_vs_bare_throughput_ratio", seconds["bare"], seconds["untracked"],
                     note="gatelab without MLflow / bare loop"),
        Figure("tracking.bare_sequences_per_s", sequences / statistics.median(seconds["bare"]), "seq/s"),
        Figure("tracking.gatelab_sequences_per_s", sequences / statistics.median(seconds["tracked"]), "seq/s"),
    ]
