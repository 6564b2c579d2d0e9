"""The fraud handbook's baseline feature transformation, vectorised.

Le Borgne et al., *Reproducible Machine Learning for Credit Card Fraud Detection*, Chapter 3.
For each transaction at time ``t`` (15 features with the default windows 1, 7, 30 days):

- ``amount``; ``is_weekend`` (Saturday or Sunday); ``is_night`` (hour <= 6);
- per card, for each window of ``w`` days ending at and including the transaction, i.e. the
  transactions of the card with time in ``(t - w days, t]``: ``card_nb_tx_{w}d`` (their number)
  and ``card_avg_amount_{w}d`` (their mean amount);
- per terminal, for each window shifted back by the label delay ``d``, i.e. the transactions of
  the terminal with time in ``(t - d - w days, t - d days]`` (labels known at ``t``):
  ``terminal_nb_tx_{w}d`` (their number) and ``terminal_risk_{w}d`` (#frauds / #transactions,
  0 when there are none).

These are exactly the book's semantics: its code uses pandas' time-based ``rolling("{w}d")`` on
the datetime index, whose windows are ``(t - w days, t]`` in continuous time (to the second, not
calendar days), and it gets the terminal window as the ``(d + w)``-day count minus the ``d``-day
count. Transactions of one card at the same second count in row order (the later one sees the
earlier one, not the reverse), as in pandas. Every feature uses only the transaction itself and
earlier information: the card windows end at the transaction, the terminal windows end ``d`` days
before it (``d >= 1``), so no label younger than the delay is ever read.

The computation sorts once per key and answers every window with binary searches on
(group, time) keys: no Python loop over cards, terminals or rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from gatelab.errors import ConfigError, DataError

from tasks.fraud.schema import AMOUNT, CARD, LABEL, TERMINAL, TIME

__all__ = ["DEFAULT_WINDOWS", "FEATURE_NAMES", "feature_names", "transaction_features"]

DEFAULT_WINDOWS: tuple[int, ...] = (1, 7, 30)
_NS_PER_DAY = 86_400 * 1_000_000_000
_NS_PER_HOUR = 3_600 * 1_000_000_000


def feature_names(windows: tuple[int, ...] = DEFAULT_WINDOWS) -> list[str]:
    """The column names ``transaction_features`` returns for these windows, in order.

    Args:
        windows: window lengths in days.
    """
    names = ["amount", "is_weekend", "is_night"]
    for w in windows:
        names += [f"card_nb_tx_{w}d", f"card_avg_amount_{w}d"]
    for w in windows:
        names += [f"terminal_nb_tx_{w}d", f"terminal_risk_{w}d"]
    return names


FEATURE_NAMES: tuple[str, ...] = tuple(feature_names(DEFAULT_WINDOWS))
"""The 15 feature names for the default windows (1, 7, 30 days)."""


def transaction_features(
    frame: pd.DataFrame, windows: tuple[int, ...] = DEFAULT_WINDOWS, delay_days: int = 7
) -> pd.DataFrame:
    """Compute the handbook's baseline features for every transaction.

    Args:
        frame: a canonical transaction table (``tasks.fraud.schema``); any row order.
        windows: window lengths in days (positive integers).
        delay_days: label delay in days for the terminal features (>= 1).

    Returns:
        float32 columns named by ``feature_names(windows)``, with ``frame``'s index.

    Raises:
        ConfigError: a window < 1 or ``delay_days`` < 1 (a zero delay would read the
            transaction's own label).
        DataError: a required column is missing.
    """
    _check_arguments(windows, delay_days)
    missing = [c for c in (CARD, TIME, AMOUNT, TERMINAL, LABEL) if c not in frame.columns]
    if missing:
        raise DataError(
            f"transaction_features: missing column(s) {missing}; pass a canonical table (tasks.fraud.schema)."
        )
    times = _nanoseconds(frame[TIME])
    amount = frame[AMOUNT].to_numpy(dtype=np.float64)
    label = frame[LABEL].to_numpy(dtype=np.int64)
    ranks, unique_times = _time_ranks(times)
    columns: dict[str, np.ndarray] = {"amount": amount}
    columns["is_weekend"], columns["is_night"] = _calendar_flags(times)
    card = _Groups(frame[CARD].to_numpy(), times, ranks, unique_times)
    columns.update(_card_windows(card, amount, windows))
    terminal = _Groups(frame[TERMINAL].to_numpy(), times, ranks, unique_times)
    columns.update(_terminal_windows(terminal, label, windows, delay_days))
    names = feature_names(windows)
    return pd.DataFrame({name: columns[name].astype(np.float32) for name in names}, index=frame.index)


def _check_arguments(windows: tuple[int, ...], delay_days: int) -> None:
    """Raise ConfigError for a bad window or delay."""
    if not windows or any(not isinstance(w, (int, np.integer)) or isinstance(w, bool) or w < 1 for w in windows):
        raise ConfigError(f"windows: must be positive whole numbers of days, got {windows!r}.")
    if len(set(windows)) != len(windows):
        raise ConfigError(f"windows: must not repeat a window, got {windows!r}.")
    if not isinstance(delay_days, (int, np.integer)) or isinstance(delay_days, bool) or delay_days < 1:
        raise ConfigError(
            f"delay_days: must be a whole number >= 1 (got {delay_days!r}); with 0 the terminal risk would read "
            "the transaction's own label."
        )


def _nanoseconds(timestamps: pd.Series) -> np.ndarray:
    """Wall-clock times as int64 nanoseconds (time zone dropped: local time counts for day/hour)."""
    if isinstance(timestamps.dtype, pd.DatetimeTZDtype):
        timestamps = timestamps.dt.tz_localize(None)
    return timestamps.to_numpy().astype("datetime64[ns]").view(np.int64)


def _calendar_flags(times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weekend (Saturday/Sunday) and night (hour <= 6) flags from int64 nanoseconds."""
    days = times // _NS_PER_DAY
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday (weekday 3, Monday = 0)
    hour = (times - days * _NS_PER_DAY) // _NS_PER_HOUR
    return (weekday >= 5).astype(np.float64), (hour <= 6).astype(np.float64)


def _time_ranks(times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's rank among the distinct times, and the sorted distinct times."""
    order = np.argsort(times, kind="stable")  # fast: tables come sorted by time
    ordered = times[order]
    new = np.empty(len(ordered), dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    ranks = np.empty(len(times), dtype=np.int64)
    ranks[order] = np.cumsum(new) - 1
    return ranks, ordered[new]


class _Groups:
    """Rows sorted by (group, time, row), with searches for "first row of my group after time x".

    Keys are ``group code * (distinct times + 1) + time rank``: no overflow whatever the time
    resolution. Each search runs where its queries are monotonic (time bounds in the rows' time
    order, group keys in sorted order), which keeps the binary searches cache-friendly; results
    come in sorted order and ``unsort`` puts them back in the rows' own order.
    """

    def __init__(self, groups: np.ndarray, times: np.ndarray, ranks: np.ndarray, unique_times: np.ndarray) -> None:
        codes = pd.factorize(groups)[0].astype(np.int64)
        self.stride = len(unique_times) + 1
        keys = codes * self.stride + ranks
        self.order = np.argsort(keys, kind="stable")
        self.keys = keys[self.order]
        self.codes = codes[self.order]
        self.times = times
        self.unique_times = unique_times

    def first_after(self, days_back: int) -> np.ndarray:
        """Per sorted row, the sorted position of the first row of its group with time > t - ``days_back`` days."""
        # ranks are searched in the rows' own (time) order, where the bounds are monotonic
        rank = np.searchsorted(self.unique_times, self.times - days_back * _NS_PER_DAY, side="right")
        return np.searchsorted(self.keys, self.codes * self.stride + rank[self.order], side="left")

    def unsort(self, values: np.ndarray) -> np.ndarray:
        """Values given in sorted order, returned in the rows' original order."""
        out = np.empty_like(values)
        out[self.order] = values
        return out


def _card_windows(card: _Groups, amount: np.ndarray, windows: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Count and mean amount of the card's transactions in (t - w, t], the row itself included."""
    position = np.arange(len(card.keys))
    # per-card running sums keep the magnitudes small (exact enough for float32 output)
    running = pd.Series(amount[card.order]).groupby(card.codes).cumsum().to_numpy()
    group_first = np.searchsorted(card.keys, card.codes * card.stride, side="left")
    out: dict[str, np.ndarray] = {}
    for w in windows:
        start = card.first_after(w)
        count = position + 1 - start
        before = np.where(start > group_first, running[np.maximum(start - 1, 0)], 0.0)
        out[f"card_nb_tx_{w}d"] = card.unsort(count.astype(np.float64))
        out[f"card_avg_amount_{w}d"] = card.unsort((running - before) / count)
    return out


def _terminal_windows(
    terminal: _Groups, label: np.ndarray, windows: tuple[int, ...], delay_days: int
) -> dict[str, np.ndarray]:
    """Count and fraud share of the terminal's transactions in (t - d - w, t - d]."""
    frauds = np.concatenate([[0], np.cumsum(label[terminal.order])])
    end = terminal.first_after(delay_days)
    out: dict[str, np.ndarray] = {}
    for w in windows:
        start = terminal.first_after(delay_days + w)
        count = end - start
        fraud_count = frauds[end] - frauds[start]
        risk = np.divide(fraud_count, count, out=np.zeros(len(count), dtype=np.float64), where=count > 0)
        out[f"terminal_nb_tx_{w}d"] = terminal.unsort(count.astype(np.float64))
        out[f"terminal_risk_{w}d"] = terminal.unsort(risk)
    return out
