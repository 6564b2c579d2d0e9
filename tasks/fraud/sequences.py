"""Each transaction's card history: the row indices of the card's last K transactions, and how its sequence is built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["SequenceInputs", "history_index", "hours_since_previous"]


def _card_order(cards: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows grouped by card (time order kept within a card) and each row's position in its card."""
    order = np.argsort(cards, kind="stable")
    grouped = cards[order]
    starts = np.r_[0, np.flatnonzero(grouped[1:] != grouped[:-1]) + 1]
    lengths = np.diff(np.r_[starts, len(cards)])
    position = np.arange(len(cards)) - np.repeat(starts, lengths)
    return order, position


def history_index(cards: np.ndarray, length: int) -> np.ndarray:
    """For rows sorted by time, the indices of each row's card's last ``length`` rows, itself last.

    Args:
        cards: card id of each row; rows must be in time order.
        length: history length K.

    Returns:
        An int64 array (rows, length); -1 where the card has fewer earlier rows (left padding).
    """
    order, position = _card_order(cards)
    index = np.full((len(cards), length), -1, dtype=np.int64)
    for back in range(length):
        known = position >= back
        index[order[known], length - 1 - back] = order[np.flatnonzero(known) - back]
    return index


def hours_since_previous(cards: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """Hours since the same card's previous transaction (0 for a card's first one)."""
    order, position = _card_order(cards)
    gaps = np.zeros(len(cards), dtype=np.float64)
    later = np.flatnonzero(position > 0)
    gaps[order[later]] = (seconds[order[later]] - seconds[order[later - 1]]) / 3600.0
    return gaps


@dataclass(frozen=True)
class SequenceInputs:
    """How each scored transaction's sequence is built from the card's transactions.

    The defaults are gatelab's; the fraud handbook's Chapter 7 sequential models (Le Borgne et al.,
    ``FraudSequenceDataset``) use ``sequences="split"``, ``padding="mean"``, ``presence_flag=False``,
    ``time_since_previous=False`` and ``scaling="standard"``.

    Args:
        sequences: ``history``: the card's last K transactions over all the data (warm-up days and earlier
            splits included); ``split``: only among the split's own rows (the book's way: a card's first
            transactions in a split are padded).
        padding: the step a window reads where the card has fewer earlier transactions: ``zeros``, or
            ``mean``, the mean of the split's own scaled steps (the book's "mean" padding).
        presence_flag: add a feature that is 1 on real steps and 0 on padding.
        time_since_previous: add the hours since the card's previous transaction to the 15 handbook features.
        scaling: ``log_standard``: log1p of the unbounded non-negative features, then standardised on the
            training rows; ``standard``: standardised only (the book's ``StandardScaler``).
    """

    sequences: Literal["history", "split"] = "history"
    padding: Literal["zeros", "mean"] = "zeros"
    presence_flag: bool = True
    time_since_previous: bool = True
    scaling: Literal["log_standard", "standard"] = "log_standard"
