"""card_fraction: training on a deterministic, nested fraction of the cards; validation and test untouched."""

from __future__ import annotations

import pytest
import torch
from gatelab.errors import ConfigError, DataError

from tasks.fraud import FraudDataModule, SimulatedSource
from tasks.fraud.datamodule import keep_cards
from tasks.fraud.splits import TimeSplit

SOURCE = SimulatedSource(n_customers=150, n_terminals=300, n_days=52, seed=1)
SPLIT = TimeSplit(warmup_days=31, train_days=7, delay_days=7, val_days=3, test_days=3)


def _prepared(fraction: float):
    data = FraudDataModule(source=SOURCE, split=SPLIT, history=4, card_fraction=fraction)
    data.setup("fit")
    return data.prepared


def test_a_fraction_keeps_whole_cards_of_the_training_split_nested_and_leaves_validation_and_test() -> None:
    full, half, quarter = _prepared(1.0), _prepared(0.5), _prepared(0.25)
    cards = {name: set(prepared.tensors["train"]["card"].tolist()) for name, prepared in
             (("full", full), ("half", half), ("quarter", quarter))}
    assert cards["quarter"] < cards["half"] < cards["full"]
    assert 0.3 < len(cards["half"]) / len(cards["full"]) < 0.7
    kept = torch.isin(full.tensors["train"]["card"], torch.tensor(sorted(cards["half"])))
    assert torch.equal(half.tensors["train"]["x"], full.tensors["train"]["x"][kept])  # every row of a kept card
    for split in ("val", "test"):
        assert torch.equal(half.tensors[split]["x"], full.tensors[split]["x"])
    assert half.report["data.train_card_fraction"] == 0.5


def test_a_fraction_outside_zero_to_one_or_without_frauds_left_is_refused() -> None:
    with pytest.raises(ConfigError, match="card_fraction=0"):
        FraudDataModule(source=SOURCE, split=SPLIT, card_fraction=0.0)
    with pytest.raises(DataError, match="card_fraction=0.001.*raise card_fraction"):
        keep_cards(_prepared(1.0), 0.001)
