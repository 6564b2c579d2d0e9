"""Where fraud transactions come from: one interface, several sources."""

from __future__ import annotations

import abc
import dataclasses
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from gatelab.errors import DataError
from gatelab.files import file_sha256

from tasks.fraud.schema import AMOUNT, CARD, LABEL, REQUIRED, TERMINAL, TIME, TRANSACTION_KEY
from tasks.fraud.timestamps import TimestampOptions, python_value, read_timestamps
from tasks.tables import Dialect, read_table

__all__ = ["READ_NOTES", "ColumnMap", "CsvSource", "TransactionSource", "csv_line", "table_row",
           "validate_transactions"]


READ_NOTES = "gatelab_read_notes"
"""Key of a loaded table's ``attrs``: one line per thing reading the file did (decompression, ...)."""


class TransactionSource(abc.ABC):
    """A source of card transactions in the canonical table (see ``tasks.fraud.schema``)."""

    extra_columns: tuple[str, ...] = ()

    def prepare(self) -> object:
        """Fetch the data where it must be downloaded first; nothing to do by default."""
        return None

    def origin(self) -> str:
        """What the data comes from (a file path), as named in error messages."""
        return type(self).__name__

    @abc.abstractmethod
    def load(self) -> pd.DataFrame:
        """Return the canonical transaction table, validated and sorted by time."""

    @abc.abstractmethod
    def fingerprint(self) -> str:
        """A short stable id of the data this source yields (file hash or generator settings)."""


def table_row(position: int) -> str:
    """A row's place in a table without lines (Parquet, generated data): ``row 1`` is the first."""
    return f"row {position + 1}"


def csv_line(position: int) -> str:
    """A row's place in a CSV file with a header, one line per row: ``line 2`` is the first row."""
    return f"line {position + 2}"


def validate_transactions(frame: pd.DataFrame, origin: str, extra: tuple[str, ...] = (),
                          file_columns: Mapping[str, str] | None = None,
                          where: Callable[[int], str] = table_row) -> pd.DataFrame:
    """Check a canonical table and return it typed and sorted by time.

    Card and terminal ids that are not integers (e.g. text) are numbered in order of appearance.

    Args:
        frame: the table, with the columns of ``tasks.fraud.schema.REQUIRED`` plus ``extra``, rows in
            the order of the source (index 0..n-1).
        origin: what the table came from (a file path), named in every error.
        extra: names of additional numeric feature columns.
        file_columns: canonical name -> the column's name in the file, so errors name both.
        where: row position -> its place in the source (``csv_line``: ``line 5``), named in errors.

    Raises:
        DataError: naming ``origin``, the problem and the first bad row with its value: no rows, a
            missing column, missing, non-numeric, infinite or negative amounts, labels other than
            0/1, non-numeric or infinite extra values, rows that are the same transaction (card,
            time, amount, terminal) with different labels.
    """
    def named(column: str) -> str:
        in_file = (file_columns or {}).get(column, column)
        return f"'{column}'" if in_file == column else f"'{column}' (file column '{in_file}')"

    def refuse(column: str, bad: pd.Series | np.ndarray, problem: str, fix: str) -> None:
        bad = np.asarray(bad, dtype=bool)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise DataError(f"{origin}: column {named(column)} {problem} ({where(first)}: "
                            f"{python_value(frame[column], first)!r}, {int(bad.sum())} row(s) in all); {fix}.")

    if frame.empty:
        raise DataError(f"{origin}: no transactions (the table is empty); point the source at a file with data.")
    missing = [column for column in (*REQUIRED, *extra) if column not in frame.columns]
    if missing:
        raise DataError(f"{origin}: missing column(s) {missing}; map them in the source's 'columns' setting.")
    frame = frame.reset_index(drop=True)
    for column in (CARD, TIME, TERMINAL, AMOUNT, LABEL, *extra):
        refuse(column, frame[column].isna(), "has missing values", "fill or drop those rows")
    if not pd.api.types.is_datetime64_any_dtype(frame[TIME]):
        raise DataError(f"{origin}: column {named(TIME)} is not a timestamp; give it in ISO format, "
                        "e.g. 2018-04-01 00:00:31.")
    amounts = pd.to_numeric(frame[AMOUNT], errors="coerce")
    if amounts.isna().any():
        comma = frame[AMOUNT].astype(str).str.contains(",", regex=False)
        refuse(AMOUNT, amounts.isna() & comma, "is not numeric",
               "if the file writes decimals with a comma, set decimal: ',' on the source")
        refuse(AMOUNT, amounts.isna(), "is not numeric", "fix those rows")
    refuse(AMOUNT, ~np.isfinite(amounts.to_numpy(np.float64)) | (amounts < 0).to_numpy(),
           "must hold finite numbers >= 0", "fix those rows")
    labels = pd.to_numeric(frame[LABEL], errors="coerce")
    refuse(LABEL, ~labels.isin([0, 1]), "must be 0 or 1", "fix those rows (1 for fraud, 0 otherwise)")
    for column in extra:
        values = pd.to_numeric(frame[column], errors="coerce")
        refuse(column, values.isna(), "is not numeric", "fix those rows or leave the column out of 'extra'")
        refuse(column, ~np.isfinite(values.to_numpy(np.float64)), "has infinite values", "fix or drop those rows")
    typed = frame.assign(
        **{AMOUNT: amounts.astype("float64"), LABEL: labels.astype("int8")},
        **{column: pd.to_numeric(frame[column]) for column in extra},
    )
    _refuse_conflicting_labels(typed, origin, where)
    for column in (CARD, TERMINAL):
        if not pd.api.types.is_integer_dtype(typed[column]):
            typed[column] = pd.factorize(typed[column])[0]
    typed = typed.astype({CARD: "int64", TERMINAL: "int64"})
    return typed.sort_values(TIME, kind="stable").reset_index(drop=True)


