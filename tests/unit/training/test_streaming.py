"""StreamingScorer: one cell step per event, equal to the windowed model while a key has at most `history` events."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from gatelab.errors import ConfigError
from gatelab.models import CELLS, ModelConfig
from gatelab.settings import OptimConfig
from gatelab.training.module import SequenceClassifier
from gatelab.training.streaming import StreamingScorer
from torch import Tensor, nn
from torchmetrics import MetricCollection

from tasks.fraud import FraudDataModule, SimulatedSource
from tasks.fraud.sequences import history_index
from tasks.fraud.splits import TimeSplit

FEATURES, HISTORY = 5, 4


def classifier(cell: str, input_size: int = FEATURES, **model: object) -> SequenceClassifier:
    torch.manual_seed(0)
    config = ModelConfig(cell=cell, hidden_size=6, **({"num_layers": 2, "dropout": 0.3} | model))
    return SequenceClassifier(input_size, 1, config, OptimConfig(), nn.BCEWithLogitsLoss(), MetricCollection({}))


def windowed(model: SequenceClassifier, events: Tensor, n: int, history: int | None) -> Tensor:
    """The windowed model's score of a key's n-th event: its last `history` events, zero-padded on the left."""
    seen = events[max(0, n - history):n] if history else events[:n]
    padding = torch.zeros(history - len(seen), events.shape[1]) if history else events[:0]
    with torch.inference_mode():
        return model.score(torch.cat([padding, seen]).unsqueeze(0))[0]


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_streaming_equals_the_window_up_to_history_then_the_whole_past(cell: str) -> None:
    model = classifier(cell)
    scorer = StreamingScorer(model, history=HISTORY)
    lengths = {"a": 1, "b": 3, "c": HISTORY, "d": 9}  # keys with fewer, as many and more events than the window
    generator = torch.Generator().manual_seed(1)
    events = {key: torch.randn(length, FEATURES, generator=generator) for key, length in lengths.items()}
    streamed: dict[str, list[Tensor]] = {key: [] for key in lengths}
    for step in range(max(lengths.values())):  # interleaved: every key with an event left, one call per step
        keys = [key for key, length in lengths.items() if step < length]
        scores = scorer.score(keys, torch.stack([events[key][step] for key in keys]))
        for key, score in zip(keys, scores):
            streamed[key].append(score)
    assert model.training is False and len(scorer) == len(lengths)
    for key, scores in streamed.items():
        for n, score in enumerate(scores, start=1):
            expected = windowed(model, events[key], n, HISTORY if n <= HISTORY else None)
            assert score == pytest.approx(expected.item(), abs=1e-5), (key, n)
    beyond = windowed(model, events["d"], 9, HISTORY)
    assert streamed["d"][-1] != pytest.approx(beyond.item(), abs=1e-5), "past history the window sees less"


@pytest.mark.parametrize("cell", ["lstm", "minlstm"])
def test_without_history_every_key_starts_from_the_zero_state(cell: str) -> None:
    model = classifier(cell, num_layers=1, dropout=0.0)
    scorer = StreamingScorer(model)
    events = torch.randn(6, FEATURES)
    scores = scorer.score_stream(["k"] * 6, events)
    assert scores.tolist() == pytest.approx([windowed(model, events, n, None).item() for n in range(1, 7)], abs=1e-5)


def test_forgotten_keys_start_again_and_a_call_takes_each_key_once() -> None:
    model = classifier("gru")
    scorer = StreamingScorer(model, history=HISTORY)
    events = torch.randn(3, FEATURES)
    first = scorer.score(["x", "y"], events[:2])
    scorer.score(["x"], events[2:])
    scorer.forget(["x", "never-seen"])
    assert len(scorer) == 1
    assert scorer.score(["x"], events[:1]) == pytest.approx(first[0].item(), abs=1e-6)
    with pytest.raises(ValueError, match="a key comes twice"):
        scorer.score(["x", "x"], events[:2])


def test_bidirectional_models_are_refused() -> None:
    with pytest.raises(ConfigError, match="model.bidirectional: a bidirectional model .* cannot score events one at a"):
        StreamingScorer(classifier("gru", bidirectional=True), history=HISTORY)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_fraud_events_stream_to_the_windows_scores(cell: str) -> None:
    """On real (simulated) fraud data: every transaction among its card's first `history`, warm-up days included."""
    data = FraudDataModule(source=SimulatedSource(n_customers=150, n_terminals=300, n_days=52, seed=1),
                           split=TimeSplit(warmup_days=31, train_days=7, delay_days=7, val_days=3, test_days=3),
                           history=HISTORY)
    data.setup()
    prepared = data.data
    cards = prepared.cards.numpy()
    windows = torch.cat([prepared.events, torch.zeros(1, prepared.input_size)])[history_index(cards, HISTORY)]
    for name in ("train", "val", "test"):  # the events are the steps the task's windows hold
        assert torch.equal(windows[prepared.rows[name]], prepared.tensors[name]["x"])
    kept = torch.from_numpy(np.isin(cards, np.unique(cards)[:50]))  # 50 cards' streams, for speed
    cards, events, windows = cards[kept.numpy()], prepared.events[kept], windows[kept]
    model = classifier(cell, input_size=prepared.input_size)
    streamed = StreamingScorer(model, history=HISTORY).score_stream(cards.tolist(), events)
    young = torch.from_numpy(pd.Series(cards).groupby(cards).cumcount().to_numpy() < HISTORY)
    with torch.inference_mode():
        expected = model.score(windows[young])
    assert int(young.sum()) > 150 and (~young).any()
    assert streamed[young] == pytest.approx(expected, abs=1e-5)
