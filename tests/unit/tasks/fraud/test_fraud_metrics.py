"""Card precision@k: hand-made numbers under both rules, the book's code, and a MetricCollection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torchmetrics import MetricCollection
from torchmetrics.classification import BinaryAUROC, BinaryAveragePrecision

from tasks.fraud.metrics import CardPrecisionAtK, card_precision_at_k

# day 0: card 1 max 0.9 (fraud), card 2 0.8 (no), card 3 0.7 (fraud) -> top 2 = {1, 2}: 1/2; card 1 detected
# day 1: card 1 0.95 (fraud), card 3 0.6 (fraud), card 4 0.5 (no) -> drop rule: {3, 4}: 1/2; without: {1, 3}: 2/2
# day 2: only card 5 (fraud) -> 1/k = 1/2 under both rules
PREDS = [0.9, 0.1, 0.8, 0.7, 0.95, 0.6, 0.5, 0.3]
TARGET = [0, 1, 0, 1, 1, 1, 0, 1]
CARD = [1, 1, 2, 3, 1, 3, 4, 5]
DAY = [0, 0, 0, 0, 1, 1, 1, 2]


def hand_tensors() -> tuple[torch.Tensor, ...]:
    return torch.tensor(PREDS), torch.tensor(TARGET), torch.tensor(CARD), torch.tensor(DAY)


@pytest.mark.parametrize(("drop_detected", "expected"), [(True, 0.5), (False, 2 / 3)])
def test_hand_made_numbers(drop_detected: bool, expected: float) -> None:
    metric = CardPrecisionAtK(k=2, drop_detected=drop_detected)
    metric.update(*hand_tensors())
    value = metric.compute()
    assert value.ndim == 0 and value.dtype == torch.float32
    assert value.item() == pytest.approx(expected)


def test_batches_and_row_order_do_not_matter() -> None:
    preds, target, card, day = hand_tensors()
    order = torch.tensor([7, 3, 0, 5, 1, 6, 2, 4])
    metric = CardPrecisionAtK(k=2)
    for rows in order.split(3):
        metric.update(preds[rows], target[rows], card[rows], day[rows])
    assert metric.compute().item() == pytest.approx(0.5)


def test_ties_go_to_the_lower_card_id() -> None:
    value = card_precision_at_k(torch.tensor([0.5, 0.5, 0.5]), torch.tensor([0, 1, 0]), torch.tensor([9, 4, 7]),
                                torch.tensor([0, 0, 0]), k=1)
    assert value.item() == 1.0


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        CardPrecisionAtK(k=2).update(torch.rand(3), torch.zeros(3), torch.zeros(2), torch.zeros(3))


def book_card_precision(frame: pd.DataFrame, top_k: int, remove_detected: bool) -> float:
    """The book's ``card_precision_top_k`` (Chapter 4), restated on a small frame."""
    detected: list[int] = []
    daily = []
    for day in sorted(frame["day"].unique()):
        today = frame[(frame["day"] == day) & ~frame["card"].isin(detected)]
        per_card = today.groupby("card")[["preds", "target"]].max().sort_values("preds", ascending=False)
        top = per_card.head(top_k)
        hits = list(top.index[top["target"] == 1])
        daily.append(len(hits) / top_k)
        if remove_detected:
            detected.extend(hits)
    return float(np.mean(daily))


@pytest.mark.parametrize("drop_detected", [True, False])
def test_agrees_with_the_books_code_on_random_data(drop_detected: bool) -> None:
    rng = np.random.default_rng(7)
    n = 3000
    frame = pd.DataFrame({"preds": rng.random(n), "target": (rng.random(n) < 0.2).astype(int),
                          "card": rng.integers(0, 300, n), "day": rng.integers(0, 10, n)})
    metric = CardPrecisionAtK(k=20, drop_detected=drop_detected)
    metric.update(*(torch.tensor(frame[c].to_numpy()) for c in ("preds", "target", "card", "day")))
    assert metric.compute().item() == pytest.approx(book_card_precision(frame, 20, drop_detected), abs=1e-6)


def test_state_lists_merge_like_one_stream() -> None:
    preds, target, card, day = hand_tensors()
    first, second = CardPrecisionAtK(k=2), CardPrecisionAtK(k=2)
    first.update(preds[:4], target[:4], card[:4], day[:4])
    second.update(preds[4:], target[4:], card[4:], day[4:])
    first.merge_state(second)
    assert first.compute().item() == pytest.approx(0.5)


def test_in_a_metric_collection_with_extra_keyword_arguments() -> None:
    preds, target, card, day = hand_tensors()
    collection = MetricCollection({"ap": BinaryAveragePrecision(), "auroc": BinaryAUROC(),
                                   "cp": CardPrecisionAtK(k=2)})
    collection.update(preds, target, card=card, day=day)
    values = collection.compute()
    assert values["cp"].item() == pytest.approx(0.5)
    assert values["ap"].item() == pytest.approx(BinaryAveragePrecision()(preds, target).item())
    assert values["auroc"].item() == pytest.approx(BinaryAUROC()(preds, target).item())
    # torchmetrics passes each metric only the keyword arguments its update() takes
    assert BinaryAUROC()._filter_kwargs(card=card, day=day) == {}
    assert set(CardPrecisionAtK(k=2)._filter_kwargs(card=card, day=day)) == {"card", "day"}
    collection.reset()
    batch = collection(preds, target, card=card, day=day)  # forward: batch values, states accumulated
    assert batch["cp"].item() == pytest.approx(0.5)
    assert collection.compute()["cp"].item() == pytest.approx(0.5)
