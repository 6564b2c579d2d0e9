"""R5, GRU for low-latency deployment: streaming per-event latency at batch 1, interleaved."""

from __future__ import annotations

import numpy as np
from gatelab.models import ModelConfig
from gatelab.settings import OptimConfig
from gatelab.tracking.model_registry import load_saved_model
from gatelab.tracking.serving import run_classifier
from gatelab.training.module import SequenceClassifier
from gatelab.training.streaming import StreamingScorer
from torch import nn
from torchmetrics import MetricCollection

from claims.evidence import (
    Finding,
    round_ratio_effect,
)
from claims.lab import SweepSpec
from claims.measure import (
    streaming_rounds,
)
from claims.rules.context import CELLS, RuleContext


def plan_latency(events: int, rounds: int) -> list[SweepSpec]:
    return [SweepSpec.of("fraud")]


def gru_for_low_latency(ctx: RuleContext, events: int, rounds: int) -> list[Finding]:
    """Streaming per-event latency at batch 1, GRU over LSTM: at the sizes the fraud sweep chose, and at equal size."""
    outcome = ctx.sweep(SweepSpec.of("fraud"))
    client = ctx.tracker.client
    chosen = {cell: run_classifier("fraud", client, outcome.cell(cell)["model_run"])[0] for cell in CELLS}
    _, example = load_saved_model(ctx.tracker, outcome.cell("lstm")["model_run"])
    stream = example.reshape(-1, example.shape[-1])
    lstm = chosen["lstm"].net
    equal = SequenceClassifier(lstm.encoder.in_features, lstm.head.out_features,
                               ModelConfig(cell="gru", hidden_size=lstm.cfg.hidden_size), OptimConfig(), nn.Identity(),
                               MetricCollection({}))
    scorers = {"lstm": StreamingScorer(chosen["lstm"]), "gru": StreamingScorer(chosen["gru"]),
               "gru_equal_size": StreamingScorer(equal)}
    measured = streaming_rounds(scorers, stream, events, rounds)
    medians = {name: [float(np.median(values)) for values in per_round] for name, per_round in measured.items()}
    numbers = {}
    for name, per_round in measured.items():
        every = np.concatenate(per_round)
        numbers |= {f"{name} p50 ms": float(np.percentile(every, 50)),
                    f"{name} p99 ms": float(np.percentile(every, 99))}
    ctx.log({key.replace(" ", "."): value for key, value in numbers.items()})
    sizes = {cell: chosen[cell].net.cfg.hidden_size for cell in CELLS}
    what = f"{events * rounds} events per model over {rounds} rounds, one key, batch 1"
    return [ctx.finding("R5", f"fraud: streaming p50 latency per event GRU / LSTM, sizes the sweep chose (hidden LSTM "
                              f"{sizes['lstm']}, GRU {sizes['gru']})",
                        round_ratio_effect(medians["gru"], medians["lstm"], ctx.confidence), outcome.runs, what,
                        numbers),
            ctx.finding("R5", f"fraud: streaming p50 latency per event GRU / LSTM, equal size (hidden {sizes['lstm']})",
                        round_ratio_effect(medians["gru_equal_size"], medians["lstm"], ctx.confidence), outcome.runs,
                        what)]
