"""Delimited text tables (CSV and kin) read as pandas reads them, after checks that pandas does not make.

Every task with a tabular source reads it here (``tasks.fraud.sources.CsvSource``; a series task the same way):

1. the file's content, decompressed when it is gzip, bz2, xz or a one-file zip (by its magic bytes,
   ``gatelab.files.read_decompressed``), decoded with the dialect's encoding;
2. a header of one column holding another separator is refused, naming that separator;
3. row shapes: every row's fields are counted (``csv`` module, same quoting as pandas) before any column is
   typed. Rows with one field more than the header, the last one empty, on every row (a trailing
   delimiter) are read with ``index_col=False`` (pandas' way for such files) and that is said; any other
   count is refused, naming the first such line and the counts;
4. ``pandas.read_csv`` with the dialect's ``sep``, ``decimal`` and ``thousands`` (pandas semantics);
5. ambiguous numbers: with ``thousands`` unset, a column that should be numeric and holds a value of
   digit groups of three after a mark other than the decimal one (``2.680`` with decimal ``,``; ``1'250``;
   ``12 500``) is refused, naming the line and the ``thousands`` setting that reads it as a grouped number.
"""

from __future__ import annotations

import codecs
import csv
import io
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from gatelab.errors import ConfigError, DataError
from gatelab.files import read_decompressed

__all__ = ["Dialect", "Table", "read_table"]

_SEPARATORS = {";": "';'", "\t": "tab", "|": "'|'", ",": "','"}
_GROUP_MARKS = ".,' \u00a0\u202f"
# a whole value of digit groups of three after one repeated mark, optionally with a decimal part
_GROUPED = rf"^[-+]?\d{{1,3}}(?P<mark>[{_GROUP_MARKS}])\d{{3}}(?:(?P=mark)\d{{3}})*(?:[.,]\d+)?$"


def _shown(mark: str) -> str:
    """A mark as written in a YAML setting: ``"."``, ``"'"``, ``" "``, ``"\\u00a0"``."""
    return f'"{mark}"' if mark.isprintable() and mark != "\u00a0" and mark != "\u202f" else f'"\\u{ord(mark):04x}"'


@dataclass(frozen=True)
class Dialect:
    """How a delimited text file is written (pandas ``read_csv`` semantics).

    Args:
        sep: the field separator, one character (``,``, ``;``, ``\t``, ``|``). It may equal ``decimal``
            when numbers are quoted (``"16,75"``), as pandas reads them.
        decimal: the decimal mark, ``.`` or ``,``.
        thousands: the thousands mark (``.``, ``,``, ``'``, ``" "``), None when numbers are not grouped.
        encoding: the text encoding (a Python codec name: ``utf-8``, ``latin-1``, ``cp1252``).

    Raises:
        ConfigError: naming the setting: a separator or thousands mark that is not one character, a
            thousands mark equal to the decimal mark, an unknown encoding.
    """

    sep: str = ","
    decimal: Literal[".", ","] = "."
    thousands: str | None = None
    encoding: str = "utf-8"

    def __post_init__(self) -> None:
        if not isinstance(self.sep, str) or len(self.sep) != 1 or self.sep in "\"\r\n":
            raise ConfigError(f"sep: must be one character such as ',', ';', '|' or \"\\t\", got {self.sep!r}.")
        if self.thousands is not None:
            if not isinstance(self.thousands, str) or len(self.thousands) != 1 or self.thousands in "\"\r\n0123456789":
                raise ConfigError("thousands: must be one mark such as '.', ',', \"'\" or ' ', got "
                                  f"{self.thousands!r}.")
            if self.thousands == self.decimal:
                raise ConfigError(f"thousands: {self.thousands!r} is also the decimal mark (decimal); set one of "
                                  "them to another mark.")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ConfigError(f"encoding: {self.encoding!r} is not a known text encoding; use e.g. utf-8, latin-1 "
                              "or cp1252.") from None


@dataclass(frozen=True)
class Table:
    """A table as read, with where each row is in the file and what reading it did.

    Args:
        frame: the table, columns as in the file, rows 0..n-1 in file order.
        lines: the file line (from 1) where each row starts, shape (n,).
        notes: one line per thing the reading did beyond plain CSV (decompression, a trailing delimiter).
    """

    frame: pd.DataFrame
    lines: np.ndarray
    notes: tuple[str, ...]

    def where(self, position: int) -> str:
        """A row's place in the file: ``line 7``."""
        return f"line {int(self.lines[position])}"


