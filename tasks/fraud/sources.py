"""Where fraud transactions come from: one interface, several sources."""

from __future__ import annotations

import abc
import hashlib
import zlib
from collections.abc import Mapping
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


def validate_transactions(frame: pd.DataFrame, origin: str, extra: tuple[str, ...] = (),
                          file_columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Check a canonical table and return it typed and sorted by time.

    Args:
        frame: the table, with the columns of ``tasks.fraud.schema.REQUIRED`` plus ``extra``.
        origin: what the table came from (a file path), named in every error.
        extra: names of additional numeric feature columns.
        file_columns: canonical name -> the column's name in the file, so errors name both.

    Raises:
        DataError: naming ``origin`` and the problem: no rows, a missing column, NaN or negative
            amounts, labels other than 0/1, non-numeric, missing or infinite extra values.
    """
    def named(column: str) -> str:
        in_file = (file_columns or {}).get(column, column)
        return f"'{column}'" if in_file == column else f"'{column}' (file column '{in_file}')"

    if frame.empty:
        raise DataError(f"{origin}: no transactions (the table is empty); point the source at a file with data.")
    missing = [column for column in (*REQUIRED, *extra) if column not in frame.columns]
    if missing:
        raise DataError(f"{origin}: missing column(s) {missing}; map them in the source's 'columns' setting.")
    for column in (CARD, TERMINAL, AMOUNT, LABEL, *extra):
        if frame[column].isna().any():
            rows = np.flatnonzero(frame[column].isna().to_numpy())[:5].tolist()
            raise DataError(f"{origin}: column {named(column)} has missing or NaN values (rows {rows}); "
                            "fix or drop them.")
    if not pd.api.types.is_datetime64_any_dtype(frame[TIME]):
        raise DataError(f"{origin}: column {named(TIME)} is not a timestamp; give it in ISO format, "
                        "e.g. 2018-04-01 00:00:31.")
    if frame[TIME].isna().any():
        raise DataError(f"{origin}: column {named(TIME)} has missing timestamps; fix or drop those rows.")
    amounts = pd.to_numeric(frame[AMOUNT], errors="coerce")
    if amounts.isna().any() or not np.isfinite(amounts.to_numpy()).all() or (amounts < 0).any():
        raise DataError(f"{origin}: column {named(AMOUNT)} must hold finite numbers >= 0.")
    labels = set(pd.unique(frame[LABEL]).tolist())
    if not labels <= {0, 1}:
        raise DataError(f"{origin}: column {named(LABEL)} must be 0 or 1, found {sorted(labels, key=str)[:5]}.")
    for column in extra:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise DataError(f"{origin}: extra column '{column}' is not numeric.")
        if not np.isfinite(frame[column].to_numpy(np.float64)).all():
            raise DataError(f"{origin}: extra column '{column}' has infinite values; fix or drop them.")
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

    def __post_init__(self) -> None:
        # a list (Python callers) would make the source unhashable; a lone name is one column, not its letters
        extra = (self.extra,) if isinstance(self.extra, str) else tuple(self.extra)
        object.__setattr__(self, "extra", extra)


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
        named = [self.columns.card, self.columns.timestamp, self.columns.amount, self.columns.terminal,
                 self.columns.label, *self.columns.extra]
        repeated = sorted({name for name in named if named.count(name) > 1})
        if repeated:
            raise DataError(f"{path}: the source's 'columns' mapping uses column(s) {repeated} for more than one "
                            "field; map each field (card, timestamp, amount, terminal, label, extra) to its own column.")
        missing = [name for name in (*mapping, *self.columns.extra) if name not in raw.columns]
        if missing:
            raise DataError(f"{path}: missing column(s) {missing} (the file has {list(raw.columns)[:12]}); "
                            "fix the source's 'columns' mapping.")
        frame = raw[[*mapping, *self.columns.extra]].rename(columns=mapping)
        frame[TIME] = _parse_times(frame[TIME], path, self.columns.timestamp)
        for column in (CARD, TERMINAL):
            if not pd.api.types.is_integer_dtype(frame[column]):
                frame[column] = pd.factorize(frame[column])[0]
        file_columns = {canonical: name for name, canonical in mapping.items()}
        return validate_transactions(frame, str(path), self.columns.extra, file_columns)

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
    except (ValueError, OSError, EOFError, zlib.error, pd.errors.ParserError) as error:
        raise DataError(f"{path}: cannot be read as {'Parquet' if path.suffix == '.parquet' else 'CSV'}: {error}") from None


def _parse_times(values: pd.Series, path: Path, column: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    if pd.api.types.is_numeric_dtype(values) and values.notna().any():
        # pandas would read numbers as nanoseconds since 1970: every transaction on 1970-01-01
        raise DataError(f"{path}: column '{column}' holds numbers ({values.dropna().iloc[0]!r}), not timestamps; "
                        "give date-times, e.g. 2018-04-01 00:00:31.")
    try:
        parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    except ValueError as error:  # e.g. offsets that differ between rows
        raise DataError(f"{path}: column '{column}' has timestamps that cannot be read together ({error}); give "
                        "all of them in one time zone, e.g. 2018-04-01 00:00:31 or 2018-04-01 00:00:31+02:00.") from None
    bad = parsed.isna() & values.notna()
    if bad.any() or values.isna().any():
        example = values[bad | values.isna()].iloc[0]
        raise DataError(f"{path}: column '{column}' has a timestamp that cannot be parsed ({example!r}, "
                        f"row {int(np.flatnonzero((bad | values.isna()).to_numpy())[0])}); use e.g. 2018-04-01 00:00:31.")
    return parsed
