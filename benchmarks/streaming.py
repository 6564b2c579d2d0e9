"""Streaming scoring against re-running the window: latency, throughput and test AUPRC, LSTM and GRU side by side.

Each cell is trained once on the fraud task's default data (quick: the test suite's tiny data), then
scored two ways: the windowed model over each transaction's last ``history`` transactions, and
``gatelab.streaming.StreamingScorer`` with one cell step per transaction and a state per card. Timings
are interleaved over both cells and both scorers in this one process.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from functools import partial

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import torch
from gatelab.training.costs import interleaved
from gatelab.training.experiment import load_experiment
from gatelab.training.module import SequenceClassifier
from gatelab.training.streaming import StreamingScorer
from gatelab.training.train import train
from torch import Tensor
from torchmetrics.functional.classification import binary_average_precision

from benchmarks.common import Figure, ratio_figure
from benchmarks.sweep_costs import QUICK_DATA
from tasks.fraud import FraudDataModule

__all__ = ["streaming_scoring"]

CELLS = ("lstm", "gru")


class _Keep(pl.Callback):
    """Keeps the trained module once it has been tested."""

    module: SequenceClassifier

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not isinstance(pl_module, SequenceClassifier):
            raise TypeError(f"the fraud task trains a SequenceClassifier, not a {type(pl_module).__name__}")
        self.module = pl_module


def _per_call(call: Callable[[int], object], calls: int, latencies: list[float], per: int = 1) -> float:
    """Time ``call(i)`` for ``i`` in ``range(calls)`` one by one, adding each one's seconds to ``latencies``;
    returns the mean seconds per call divided by ``per`` (the events each call scores)."""
    start = len(latencies)
    for number in range(calls):
        begin = time.perf_counter()
        call(number)
        latencies.append(time.perf_counter() - begin)
    return sum(latencies[start:]) / calls / per


def _inference(model: SequenceClassifier, windows: Tensor) -> Tensor:
    """The windowed model's probabilities for ``windows`` (batch, history, features)."""
    with torch.inference_mode():
        return model.score(windows)


def _percentile_ms(latencies: list[float], q: float) -> float:
    return float(np.percentile(latencies, q)) * 1000


def streaming_scoring(quick: bool = False) -> list[Figure]:
    """Per-event latency at batch 1 (p50, p99), events per second with many keys, and test AUPRC of both scorers."""
    epochs, keys, calls, repeats = (1, 256, 20, 2) if quick else (3, 4096, 300, 5)
    overrides = (QUICK_DATA if quick else {}) | {"trainer.max_epochs": epochs, "trainer.accelerator": "cpu"}
    models, streams, figures = {}, {}, []
    for cell in CELLS:
        run_cfg = load_experiment("fraud", overrides=overrides | {"model.cell": cell}).run()
        if not isinstance(run_cfg.data, FraudDataModule):
            raise TypeError(f"configs/fraud.yaml names {type(run_cfg.data).__name__}, not the FraudDataModule")
        keep = _Keep()
        train(run_cfg, [keep], test=True)
        model, data, history = keep.module.cpu().eval(), run_cfg.data.prepared, run_cfg.data.history
        test = data.tensors["test"]
        with torch.inference_mode():
            window = torch.cat([model.score(x) for x in test["x"].split(4096)])
        streamed = StreamingScorer(model, history).score_stream(data.cards.tolist(), data.events)[data.rows["test"]]
        for name, scores in (("window", window), ("stream", streamed)):
            auprc = float(binary_average_precision(scores, test["y"]))
            figures.append(Figure(f"streaming.{cell}_test_auprc_{name}", auprc, "AUPRC",
                                  note=f"{cell}, {epochs} epochs, history {history}, {len(scores)} test transactions"))
        models[cell], streams[cell] = model, StreamingScorer(model, history)

    cards = data.cards.numpy()
    young = pd.Series(cards).groupby(cards).cumcount().to_numpy()[data.rows["test"].numpy()] < history
    figures.append(Figure("streaming.test_within_history_share", float(young.mean()), "",
                          note="test transactions among their card's first `history`: streaming equals the window"))

    # Many keys past their history (one state each), fed real events; windows are real test windows.
    events = data.events[torch.randint(len(data.events), (keys,), generator=torch.Generator().manual_seed(0))]
    windows = data.tensors["test"]["x"]
    windows = windows[torch.arange(keys) % len(windows)]
    for scorer in streams.values():
        for _ in range(history):
            scorer.score(range(keys), events)
    latencies: dict[str, list[float]] = {}
    candidates: dict[str, Callable[[], float]] = {}
    for cell in CELLS:
        model, scorer = models[cell], streams[cell]
        one = {"stream": lambda i, scorer=scorer: scorer.score([i % keys], events[i % keys : i % keys + 1]),
               "window": lambda i, model=model: _inference(model, windows[i % keys : i % keys + 1])}
        many = {"stream": lambda _, scorer=scorer: scorer.score(range(keys), events),
                "window": lambda _, model=model: _inference(model, windows)}
        for name in ("stream", "window"):
            kept = latencies[f"{cell}.{name}"] = []
            candidates[f"{cell}.{name}.batch1"] = partial(_per_call, one[name], calls, kept)
            candidates[f"{cell}.{name}.many"] = partial(_per_call, many[name], 1, [], per=keys)
    seconds = interleaved(candidates, repeats)
    for cell in CELLS:
        for name in ("stream", "window"):
            kept = latencies[f"{cell}.{name}"]
            what = "one cell step on the key's state" if name == "stream" else f"the {history}-step window again"
            figures += [Figure(f"streaming.{cell}_{name}_p50_ms_batch1", _percentile_ms(kept, 50), "ms",
                               note=f"one event, {what}"),
                        Figure(f"streaming.{cell}_{name}_p99_ms_batch1", _percentile_ms(kept, 99), "ms"),
                        Figure(f"streaming.{cell}_{name}_events_per_s",
                               1 / statistics.median(seconds[f"{cell}.{name}.many"]), "events/s",
                               note=f"{keys} keys, one event each per call")]
        figures.append(ratio_figure(f"streaming.{cell}_stream_vs_window_events_ratio", seconds[f"{cell}.window.many"],
                                    seconds[f"{cell}.stream.many"], note="events/s, streaming / windowed"))
    return figures