def read_table(path: Path, dialect: Dialect, numeric: Sequence[str] = ()) -> Table:
    """Read a delimited text file, checked as described in the module's docstring.

    Args:
        path: the file (plain or compressed, see ``gatelab.files.read_decompressed``).
        dialect: how it is written.
        numeric: columns that must hold numbers; checked for ambiguous thousands marks.

    Raises:
        DataError: one line naming the file: missing, empty, damaged archive, not in the encoding, a
            header that shows another separator, rows with another number of fields than the header
            (the first line and the counts), an ambiguous number (column, line, the ``thousands`` setting).
    """
    if not path.is_file():
        raise DataError(f"{path}: no such file; give the path of an existing file.")
    content = read_decompressed(path)
    notes = [note for note in [content.describe(path)] if note]
    text = _decode(path, content.data, dialect.encoding, dialect.sep)
    counts, lines, trailing = _shape(path, text, dialect)
    if trailing:
        notes.append(f"{path}: every data row ends with a trailing {_SEPARATORS.get(dialect.sep, repr(dialect.sep))} "
                     "(one field more than the header, always empty); that empty last field is ignored")
    try:
        frame = pd.read_csv(io.StringIO(text), sep=dialect.sep, decimal=dialect.decimal, thousands=dialect.thousands,
                            index_col=False if trailing else None, skip_blank_lines=True)
    except (ValueError, pd.errors.ParserError) as error:
        raise DataError(f"{path}: cannot be read as CSV: {error}") from None
    table = Table(frame, lines, tuple(notes))
    if dialect.thousands is None:
        for column in numeric:
            if column in frame.columns and not pd.api.types.is_numeric_dtype(frame[column]):
                _refuse_ambiguous(path, table, column, dialect)
    return table


def _decode(path: Path, data: bytes, encoding: str, sep: str) -> str:
    """The file's text; a UTF-8 byte-order mark is not part of it."""
    if codecs.lookup(encoding).name == "utf-8":
        encoding = "utf-8-sig"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        # a header in another separator says more than a byte further down does
        header = next(csv.reader([data.split(b"\n", 1)[0].decode(encoding, errors="replace")], delimiter=sep))
        _check_separator(path, header, sep)
        byte = data[error.start:error.start + 1]
        raise DataError(f"{path}: is not {encoding.removesuffix('-sig')} text (byte {byte!r} at offset "
                        f"{error.start}); set encoding: on the source (e.g. latin-1 or cp1252).") from None
    if not text.strip():
        raise DataError(f"{path}: the file is empty; it needs a header row and data rows.")
    return text


def _shape(path: Path, text: str, dialect: Dialect) -> tuple[np.ndarray, np.ndarray, bool]:
    """Each data row's field count and start line, and whether every row ends with a trailing delimiter.

    Raises:
        DataError: a header of one column that holds another separator; rows whose field count is not
            the header's (nor the header's plus an empty last field on every row).
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=dialect.sep, quotechar='"', doublequote=True)
    counts, lines = array("q"), array("q")
    header: list[str] | None = None
    trailing, previous = True, 0
    try:
        for row in reader:
            start, previous = previous + 1, reader.line_num
            if not row:
                continue
            if header is None:
                header = row
                continue
            counts.append(len(row))
            lines.append(start)
            trailing = trailing and row[-1] == ""
    except csv.Error as error:
        raise DataError(f"{path}: cannot be read as CSV (line {reader.line_num}: {error}).") from None
    if header is None or not counts:
        raise DataError(f"{path}: the file has no data rows; it needs a header row and data rows.")
    _check_separator(path, header, dialect.sep)
    found, starts = np.frombuffer(counts, dtype=np.int64), np.frombuffer(lines, dtype=np.int64)
    expected = len(header)
    trailing = trailing and bool((found == expected + 1).all())
    if not trailing and (found != expected).any():
        bad = np.flatnonzero(found != expected)
        first = int(bad[0])
        quoted = (" with decimal equal to sep, numbers with a decimal mark must be quoted (\"16,75\");"
                  if dialect.decimal == dialect.sep else "")
        raise DataError(f"{path}: line {int(starts[first])}: expected {expected} fields as in the header, found "
                        f"{int(found[first])} ({len(bad)} row(s) in all with another count);{quoted} fix those rows "
                        "(a field that holds the separator must be quoted).")
    return found, starts, trailing


def _check_separator(path: Path, header: list[str], sep: str) -> None:
    if len(header) != 1:
        return
    name = header[0]
    for separator, shown in _SEPARATORS.items():
        if separator != sep and separator in name:
            also = " (and decimal: ',' if amounts are written like 16,75)" if separator == ";" else ""
            setting = '"\\t"' if separator == "\t" else repr(separator)
            raise DataError(f"{path}: the header reads as one column {name!r} with sep {sep!r}; the file looks "
                            f"{shown}-separated: set sep: {setting} on the source{also}.")


def _refuse_ambiguous(path: Path, table: Table, column: str, dialect: Dialect) -> None:
    """Raise DataError for the first value of ``column`` grouped by a mark that is not the decimal one."""
    values = table.frame[column].astype("string").str.strip()
    marks = values.str.extract(_GROUPED)["mark"]
    bad = (marks.notna() & (marks != dialect.decimal)).to_numpy(dtype=bool)
    if not bad.any():
        return
    first = int(np.flatnonzero(bad)[0])
    value, mark = str(values.iloc[first]), str(marks.iloc[first])
    other = "," if dialect.decimal == "." else "."
    instead = f", or decimal: \"{other}\" if it marks decimals there" if mark == other else ""
    raise DataError(f"{path}: column '{column}' holds {value!r} ({table.where(first)}; {int(bad.sum())} value(s) like "
                    f"it), digit groups of three after {mark!r}, which is not the decimal mark {dialect.decimal!r}; if "
                    f"{mark!r} marks thousands there, set thousands: {_shown(mark)} on the source{instead}.")
