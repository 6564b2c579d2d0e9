"""The canonical transaction table every fraud data source returns.

One row per card transaction, sorted by time:

- ``card_id`` (int64): the card (customer) the transaction belongs to.
- ``timestamp`` (datetime64[ns]): when it happened.
- ``amount`` (float64): the amount, finite and >= 0.
- ``terminal_id`` (int64): the terminal (merchant) where it happened.
- ``label`` (int8, 0/1): 1 for fraud.
- ``scenario`` (int8, optional): which fraud scenario produced the label (0 for genuine).

Sources may add extra numeric columns; the DataModule is told their names.
"""

from __future__ import annotations

__all__ = ["AMOUNT", "CARD", "LABEL", "REQUIRED", "SCENARIO", "TERMINAL", "TIME", "TRANSACTION_KEY"]

CARD = "card_id"
TIME = "timestamp"
AMOUNT = "amount"
TERMINAL = "terminal_id"
LABEL = "label"
SCENARIO = "scenario"

REQUIRED = (CARD, TIME, AMOUNT, TERMINAL, LABEL)

TRANSACTION_KEY = (CARD, TIME, AMOUNT, TERMINAL)
"""The columns that identify one transaction: rows equal on all four are the same transaction."""
