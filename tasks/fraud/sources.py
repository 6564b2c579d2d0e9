"""Where fraud transactions come from: one interface, several sources."""

from __future__ import annotations

import abc
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gatelab.errors import DataError
from tasks.fraud.schema import AMOUNT, CARD, LABEL, REQUIRED, TERMINAL, TIME

__all__ = ["ColumnMap", "CsvSource", "TransactionSource", "file_sha256", "validate_transactions"]


class TransactionSource(abc.ABC):
    """A source of card transactions in the canonical table (see ``tasks.fraud.schema``)."""

    extra_columns: tuple[str, ...] = ()

    def prepare(self) -> object:
        """Fetch the data where it must be downloaded first; nothing to do by default."""
        return None

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


@dataclass(frozen=True)
class ColumnMap:
    """Which columns of a user's file hold the canonical fields.

    Args:
        card: the card (customer) id.
        timestamp: the transaction time (anything pandas parses, e.g. ISO 8601).
        amount: the amount.
        terminal: the terminal (merchant) id.
        label: the fraud label, 0 or 1.
        extra: further numeric columns used as features.
    """

    card: str = CARD
    timestamp: str = TIME
    amount: str = AMOUNT
    terminal: str = TERMINAL
    label: str = LABEL
    extra: tuple[str, ...] = ()


@dataclass(frozen=True)
class CsvSource(TransactionSource):
    """Any transactions file, CSV (optionally gzipped) or Parquet, with a column mapping.

    Args:
        path: the file.
        columns: where the canonical fields are in it.
    """

    path: str
    columns: ColumnMap = ColumnMap()

    @property
    def extra_columns(self) -> tuple[str, ...]:  # type: ignore[override]
        return self.columns.extra

    def load(self) -> pd.DataFrame:
        path = Path(self.path)
        raw = _read_table(path)
        mapping = {self.columns.card: CARD, self.columns.timestamp: TIME, self.columns.amount: AMOUNT,
                   self.columns.terminal: TERMINAL, self.columns.label: LABEL}
        missing = [name for name in (*mapping, *self.columns.extra) if name not in raw.columns]
        if missing:
            raise DataError(f"{path}: missing column(s) {missing} (the file has {list(raw.columns)[:12]}); "
                            "fix the source's 'columns' mapping.")
        frame = raw[[*mapping, *self.columns.extra]].rename(columns=mapping)
        frame[TIME] = _parse_times(frame[TIME], path, self.columns.timestamp)
        for column in (CARD, TERMINAL):
            if not pd.api.types.is_integer_dtype(frame[column]):
                frame[column] = pd.factorize(frame[column])[0]
        return validate_transactions(frame, str(path), self.columns.extra)

    def fingerprint(self) -> str:
        text = f"{file_sha256(Path(self.path))}:{self.columns}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{path}: no such file; set the source's 'path' to an existing CSV or Parquet file.")
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty; it needs a header row and transactions.") from None
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise DataError(f"{path}: cannot be read as {'Parquet' if path.suffix == '.parquet' else 'CSV'}: {error}") from None


def _parse_times(values: pd.Series, path: Path, column: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    bad = parsed.isna() & values.notna()
    if bad.any() or values.isna().any():
        example = values[bad | values.isna()].iloc[0]
        raise DataError(f"{path}: column '{column}' has a timestamp that cannot be parsed ({example!r}, "
                        f"row {int(np.flatnonzero((bad | values.isna()).to_numpy())[0])}); use e.g. 2018-04-01 00:00:31.")
    return parsed
