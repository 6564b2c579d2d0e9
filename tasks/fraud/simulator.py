"""A seeded, offline card transaction simulator with three fraud scenarios.

It follows the generative process of Le Borgne et al., *Reproducible Machine Learning for Credit Card
Fraud Detection - Practical Handbook* (Chapter 3, "Transaction data simulator"), vectorised with numpy:

- customers sit at a location in the square [0, 100)^2, with a mean amount ~ U(5, 100), an amount
  standard deviation of half that, and a mean number of transactions per day ~ U(0, 4);
- terminals sit at a location in the same square; a customer uses the terminals within ``radius`` of
  it (a customer with none makes no transactions);
- each day a customer makes Poisson(mean per day) transactions at a time of day ~ N(43200, 20000) s
  (times outside the day are dropped), of an amount ~ N(mean, std) (a negative draw is replaced by
  U(0, 2 * mean)), rounded to cents, at one of its terminals drawn uniformly.

Fraud, applied in this order, a later scenario overwriting the number of an earlier one:

1. every transaction with an amount above 220 is fraud;
2. each day every terminal is compromised with probability ``compromised_terminals_per_day`` (the book
   draws 2 of 10,000), and all its transactions on that day and the next 27 are fraud;
3. each day every customer is compromised with probability ``compromised_customers_per_day`` (the book
   draws 3 of 5,000); over that day and the next 13, a third of its transactions (drawn without
   replacement, rounded down) get their amount multiplied by 5 and are fraud.

Drawing each terminal (customer) with a probability makes the daily count binomial with the book's
expectation, so a smaller simulation keeps the book's fraud rate.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from gatelab.errors import ConfigError, DataError

from tasks.fraud.schema import AMOUNT, CARD, LABEL, SCENARIO, TERMINAL, TIME
from tasks.fraud.sources import TransactionSource, validate_transactions

__all__ = ["SimulatedSource", "Simulation"]

SECONDS_PER_DAY = 86_400
TIME_OF_DAY_MEAN = SECONDS_PER_DAY / 2
TIME_OF_DAY_STD = 20_000.0
SCENARIO1_THRESHOLD = 220.0
SCENARIO2_DAYS = 28
SCENARIO3_DAYS = 14
SCENARIO3_FACTOR = 5.0
# Bump when the generative process changes, so fingerprints of old data stop matching.
_ALGORITHM_VERSION = 1
# Candidate customer-terminal pairs are measured in blocks of about this many.
_PAIR_BLOCK = 1 << 22


@dataclass(frozen=True)
class Simulation:
    """Everything one simulation drew: the transaction table and what produced its frauds.

    Args:
        transactions: the canonical table (see ``tasks.fraud.schema``), with the ``scenario`` column.
        customers: one row per customer id: ``x``, ``y``, ``mean_amount``, ``std_amount``,
            ``mean_nb_tx_per_day``, ``nb_terminals`` (terminals within the radius).
        terminals: one row per terminal id: ``x``, ``y``.
        compromised_terminals: scenario 2 events, columns ``terminal_id`` and ``day`` (first day of
            the 28-day window, counted from ``start_date``).
        compromised_customers: scenario 3 events, columns ``card_id`` and ``day`` (first day of the
            14-day window).
    """

    transactions: pd.DataFrame
    customers: pd.DataFrame
    terminals: pd.DataFrame
    compromised_terminals: pd.DataFrame
    compromised_customers: pd.DataFrame


@dataclass(frozen=True)
class SimulatedSource(TransactionSource):
    """Transactions drawn by the Fraud Detection Handbook's simulator, seeded and offline.

    The defaults give about 160,000 transactions; the book's data set is 5,000 customers,
    10,000 terminals and 183 days (about 1.75 million transactions, 0.84% fraud).

    Args:
        n_customers: number of customers (cards), at least 1.
        n_terminals: number of terminals, at least 1.
        n_days: number of simulated days, at least 1.
        start_date: the first day, ISO format (e.g. ``2018-04-01``).
        radius: a customer uses the terminals closer than this (the square is 100 wide), > 0.
        compromised_terminals_per_day: probability that a terminal is compromised on a given day
            (scenario 2), in [0, 1]; the book's 2 per day out of 10,000 terminals is 2/10000.
        compromised_customers_per_day: probability that a customer is compromised on a given day
            (scenario 3), in [0, 1]; the book's 3 per day out of 5,000 customers is 3/5000.
        seed: the random seed, >= 0; the same settings and seed give the same table.
    """

    n_customers: int = 1000
    n_terminals: int = 2000
    n_days: int = 80
    start_date: str = "2018-04-01"
    radius: float = 5.0
    compromised_terminals_per_day: float = 2 / 10000
    compromised_customers_per_day: float = 3 / 5000
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_customers", "n_terminals", "n_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"SimulatedSource.{name} must be an integer >= 1, got {value!r}; "
                                  "set it to 1 or more.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ConfigError(f"SimulatedSource.seed must be an integer >= 0, got {self.seed!r}; use e.g. seed: 0.")
        radius = self.radius
        if (isinstance(radius, bool) or not isinstance(radius, (int, float, np.number)) or not math.isfinite(radius)
                or radius <= 0):
            raise ConfigError(f"SimulatedSource.radius must be a finite number > 0, got {radius!r}; the book uses 5.")
        for name in ("compromised_terminals_per_day", "compromised_customers_per_day"):
            rate = getattr(self, name)
            if (
                isinstance(rate, bool)
                or not isinstance(rate, (int, float, np.number))
                or not math.isfinite(rate)
                or not 0 <= rate <= 1
            ):
                raise ConfigError(
                    f"SimulatedSource.{name} must be a fraction in [0, 1] (a daily probability per "
                    f"terminal or customer), got {rate!r}; the book's rates are 2/10000 and 3/5000."
                )
        self._start()  # raises ConfigError naming start_date

    def _start(self) -> np.datetime64:
        """The first simulated day as ``datetime64[ns]``, or a ConfigError naming ``start_date``."""
        hint = "give a date in ISO format, e.g. start_date: 2018-04-01."
        if not isinstance(self.start_date, str):
            raise ConfigError(f"SimulatedSource.start_date must be a string, got {self.start_date!r}; {hint}")
        try:
            start = pd.Timestamp(self.start_date)
        except (ValueError, TypeError) as error:
            raise ConfigError(
                f"SimulatedSource.start_date {self.start_date!r} is not a date ({error}); {hint}") from None
        if start is pd.NaT or pd.isna(start):
            raise ConfigError(f"SimulatedSource.start_date {self.start_date!r} is not a date; {hint}")
        if start.tzinfo is not None:
            raise ConfigError(f"SimulatedSource.start_date {self.start_date!r} has a time zone; {hint}")
        return start.as_unit("ns").to_datetime64()

    def origin(self) -> str:
        settings = ", ".join(f"{field.name}={getattr(self, field.name)!r}" for field in dataclasses.fields(self))
        return f"simulated({settings})"

    def fingerprint(self) -> str:
        """16 hex characters of the sha256 of the settings (and the simulator's version)."""
        settings = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        settings = {key: (float(value) if key == "radius" or key.endswith("_per_day") else value)
                    for key, value in settings.items()}
        payload = json.dumps({"simulator": _ALGORITHM_VERSION, **settings}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def load(self) -> pd.DataFrame:
        """Return the simulated canonical table, with the ``scenario`` column (int8), sorted by time."""
        return self.simulate().transactions

    def simulate(self) -> Simulation:
        """Draw customers, terminals, transactions and frauds.

        Returns:
            a :class:`Simulation` holding the canonical table and the draws behind it.

        Raises:
            DataError: when no customer has a terminal within ``radius`` (no transactions at all).
        """
        start = self._start()
        n_cust, n_term, n_days = int(self.n_customers), int(self.n_terminals), int(self.n_days)
        streams = [np.random.default_rng(child) for child in np.random.SeedSequence(int(self.seed)).spawn(5)]
        rng_customers, rng_terminals, rng_transactions, rng_terminal_fraud, rng_customer_fraud = streams

        # Customer and terminal profiles.
        cust_xy = rng_customers.uniform(0, 100, size=(n_cust, 2))
        mean_amount = rng_customers.uniform(5, 100, size=n_cust)
        std_amount = mean_amount / 2
        mean_nb_tx = rng_customers.uniform(0, 4, size=n_cust)
        term_xy = rng_terminals.uniform(0, 100, size=(n_term, 2))
        offsets, nb_avail, avail_terminals = _terminals_within(cust_xy, term_xy, float(self.radius))

        # Transactions, generated in (customer, day) order.
        counts = rng_transactions.poisson(np.broadcast_to(mean_nb_tx[:, None], (n_cust, n_days)))
        counts[nb_avail == 0] = 0
        flat = counts.ravel()
        card = np.repeat(np.repeat(np.arange(n_cust, dtype=np.int64), n_days), flat)
        day = np.repeat(np.tile(np.arange(n_days, dtype=np.int64), n_cust), flat)
        seconds = np.floor(rng_transactions.normal(TIME_OF_DAY_MEAN, TIME_OF_DAY_STD, size=card.size))
        kept = (seconds >= 0) & (seconds < SECONDS_PER_DAY)
        card, day, seconds = card[kept], day[kept], seconds[kept].astype(np.int64)
        n_tx = card.size
        if n_tx == 0:
            raise DataError(
                f"{self.origin()}: the simulation produced no transactions; "
                "raise n_customers, n_days or radius (no customer has a terminal within the radius)."
            )
        amount = rng_transactions.normal(mean_amount[card], std_amount[card])
        negative = amount < 0
        amount[negative] = rng_transactions.uniform(0, 2 * mean_amount[card[negative]])
        amount = np.round(amount, 2)
        pick = rng_transactions.integers(0, nb_avail[card])
        terminal = avail_terminals[offsets[card] + pick]

        scenario = np.zeros(n_tx, dtype=np.int8)
        # Scenario 1: large amounts.
        scenario[amount > SCENARIO1_THRESHOLD] = 1

        # Scenario 2: compromised terminals, every transaction in the window.
        hit_days, hit_terms = np.nonzero(
            rng_terminal_fraud.random((n_days, n_term)) < self.compromised_terminals_per_day)
        window = _window_mask(hit_terms, hit_days, n_term, n_days, SCENARIO2_DAYS)
        scenario[window[terminal, day]] = 2

        # Scenario 3: compromised customers, a third of the transactions in the window, amount x5.
        ev_days, ev_cards = np.nonzero(rng_customer_fraud.random((n_days, n_cust)) < self.compromised_customers_per_day)
        hits = _customer_window_picks(card, day, ev_cards, ev_days, n_days, rng_customer_fraud)
        if hits.size:
            times = np.bincount(hits, minlength=n_tx)
            inflated = times > 0
            amount[inflated] = np.round(amount[inflated] * SCENARIO3_FACTOR ** times[inflated], 2)
            scenario[inflated] = 3

        total_seconds = day * SECONDS_PER_DAY + seconds
        order = np.argsort(total_seconds * n_cust + card, kind="stable")  # by time, then card
        total_seconds = total_seconds[order]
        frame = pd.DataFrame(
            {
                CARD: card[order],
                TIME: start + total_seconds.astype("timedelta64[s]").astype("timedelta64[ns]"),
                AMOUNT: amount[order],
                TERMINAL: terminal[order],
                LABEL: (scenario[order] > 0).astype(np.int8),
                SCENARIO: scenario[order],
            }
        )
        transactions = validate_transactions(frame, origin=self.origin())

        customers = pd.DataFrame(
            {
                "x": cust_xy[:, 0],
                "y": cust_xy[:, 1],
                "mean_amount": mean_amount,
                "std_amount": std_amount,
                "mean_nb_tx_per_day": mean_nb_tx,
                "nb_terminals": nb_avail,
            },
            index=pd.RangeIndex(n_cust, name=CARD),
        )
        terminals = pd.DataFrame({"x": term_xy[:, 0], "y": term_xy[:, 1]}, index=pd.RangeIndex(n_term, name=TERMINAL))
        return Simulation(
            transactions=transactions,
            customers=customers,
            terminals=terminals,
            compromised_terminals=pd.DataFrame({TERMINAL: hit_terms.astype(np.int64),
                                                "day": hit_days.astype(np.int64)}),
            compromised_customers=pd.DataFrame({CARD: ev_cards.astype(np.int64), "day": ev_days.astype(np.int64)}),
        )


def _terminals_within(cust_xy: np.ndarray, term_xy: np.ndarray,
                      radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each customer's terminals closer than ``radius``, as a compressed sparse row list.

    Only the terminals whose x lies within ``radius`` of the customer's (a contiguous run once the
    terminals are sorted by x) are measured, in blocks of customers to bound memory.

    Args:
        cust_xy: customer locations, shape (n_customers, 2).
        term_xy: terminal locations, shape (n_terminals, 2).
        radius: the distance limit (strict, as in the book).

    Returns:
        ``(offsets, counts, terminals)``: customer ``c`` uses ``terminals[offsets[c]:offsets[c] + counts[c]]``,
        in increasing terminal id.
    """
    n_cust = len(cust_xy)
    by_x = np.argsort(term_xy[:, 0], kind="stable")
    sorted_x = term_xy[by_x, 0]
    lo = np.searchsorted(sorted_x, cust_xy[:, 0] - radius, side="left")
    hi = np.searchsorted(sorted_x, cust_xy[:, 0] + radius, side="right")
    sizes = hi - lo
    ends = np.cumsum(sizes)
    rows, cols = [], []
    begin = 0
    while begin < n_cust:  # blocks of customers holding about _PAIR_BLOCK candidate pairs each
        base = ends[begin - 1] if begin else 0
        stop = max(begin + 1, int(np.searchsorted(ends, base + _PAIR_BLOCK, side="right")))
        block_sizes = sizes[begin:stop]
        total = int(block_sizes.sum())
        cust = np.repeat(np.arange(begin, stop), block_sizes)
        starts = np.cumsum(block_sizes) - block_sizes
        term = by_x[lo[cust] + np.arange(total) - np.repeat(starts, block_sizes)]
        diff = cust_xy[cust] - term_xy[term]
        near = np.einsum("pk,pk->p", diff, diff) < radius * radius
        rows.append(cust[near])
        cols.append(term[near])
        begin = stop
    rows_all, cols_all = np.concatenate(rows), np.concatenate(cols)
    order = np.lexsort((cols_all, rows_all))
    counts = np.bincount(rows_all, minlength=n_cust).astype(np.int64)
    offsets = (np.cumsum(counts) - counts).astype(np.int64)
    return offsets, counts, cols_all[order].astype(np.int64)


def _window_mask(ids: np.ndarray, days: np.ndarray, n_ids: int, n_days: int, length: int) -> np.ndarray:
    """Boolean (n_ids, n_days): True where some event ``(ids[i], days[i])`` covers the day.

    An event on day ``d`` covers days ``d`` to ``d + length - 1``.
    """
    marks = np.zeros((n_ids, n_days + 1), dtype=np.int32)
    np.add.at(marks, (ids, days), 1)
    np.add.at(marks, (ids, np.minimum(days + length, n_days)), -1)
    return np.cumsum(marks[:, :n_days], axis=1) > 0


def _customer_window_picks(
    card: np.ndarray,
    day: np.ndarray,
    ev_cards: np.ndarray,
    ev_days: np.ndarray,
    n_days: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Scenario 3: for each event, a third (rounded down) of the customer's transactions in its window.

    Args:
        card, day: per transaction, sorted by ``(card, day)``.
        ev_cards, ev_days: the compromised customers and the first day of their 14-day windows.
        n_days: number of simulated days.
        rng: the random stream for the picks.

    Returns:
        transaction indices, one per (event, picked transaction); a transaction picked by two
        overlapping events of the same customer appears twice (its amount is multiplied twice,
        as in the book).
    """
    if ev_cards.size == 0:
        return np.empty(0, dtype=np.int64)
    keys = card * (n_days + 1) + day
    lo = np.searchsorted(keys, ev_cards * (n_days + 1) + ev_days, side="left")
    hi = np.searchsorted(keys, ev_cards * (n_days + 1) + np.minimum(ev_days + SCENARIO3_DAYS, n_days), side="left")
    sizes = hi - lo
    total = int(sizes.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    event = np.repeat(np.arange(ev_cards.size), sizes)
    starts = np.cumsum(sizes) - sizes
    tx = lo[event] + np.arange(total) - starts[event]
    order = np.lexsort((rng.random(total), event))  # shuffle within each event
    rank = np.arange(total) - starts[event]  # rank within the event, after the shuffle (event order kept)
    picked = rank < (sizes // 3)[event]
    return tx[order][picked]
