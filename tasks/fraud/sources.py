"""Where fraud transactions come from: one interface, several sources."""

from __future__ import annotations

import abc
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from gatelab.errors import DataError
from tasks.fraud.schema import AMOUNT, CARD, LABEL, REQUIRED, TERMINAL, TIME

__all__ = ["TransactionSource", "file_sha256", "validate_transactions"]


class TransactionSource(abc.ABC):
    """A source of card transactions in the canonical table (see ``tasks.fraud.schema``)."""

    extra_columns: tuple[str, ...] = ()

    @abc.abstractmethod
    def load(self) -> pd.DataFrame:
        """Return the canonical transaction table, validated and sorted by time."""

    @abc.abstractmethod
    def fingerprint(self) -> str:
        """A short stable id of the data this source yields (file hash or generator settings)."""


def file_sha256(path: Path) -> str:
    """The sha256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def validate_transactions(frame: pd.DataFrame, origin: str, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """Check a canonical table and return it typed and sorted by time.

    Args:
        frame: the table, with the columns of ``tasks.fraud.schema.REQUIRED`` plus ``extra``.
        origin: what the table came from (a file path), named in every error.
        extra: names of additional numeric feature columns.

    Raises:
        DataError: naming ``origin`` and the problem: no rows, a missing column, NaN or negative
            amounts, labels other than 0/1, non-numeric or missing extra values.
    """
    if frame.empty:
        raise DataError(f"{origin}: no transactions (the table is empty); point the source at a file with data.")
    missing = [column for column in (*REQUIRED, *extra) if column not in frame.columns]
    if missing:
        raise DataError(f"{origin}: missing column(s) {missing}; map them in the source's 'columns' setting.")
    for column in (CARD, TERMINAL, AMOUNT, LABEL, *extra):
        if frame[column].isna().any():
            rows = np.flatnonzero(frame[column].isna().to_numpy())[:5].tolist()
            raise DataError(f"{origin}: column '{column}' has missing or NaN values (rows {rows}); fix or drop them.")
    if not pd.api.types.is_datetime64_any_dtype(frame[TIME]):
        raise DataError(f"{origin}: column '{TIME}' is not a timestamp; give it in ISO format, e.g. 2018-04-01 00:00:31.")
    if frame[TIME].isna().any():
        raise DataError(f"{origin}: column '{TIME}' has missing timestamps; fix or drop those rows.")
    amounts = pd.to_numeric(frame[AMOUNT], errors="coerce")
    if amounts.isna().any() or not np.isfinite(amounts.to_numpy()).all() or (amounts < 0).any():
        raise DataError(f"{origin}: column '{AMOUNT}' must hold finite numbers >= 0.")
    labels = set(pd.unique(frame[LABEL]).tolist())
    if not labels <= {0, 1}:
        raise DataError(f"{origin}: column '{LABEL}' must be 0 or 1, found {sorted(labels)[:5]}.")
    for column in extra:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise DataError(f"{origin}: extra column '{column}' is not numeric.")
    typed = frame.assign(
        **{
            CARD: frame[CARD].astype("int64"),
            TERMINAL: frame[TERMINAL].astype("int64"),
            AMOUNT: amounts.astype("float64"),
            LABEL: frame[LABEL].astype("int8"),
        }
    )
    return typed.sort_values(TIME, kind="stable").reset_index(drop=True)
