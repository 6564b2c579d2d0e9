"""Each transaction's card history: the row indices of the card's last K transactions."""

from __future__ import annotations

import numpy as np

__all__ = ["history_index", "hours_since_previous"]


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