def _refuse_conflicting_labels(frame: pd.DataFrame, origin: str, where: Callable[[int], str]) -> None:
    """Raise DataError, naming the rows, when one transaction (card, time, amount, terminal) has both labels."""
    repeated = frame[frame.duplicated(list(TRANSACTION_KEY), keep=False)]
    if repeated.empty:
        return
    labels = repeated.groupby(list(TRANSACTION_KEY), sort=False)[LABEL].transform("nunique")
    conflicting = repeated[labels > 1]
    if conflicting.empty:
        return
    first = conflicting.iloc[0]
    same = conflicting[(conflicting[list(TRANSACTION_KEY)] == first[list(TRANSACTION_KEY)]).all(axis=1)]
    rows = ", ".join(f"{where(int(position))} (label {label})" for position, label in same[LABEL].items())
    count = conflicting.groupby(list(TRANSACTION_KEY), sort=False).ngroups
    raise DataError(
        f"{origin}: {rows} are the same transaction (card {first[CARD]}, time {first[TIME]}, amount "
        f"{first[AMOUNT]}, terminal {first[TERMINAL]}) with different labels ({count} such transaction(s) in "
        "all); keep the row with the right label and remove the others."
    )


@dataclass(frozen=True)
class ColumnMap:
    """Which columns of a user's file hold the canonical fields.

    Args:
        card: the card (customer) id.
        timestamp: the transaction time (read by the rules of ``tasks.fraud.timestamps``).
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
    """Any transactions file, delimited text (plain, gzip, bz2, xz or a one-file zip) or Parquet, with a
    column mapping.

    Text files are read by ``tasks.tables.read_table`` (row shapes and ambiguous numbers checked, a
    trailing delimiter on every row read and noted, compression found by content); what reading did is
    kept in the loaded table's ``attrs[READ_NOTES]``. Timestamps are read by the rules of
    ``tasks.fraud.timestamps`` (ISO 8601 as written; anything else only with ``timestamp_format`` or
    ``dayfirst``; numbers only with ``unit``).

    Args:
        path: the file.
        columns: where the canonical fields are in it.
        sep: the CSV field separator, one character (``;``, ``\t``, ``|``); it may be the decimal mark
            when numbers are quoted (``"16,75"``).
        decimal: the CSV decimal mark, ``.`` or ``,``.
        thousands: the CSV thousands mark (``.``, ``,``, ``'``, ``" "``), unset when numbers are not grouped;
            with it unset, amounts like ``2.680`` under ``decimal: ","`` are refused as ambiguous.
        encoding: the CSV text encoding (a Python codec name: ``utf-8``, ``latin-1``, ``cp1252``).
        timestamp_format: strftime format of the time column (e.g. ``%d/%m/%Y %H:%M:%S``).
        dayfirst: for non-ISO dates without a format: true for day/month/year, false for month/day/year.
        timezone: IANA zone (``Europe/Paris``) of times without a UTC offset; the table is kept in it.
        unit: ``s`` or ``ms`` for a time column of numbers since 1970-01-01 UTC.

    Raises:
        ConfigError: naming the setting, for a separator or thousands mark that is not one character, a
            thousands mark equal to the decimal one, an unknown encoding or time zone, or both
            ``timestamp_format`` and ``dayfirst``.
    """

    path: str
    columns: ColumnMap = ColumnMap()
    sep: str = ","
    decimal: Literal[".", ","] = "."
    thousands: str | None = None
    encoding: str = "utf-8"
    timestamp_format: str | None = None
    dayfirst: bool | None = None
    timezone: str | None = None
    unit: Literal["s", "ms"] | None = None

    def __post_init__(self) -> None:
        # built here so that a bad dialect or timestamp setting is refused when the config is read
        self.dialect  # noqa: B018
        self.timestamps  # noqa: B018

    @property
    def dialect(self) -> Dialect:
        """How the text file is written."""
        return Dialect(self.sep, self.decimal, self.thousands, self.encoding)

    @property
    def timestamps(self) -> TimestampOptions:
        """The settings that say how the time column is read."""
        return TimestampOptions(self.timestamp_format, self.dayfirst, self.timezone, self.unit)

    @property
    def extra_columns(self) -> tuple[str, ...]:  # type: ignore[override]
        return self.columns.extra

    def origin(self) -> str:
        return self.path

    def load(self) -> pd.DataFrame:
        path = Path(self.path)
        raw, where, notes = self._read(path)
        mapping = {self.columns.card: CARD, self.columns.timestamp: TIME, self.columns.amount: AMOUNT,
                   self.columns.terminal: TERMINAL, self.columns.label: LABEL}
        named = [self.columns.card, self.columns.timestamp, self.columns.amount, self.columns.terminal,
                 self.columns.label, *self.columns.extra]
        repeated = sorted({name for name in named if named.count(name) > 1})
        if repeated:
            raise DataError(f"{path}: the source's 'columns' mapping uses column(s) {repeated} for more than "
                            "one field; map each field (card, timestamp, amount, terminal, label, extra) to its own "
                            "column.")
        missing = [name for name in (*mapping, *self.columns.extra) if name not in raw.columns]
        if missing:
            raise DataError(f"{path}: missing column(s) {missing} (the file has {list(raw.columns)[:12]}); "
                            "fix the source's 'columns' mapping.")
        frame = raw[[*mapping, *self.columns.extra]].rename(columns=mapping)
        frame[TIME] = read_timestamps(frame[TIME], self.timestamps, f"{path}: column '{self.columns.timestamp}'", where)
        file_columns = {canonical: name for name, canonical in mapping.items()}
        table = validate_transactions(frame, str(path), self.columns.extra, file_columns, where)
        table.attrs[READ_NOTES] = notes
        return table

    def fingerprint(self) -> str:
        settings = {field.name: getattr(self, field.name) for field in dataclasses.fields(self) if field.name != "path"}
        text = f"{file_sha256(Path(self.path))}:{settings}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def _read(self, path: Path) -> tuple[pd.DataFrame, Callable[[int], str], tuple[str, ...]]:
        """The file as read (``tasks.tables.read_table`` for text), each row's place in it, and the notes."""
        if not path.is_file():
            raise DataError(f"{path}: no such file; set the source's 'path' to an existing CSV or Parquet file.")
        if path.suffix != ".parquet":
            table = read_table(path, self.dialect, numeric=(self.columns.amount, self.columns.label,
                                                            *self.columns.extra))
            return table.frame, table.where, table.notes
        try:
            return pd.read_parquet(path), table_row, ()
        except (ValueError, OSError) as error:
            raise DataError(f"{path}: cannot be read as Parquet: {error}") from None
