"""How sequences are built (``SequenceInputs``): the book's split-only histories, mean padding, no presence flag or
time feature, plain standardisation; gatelab's defaults unchanged."""

from __future__ import annotations

import numpy as np
import torch

from tasks.fraud.datamodule import _featurise, prepare_splits
from tasks.fraud.schema import AMOUNT
from tasks.fraud.sequences import SequenceInputs, history_index
from tasks.fraud.simulator import SimulatedSource
from tasks.fraud.splits import PrequentialSplit

SOURCE = SimulatedSource(n_customers=200, n_terminals=400, n_days=44, seed=1)
SPLIT = PrequentialSplit(warmup_days=14, train_days=5, delay_days=3, val_days=4, test_days=4,
                         folds=2).fold(0, test=True)
HISTORY, WINDOWS = 4, (1, 7, 30)
BOOK = SequenceInputs(sequences="split", padding="mean", presence_flag=False, time_since_previous=False,
                      scaling="standard")


def test_the_defaults_read_whole_histories_with_zero_padding_a_flag_and_the_time_feature() -> None:
    prepared = prepare_splits(SOURCE, SPLIT, HISTORY, WINDOWS)
    assert prepared.input_size == 15 + 1 + 1  # the handbook features, hours since the previous, the presence flag
    x = prepared.tensors["test"]["x"]
    padding = x[..., -1] == 0
    assert torch.all(x[padding] == 0) and torch.all(x[~padding][:, -1] == 1)
    rows = prepared.rows["test"].numpy()
    index = history_index(prepared.cards.numpy(), HISTORY)[rows]
    expected = torch.cat([prepared.events, torch.zeros(1, prepared.input_size)])[index]
    assert torch.equal(x, expected)  # the card's last 4 transactions over all the data


def test_the_books_inputs_read_the_splits_own_rows_padded_with_its_mean() -> None:
    prepared = prepare_splits(SOURCE, SPLIT, HISTORY, WINDOWS, inputs=BOOK)
    assert prepared.input_size == 15
    whole = prepare_splits(SOURCE, SPLIT, HISTORY, WINDOWS)
    for name in ("train", "val", "test"):
        rows = prepared.rows[name].numpy()
        steps = prepared.events[rows]
        local = history_index(prepared.cards.numpy()[rows], HISTORY)
        expected = torch.where(torch.from_numpy(local >= 0)[..., None], steps[np.maximum(local, 0)], steps.mean(dim=0))
        assert torch.allclose(prepared.tensors[name]["x"], expected, atol=1e-5)
        # a card's first transactions in the split are padded although the card has earlier ones
        assert (local < 0).sum() > (whole.tensors[name]["x"][..., -1] == 0).sum()
    train = prepared.events[prepared.rows["train"]]
    assert torch.allclose(train.mean(dim=0), torch.zeros(15), atol=1e-4)  # standardised on the training rows


def test_standard_scaling_keeps_the_amount_linear_and_log_standard_does_not() -> None:
    amount = _featurise(SOURCE, HISTORY, WINDOWS, SPLIT.delay_days, True).frame[AMOUNT].to_numpy()
    standard = prepare_splits(SOURCE, SPLIT, HISTORY, WINDOWS, inputs=BOOK).events[:, 0].numpy()
    logged = prepare_splits(SOURCE, SPLIT, HISTORY, WINDOWS).events[:, 0].numpy()
    assert np.corrcoef(standard, amount)[0, 1] > 0.99999
    assert np.corrcoef(logged, amount)[0, 1] < 0.99
