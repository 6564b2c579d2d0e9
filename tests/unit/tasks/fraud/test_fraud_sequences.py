"""Card histories: each row's last K rows of the same card, itself last, and the gap since the card's previous row."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.fraud.sequences import history_index, hours_since_previous


def reference_history(cards: list, length: int) -> np.ndarray:
    """A plain loop over rows: the card's rows so far, the last ``length`` of them, left-padded with -1."""
    index = np.full((len(cards), length), -1, dtype=np.int64)
    for row, card in enumerate(cards):
        mine = [earlier for earlier in range(row + 1) if cards[earlier] == card][-length:]
        index[row, length - len(mine):] = mine
    return index


def test_interleaved_cards() -> None:
    cards = np.array([7, 3, 7, 7, 3, 9, 7])
    index = history_index(cards, 3)
    assert index.dtype == np.int64 and index.shape == (7, 3)
    assert index.tolist() == [
        [-1, -1, 0],
        [-1, -1, 1],
        [-1, 0, 2],
        [0, 2, 3],
        [-1, 1, 4],
        [-1, -1, 5],
        [2, 3, 6],  # card 7's four rows: the oldest (row 0) has dropped out
    ]


def test_card_with_one_transaction_and_history_longer_than_any_card() -> None:
    cards = np.array([1, 2, 1, 3])
    index = history_index(cards, 6)
    assert index.tolist() == [
        [-1, -1, -1, -1, -1, 0],
        [-1, -1, -1, -1, -1, 1],
        [-1, -1, -1, -1, 0, 2],
        [-1, -1, -1, -1, -1, 3],
    ]


def test_history_of_one_is_the_row_itself() -> None:
    cards = np.array([4, 4, 2, 4])
    assert history_index(cards, 1).tolist() == [[0], [1], [2], [3]]


@pytest.mark.parametrize("length", [1, 2, 5, 40])
def test_matches_a_plain_loop_on_random_cards(length: int) -> None:
    rng = np.random.default_rng(length)
    cards = rng.integers(0, 12, size=300)
    assert np.array_equal(history_index(cards, length), reference_history(cards.tolist(), length))


def test_string_card_ids_and_no_rows() -> None:
    cards = np.array(["b", "a", "b"])
    assert history_index(cards, 2).tolist() == [[-1, 0], [-1, 1], [0, 2]]
    assert history_index(np.array([], dtype=np.int64), 3).shape == (0, 3)


def test_history_never_reaches_forward_or_into_another_card() -> None:
    rng = np.random.default_rng(0)
    cards = rng.integers(0, 20, size=500)
    index = history_index(cards, 8)
    real = index >= 0
    rows = np.broadcast_to(np.arange(len(cards))[:, None], index.shape)
    assert (index[real] <= rows[real]).all()
    assert (cards[index[real]] == cards[rows[real]]).all()
    assert (index[:, -1] == np.arange(len(cards))).all()
    # padding only on the left, and real steps strictly increasing in time
    assert (np.diff(real.astype(int), axis=1) >= 0).all()
    steps = np.where(real, index, -1)
    assert ((np.diff(steps, axis=1) > 0) | ~real[:, 1:] | ~real[:, :-1]).all()


def test_hours_since_previous_per_card() -> None:
    cards = np.array([5, 6, 5, 5, 6, 8])
    seconds = np.array([0.0, 1800.0, 3600.0, 3600.0, 12600.0, 20000.0])
    gaps = hours_since_previous(cards, seconds)
    assert gaps.dtype == np.float64
    # first row of each card: 0; same-second transactions: 0; otherwise hours since the card's previous row
    assert gaps.tolist() == pytest.approx([0.0, 0.0, 1.0, 0.0, 3.0, 0.0])


def test_hours_since_previous_for_a_single_card_and_no_rows() -> None:
    assert hours_since_previous(np.array([1]), np.array([99.0])).tolist() == [0.0]
    assert hours_since_previous(np.array([], dtype=np.int64), np.array([])).shape == (0,)
    cards = np.array([3, 3, 3])
    assert hours_since_previous(cards, np.array([0.0, 7200.0, 9000.0])).tolist() == pytest.approx([0.0, 2.0, 0.5])
