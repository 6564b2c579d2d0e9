"""Time splits for fraud detection: train, then validation, then test, never overlapping.

Days are calendar days of the transactions' timestamps. With ``s`` the first training day::

    [warm-up ...) [train: s .. s+train_days) [val gap) [val: val_days) [test gap) [test: test_days)

The warm-up days before ``s`` are not in any split; they only feed the history features (the
30-day card windows and the delayed terminal windows read up to ``30 + 7`` days back).

Known-compromised cards (the fraud handbook's rule): fraud labels arrive ``delay_days`` after
the transaction. Before scoring an evaluation day ``e`` (a validation or test day), every card
with a fraud on a day in ``[s, e - delay_days - 1]`` is known to be compromised (blocked in
practice), and that day's transactions of those cards are removed from the split. With the
book's layout (train 2018-07-25..31, test 2018-08-08..14, delay 7) this is its procedure: the
known set starts as the training week's frauds and, before test day ``d``, the cards with a
fraud on 2018-07-31 + ``d`` days are added.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from gatelab.errors import ConfigError, DataError
from jsonargparse import set_parsing_settings

from tasks.fraud.schema import CARD, LABEL, TIME

__all__ = ["HANDBOOK_SPLIT", "SPLIT_NAMES", "PrequentialSplit", "SplitCounts", "TimeSplit", "check_split_labels",
           "known_compromised", "split_masks", "split_ranges"]

SPLIT_NAMES = ("train", "val", "test")
_MOVERS = {"train": "train_start or train_days", "val": "val_gap_days, val_days or train_start",
           "test": "test_gap_days, test_days or train_start"}
_NON_NEGATIVE = ("warmup_days", "delay_days", "val_gap_days", "test_gap_days", "test_days")
_POSITIVE = ("train_days", "val_days")


@dataclass(frozen=True)
class TimeSplit:
    """Where train, validation and test lie in time, in whole days.

    ``delay_days`` is the label delay: a transaction's fraud label is known ``delay_days`` days
    later. It drives the known-compromised rule, the terminal features' shift (the DataModule
    passes it to ``transaction_features``) and a consistency check: the test must start at least
    ``delay_days`` after the last training day (``val_gap_days + val_days + test_gap_days >=
    delay_days``), as a model trained on day ``s + train_days - 1`` can only be deployed once that
    day's labels are in. The gap before validation is a separate field, ``val_gap_days``, so that
    validation can sit inside the train-to-test label-delay gap (as in ``HANDBOOK_SPLIT``) while
    the delay stays 7 days.

    Args:
        train_start: first training day, ISO date (``"2018-07-25"``); None: the data's first day
            plus ``warmup_days``.
        warmup_days: days of history required before ``train_start`` (features look back
            30 + 7 days with the default windows).
        train_days: length of the training block (>= 1).
        delay_days: label delay in days (known-compromised rule, terminal features).
        val_gap_days: days left out between the last training day and the first validation day.
        val_days: length of the validation block (>= 1).
        test_gap_days: days left out between the last validation day and the first test day.
        test_days: length of the test block; 0: no test block (a prequential validation fold, which a
            search trains and validates on and nothing tests).
        remove_known_compromised: drop, on each validation and test day, the transactions of
            cards already known to be compromised (the handbook's rule).

    Raises:
        ConfigError: naming the field, for a negative number of days, an empty block, an
            unparsable ``train_start`` or a test that starts before the training labels are known.
    """

    train_start: str | None = None
    warmup_days: int = 37
    train_days: int = 14
    delay_days: int = 7
    val_gap_days: int = 7
    val_days: int = 7
    test_gap_days: int = 0
    test_days: int = 7
    remove_known_compromised: bool = True

    def __post_init__(self) -> None:
        for name in _NON_NEGATIVE + _POSITIVE:
            _check_days(name, getattr(self, name), minimum=1 if name in _POSITIVE else 0)
        if not isinstance(self.remove_known_compromised, bool):
            raise ConfigError(
                f"remove_known_compromised: must be true or false, got {self.remove_known_compromised!r}."
            )
        if self.train_start is not None:
            _parse_day(self.train_start)
        after_train = self.val_gap_days + self.val_days + self.test_gap_days
        if self.test_days and after_train < self.delay_days:
            raise ConfigError(
                f"delay_days: the test starts {after_train} day(s) after training ends (val_gap_days + val_days + "
                f"test_gap_days) but labels arrive {self.delay_days} day(s) late; lengthen val_gap_days, val_days or "
                "test_gap_days, or lower delay_days."
            )

    def start_day(self, first_day: dt.date) -> dt.date:
        """The first training day for data starting on ``first_day``.

        Args:
            first_day: the data's first calendar day.
        """
        if self.train_start is None:
            return first_day + dt.timedelta(days=self.warmup_days)
        return _parse_day(self.train_start)

    def blocks(self, start: dt.date) -> dict[str, tuple[dt.date, dt.date]]:
        """Each split's first day and last day (inclusive), given the first training day; no ``test`` without test days.

        Args:
            start: the first training day.
        """
        out: dict[str, tuple[dt.date, dt.date]] = {}
        day = start
        for name, gap, length in (
            ("train", 0, self.train_days),
            ("val", self.val_gap_days, self.val_days),
            ("test", self.test_gap_days, self.test_days),
        ):
            if not length:
                continue
            first = day + dt.timedelta(days=gap)
            out[name] = (first, first + dt.timedelta(days=length - 1))
            day = out[name][1] + dt.timedelta(days=1)
        return out


def split_ranges(frame: pd.DataFrame, split: TimeSplit) -> dict[str, tuple[str, str]]:
    """Each split's first and last day (inclusive, ISO dates) on this data.

    Args:
        frame: the canonical transaction table.
        split: the time split.
    """
    days = _row_days(frame)
    start = split.start_day(_to_date(days.min()))
    return {name: (a.isoformat(), b.isoformat()) for name, (a, b) in split.blocks(start).items()}


def split_masks(frame: pd.DataFrame, split: TimeSplit) -> dict[str, np.ndarray]:
    """Boolean row masks of the train, validation and test splits.

    Args:
        frame: the canonical transaction table (``card_id``, ``timestamp``, ``label``); any order.
        split: the time split.

    Returns:
        ``{"train", "val", "test"}`` (no ``test`` when ``split.test_days`` is 0) to boolean arrays aligned
        with ``frame``'s rows; validation and test without known-compromised cards when
        ``split.remove_known_compromised``.

    Raises:
        DataError: too little history before training, a split reaching past the data's last
            day, or a split with no transactions; the message names the split, the dates asked,
            the data's dates and the fix.
    """
    days = _row_days(frame)
    first, last = _to_date(days.min()), _to_date(days.max())
    start = split.start_day(first)
    _check_history(split, start, first, last)
    blocks = split.blocks(start)
    masks = {}
    for name, (a, b) in blocks.items():
        if b > last:
            raise DataError(
                f"split '{name}' asks for {a}..{b} but the data covers {first}..{last}; move train_start earlier, "
                "shorten the blocks or the gaps, or use data reaching further."
            )
        masks[name] = (days >= np.datetime64(a)) & (days <= np.datetime64(b))
    if split.remove_known_compromised:
        known = known_compromised(frame, start, split.delay_days, days)
        for name in ("val", "test"):
            if name in masks:
                masks[name] &= ~known
    for name in masks:
        if not masks[name].any():
            a, b = blocks[name]
            removal = name != "train" and split.remove_known_compromised
            raise DataError(
                f"split '{name}' ({a}..{b}) has no transactions (data covers {first}..{last}"
                f"{', after removing known-compromised cards' if removal else ''}); "
                "move train_start or lengthen the block."
            )
    return masks


@dataclass(frozen=True)
class SplitCounts:
    """One split on the data: its days (ISO, inclusive), transactions and frauds in it, and the
    transactions of known-compromised cards removed from it."""

    first: str
    last: str
    transactions: int
    frauds: int
    removed: int


def check_split_labels(frame: pd.DataFrame, masks: dict[str, np.ndarray], split: TimeSplit,
                       origin: str) -> dict[str, SplitCounts]:
    """Each split's counts; a split without both frauds and genuine transactions is refused.

    A split with one label cannot be scored (AUPRC and ROC-AUC are undefined: a search would
    optimise a constant), and a training split with one label has nothing to learn.

    Args:
        frame: the canonical transaction table.
        masks: ``split_masks(frame, split)``.
        split: the time split.
        origin: what the data came from, starting the error.

    Raises:
        DataError: naming the split, its dates, its counts, the nearest days with fraud and the
            settings that move it.
    """
    days = _row_days(frame)
    labels = frame[LABEL].to_numpy() == 1
    counts = {}
    for name, (a, b) in split_ranges(frame, split).items():
        block = (days >= np.datetime64(a)) & (days <= np.datetime64(b))
        mask = masks[name]
        counts[name] = SplitCounts(a, b, int(mask.sum()), int(labels[mask].sum()), int(block.sum() - mask.sum()))
    for name, found in counts.items():
        if 0 < found.frauds < found.transactions:
            continue
        lacking = "no fraud" if found.frauds == 0 else "no genuine transaction"
        removal = (", after removing known-compromised cards" if name != "train" and split.remove_known_compromised
                   else "")
        raise DataError(
            f"{origin}: split '{name}' ({found.first}..{found.last}) has {lacking}: {found.transactions} transactions, "
            f"{found.frauds} frauds{removal}; each of train, val and test needs both, or its scores mean nothing: "
            f"move it with {_MOVERS[name]}{_nearest_fraud_days(days[labels], found.first, found.last)}, "
            "or use more data."
        )
    return counts


def _nearest_fraud_days(fraud_days: np.ndarray, first: str, last: str) -> str:
    """The nearest days with fraud before ``first`` and after ``last``, as a hint."""
    before = fraud_days[fraud_days < np.datetime64(first)]
    after = fraud_days[fraud_days > np.datetime64(last)]
    near = ([f"{before.max()} before it"] if len(before) else []) + ([f"{after.min()} after it"] if len(after) else [])
    return f" (the nearest days with fraud: {', '.join(near)})" if near else " (the data has no fraud at all)"


def known_compromised(
    frame: pd.DataFrame, start: dt.date, delay_days: int, days: np.ndarray | None = None
) -> np.ndarray:
    """Rows of cards already known to be compromised on the row's day.

    A row on day ``e`` is marked when its card has a fraud on a day in ``[start, e - delay_days - 1]``.

    Args:
        frame: the canonical transaction table.
        start: the first training day (frauds before it are not counted, as in the book).
        delay_days: label delay in days.
        days: the rows' calendar days (``datetime64[D]``), if already computed.
    """
    days = _row_days(frame) if days is None else days
    codes = pd.factorize(frame[CARD].to_numpy())[0]
    day_number = days.astype(np.int64)
    counted = (frame[LABEL].to_numpy() == 1) & (days >= np.datetime64(start))
    first_fraud = np.full(codes.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(first_fraud, codes[counted], day_number[counted])
    return first_fraud[codes] <= day_number - delay_days - 1


def _check_history(split: TimeSplit, start: dt.date, first: dt.date, last: dt.date) -> None:
    """Raise DataError when training starts with fewer than ``warmup_days`` of data before it."""
    history = (start - first).days
    if history < split.warmup_days:
        raise DataError(
            f"split 'train' starts on {start}, {history} day(s) after the data's first day {first} "
            f"(data covers {first}..{last}), but warmup_days={split.warmup_days} days of history are needed; "
            f"move train_start to {first + dt.timedelta(days=split.warmup_days)} or later, or lower warmup_days."
        )


def _row_days(frame: pd.DataFrame) -> np.ndarray:
    """The rows' calendar days as ``datetime64[D]`` (wall-clock day when time-zone aware)."""
    if TIME not in frame.columns:
        raise DataError(f"split_masks: the table has no '{TIME}' column; pass a canonical table (tasks.fraud.schema).")
    times = frame[TIME]
    if isinstance(times.dtype, pd.DatetimeTZDtype):
        times = times.dt.tz_localize(None)
    if frame.empty:
        raise DataError("split_masks: the table has no transactions; load a source with data.")
    return times.to_numpy().astype("datetime64[D]")


def _to_date(day: np.datetime64) -> dt.date:
    """A numpy day as a ``datetime.date``."""
    return dt.date.fromisoformat(str(day))


def _check_days(name: str, value: object, minimum: int) -> None:
    """Raise ConfigError unless ``value`` is a whole number >= ``minimum``."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        kind = "a whole number >= 1" if minimum == 1 else "a whole number >= 0"
        raise ConfigError(f"{name}: must be {kind} of days, got {value!r}.")


def _parse_day(text: object) -> dt.date:
    """Parse an ISO date (``YYYY-MM-DD``) or raise ConfigError naming ``train_start``."""
    try:
        if not isinstance(text, str):
            raise TypeError
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise ConfigError(f"train_start: must be an ISO date like '2018-07-25' or null, got {text!r}.") from None


HANDBOOK_SPLIT = TimeSplit(
    train_start="2018-07-25",
    train_days=7,
    delay_days=7,
    val_gap_days=0,
    val_days=7,
    test_gap_days=0,
    test_days=7,
)
"""The fraud handbook's baseline protocol (Chapter 3) on its simulated data.

Train 2018-07-25..07-31 (67,240 transactions, 598 frauds); test 2018-08-08..08-14 after removing
known-compromised cards (58,264 transactions, 385 frauds). The book leaves 2018-08-01..08-07 out
as the label-delay gap and does no validation; here validation is that gap week (val_gap_days=0,
val_days=7, test_gap_days=0), with the known-compromised rule still computed with the 7-day
label delay. Validation thus touches neither train nor test, and test is exactly the book's.
"""


@dataclass(frozen=True)
class PrequentialSplit:
    """Prequential folds: the fraud handbook's model selection (Le Borgne et al., Chapter 5, ``prequentialSplit``
    and ``model_selection_wrapper`` in its ``shared_functions.py``), each fold a ``TimeSplit``.

    With ``S = train_start`` (the book's ``start_date_training``), ``a = val_days``, ``t = test_days`` and
    ``d = delay_days``, fold ``k`` = 0 .. ``folds`` - 1 (fold 0 the latest):

    - validation fold ``k`` trains on ``train_days`` days from ``S - (d + a) - k a`` and is scored on the
      ``a`` days that start ``d`` days after its training ends (no test block): the book's validation
      folds, which end on ``S + a - 1``;
    - test fold ``k`` trains on ``train_days`` days from ``S + (folds - 1) t - k t``, validates (picks its
      best epoch) on the ``d``-day label-delay gap after them and is tested on the ``t`` days after the
      gap: the book's test folds. The last test fold is the baseline split (``HANDBOOK_SPLIT``).

    Each fold applies the known-compromised rule from its own first training day, as the book's
    ``get_train_test_set`` does per fold.

    Args:
        train_start: ``S``, ISO date; None: the earliest validation fold starts ``warmup_days`` after the
            data's first day.
        warmup_days: days of history required before any fold's training (``TimeSplit.warmup_days``).
        train_days: training days of every fold (the book's ``delta_train``).
        delay_days: label delay (``delta_delay``): the gap between a fold's training and its scored days.
        val_days: scored days of a validation fold (``delta_valid``).
        test_days: tested days of a test fold (``delta_test``).
        folds: folds of each kind (``n_folds``).
        remove_known_compromised: the known-compromised rule (``TimeSplit.remove_known_compromised``).

    Raises:
        ConfigError: naming the field, for a bad number of days or folds, or an unparsable ``train_start``.
    """

    train_start: str | None = None
    warmup_days: int = 37
    train_days: int = 7
    delay_days: int = 7
    val_days: int = 7
    test_days: int = 7
    folds: int = 4
    remove_known_compromised: bool = True

    def __post_init__(self) -> None:
        _check_days("folds", self.folds, minimum=1)
        for name in ("delay_days", "test_days"):  # a TimeSplit takes 0 for either; a fold needs a gap and a test
            _check_days(name, getattr(self, name), minimum=1)
        for test in (False, True):  # every other field is checked by TimeSplit, on the earliest fold of each kind
            self.fold(self.folds - 1, test=test)

    def fold(self, index: int, *, test: bool) -> TimeSplit:
        """Validation fold ``index`` (``test`` false) or test fold ``index``, as a ``TimeSplit``.

        Raises:
            ConfigError: ``index`` outside 0 .. ``folds`` - 1.
        """
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < self.folds:
            raise ConfigError(f"fold: must be a whole number in 0..{self.folds - 1} (split.folds is {self.folds}), "
                              f"got {index!r}.")
        if test:
            shift = (self.folds - 1 - index) * self.test_days
            layout = {"val_gap_days": 0, "val_days": self.delay_days, "test_days": self.test_days}
        else:
            shift = -self.delay_days - self.val_days - index * self.val_days
            layout = {"val_gap_days": self.delay_days, "val_days": self.val_days, "test_days": 0}
        if self.train_start is None:  # S lies warmup_days after the data's first day plus the earliest fold's lead
            lead = self.delay_days + self.folds * self.val_days
            start, warmup = None, self.warmup_days + lead + shift
        else:
            start, warmup = (_parse_day(self.train_start) + dt.timedelta(days=shift)).isoformat(), self.warmup_days
        return TimeSplit(train_start=start, warmup_days=warmup, train_days=self.train_days, delay_days=self.delay_days,
                         test_gap_days=0, remove_known_compromised=self.remove_known_compromised, **layout)


# `split` is either dataclass: written with its class_path, so that a saved config (a worker's copy, a champion's
# config.yaml) reads back as the split it was, not as init args of the task's default TimeSplit.
set_parsing_settings(subclasses_enabled=[TimeSplit, PrequentialSplit])
