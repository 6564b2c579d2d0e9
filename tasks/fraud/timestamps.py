"""Reading a transactions file's time column: never guessed, row by row or otherwise.

The rules (``read_timestamps``):

- ISO 8601 text (``2024-03-01 10:00:00``, ``2024-03-01T10:00:00+01:00``) is read as written.
- Any other text needs an explicit ``timestamp_format`` (strftime, e.g. ``%d/%m/%Y %H:%M``) or
  ``dayfirst`` (true: day/month/year, false: month/day/year). Without either the column is refused,
  even when every row happens to be unambiguous. With ``dayfirst`` one format is taken from the
  first non-ISO row and every row must match it.
- Numbers are seconds (``unit: s``) or milliseconds (``unit: ms``) since 1970-01-01 UTC; without a
  ``unit`` they are refused.
- Times with UTC offsets (``+01:00`` and ``+02:00`` across a daylight-saving change) are the same
  instants in UTC, or in ``timezone`` when given. ``timezone`` (an IANA name, e.g. ``Europe/Paris``)
  names the zone of times without an offset; the table is then kept in that zone, so calendar days
  and hours are local. A naive time that does not exist or exists twice in that zone (a DST change)
  is refused. Without offsets and without ``timezone`` times stay as written (naive).

Errors name the file, the column, the first bad row and its value, and the option that settles it.
"""

from __future__ import annotations

import warnings
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from gatelab.errors import ConfigError, DataError
from pandas.tseries.api import guess_datetime_format

__all__ = ["TimestampOptions", "python_value", "read_timestamps"]

_EARLIEST = pd.Timestamp("1990-01-01", tz="UTC")  # numeric times before it come from a wrong unit
_OPTIONS_HINT = "set timestamp_format (strftime, e.g. '%d/%m/%Y %H:%M:%S') or dayfirst: true / false on the source"


@dataclass(frozen=True)
class TimestampOptions:
    """How to read a time column (see the module's rules); the CSV source's settings of the same names.

    Args:
        timestamp_format: strftime format every row must match, or None.
        dayfirst: True (day/month/year) or False (month/day/year) for non-ISO text, or None.
        timezone: IANA zone of times without a UTC offset, and the zone of the result, or None.
        unit: ``"s"`` or ``"ms"`` for numeric times, or None.

    Raises:
        ConfigError: naming the setting: both ``timestamp_format`` and ``dayfirst``, an unknown
            ``timezone``, a ``unit`` other than s or ms.
    """

    timestamp_format: str | None = None
    dayfirst: bool | None = None
    timezone: str | None = None
    unit: str | None = None

    def __post_init__(self) -> None:
        if self.timestamp_format is not None and self.dayfirst is not None:
            raise ConfigError(f"timestamp_format: {self.timestamp_format!r} already fixes the day/month order; "
                              "remove dayfirst from the source.")
        if self.unit not in (None, "s", "ms"):
            raise ConfigError(f"unit: must be s or ms (seconds or milliseconds since 1970-01-01 UTC), "
                              f"got {self.unit!r}.")
        if self.timezone is not None:
            try:
                zoneinfo.ZoneInfo(self.timezone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
                raise ConfigError(f"timezone: {self.timezone!r} is not an IANA time zone; use e.g. Europe/Paris "
                                  "or UTC.") from None


def read_timestamps(values: pd.Series, options: TimestampOptions, origin: str,
                    where: Callable[[int], str]) -> pd.Series:
    """Parse a time column by the module's rules.

    Args:
        values: the column as read from the file (text, numbers or datetimes), index 0..n-1.
        options: the source's timestamp options.
        origin: the file and column, e.g. ``"tx.csv: column 'tx_time'"``, starting every error.
        where: position -> the row's place in the file (e.g. ``"line 5"``).

    Returns:
        ``datetime64[ns]`` (naive, as written) or ``datetime64[ns, <zone>]`` (UTC or ``timezone``).

    Raises:
        DataError: a missing value, text that is not ISO 8601 without a format or ``dayfirst``, a
            row that does not match the format, numbers without a ``unit``, a naive time that does
            not exist or is ambiguous in ``timezone``; one line naming the first such row.
    """
    missing = values.isna().to_numpy()
    if missing.any():
        raise DataError(f"{origin} has a missing timestamp ({where(_first(missing))}); fill or drop that row.")
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        parsed = _from_numbers(values, options, origin, where)
    else:
        parsed = _from_text(values.astype(str), options, origin, where)
    return _in_zone(parsed, values, options, origin, where).dt.as_unit("ns")


def python_value(values: pd.Series, position: int) -> object:
    """The value at ``position`` as a plain Python object, for messages (16.75, not np.float64(16.75))."""
    return values.iloc[[position]].tolist()[0]


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _from_numbers(values: pd.Series, options: TimestampOptions, origin: str, where: Callable[[int], str]) -> pd.Series:
    if options.unit is None:
        example = python_value(values, 0)
        likely = "ms" if abs(example) >= 1e11 else "s"
        raise DataError(f"{origin} holds numbers ({where(0)}: {example!r}), not date-times; set unit: {likely} "
                        "(s: seconds, ms: milliseconds since 1970-01-01 UTC) on the source, "
                        "or write the times as ISO 8601.")
    try:
        # in nanoseconds here, as the table keeps them: pandas 3 may pick a coarser unit that holds more years
        parsed = pd.to_datetime(values, unit=options.unit, utc=True).dt.as_unit("ns")
    except (ValueError, OverflowError) as error:  # OutOfBoundsDatetime is a ValueError
        raise DataError(f"{origin} has numbers out of range for unit: {options.unit} ({error}); "
                        "check the unit (s: seconds, ms: milliseconds).") from None
    early = (parsed < _EARLIEST).to_numpy()
    if early.any():  # seconds read as milliseconds land in January 1970
        first = _first(early)
        raise DataError(f"{origin}: {where(first)} {python_value(values, first)!r} reads as "
                        f"{parsed.iloc[first]:%Y-%m-%d %H:%M:%S} "
                        f"UTC with unit: {options.unit}, before any card transaction; check the unit (s: seconds, "
                        "ms: milliseconds).")
    return parsed


def _from_text(values: pd.Series, options: TimestampOptions, origin: str, where: Callable[[int], str]) -> pd.Series:
    if options.unit is not None:
        raise DataError(f"{origin} holds text ({where(0)}: {values.iloc[0]!r}), but unit: {options.unit} is for "
                        "numeric times; remove unit from the source.")
    if options.timestamp_format is not None:
        return _with_format(values, options.timestamp_format, options.timezone, origin, where,
                            f"does not match timestamp_format {options.timestamp_format!r}; fix the row or the format")
    iso = _with_format(values, "ISO8601", options.timezone, origin, where, None)
    not_iso = iso.isna().to_numpy()
    if not not_iso.any():
        return iso
    first = _first(not_iso)
    example = values.iloc[first]
    if options.dayfirst is None:
        raise DataError(f"{origin} is not ISO 8601 ({where(first)}: {example!r}{_readings(example)}) and dates are "
                        f"never guessed; {_OPTIONS_HINT}.")
    with warnings.catch_warnings():  # pandas warns when the guess disagrees with dayfirst; we check that below
        warnings.simplefilter("ignore", UserWarning)
        guessed = guess_datetime_format(example, dayfirst=options.dayfirst)
    if guessed is None or guessed.startswith("%Y") or "%d" not in guessed or "%m" not in guessed:
        raise DataError(f"{origin}: dayfirst settles day/month/year and month/day/year dates, not {example!r} "
                        f"({where(first)}); set timestamp_format (strftime) on the source instead.")
    setting, other = f"dayfirst: {str(options.dayfirst).lower()}", f"dayfirst: {str(not options.dayfirst).lower()}"
    order = "day first" if options.dayfirst else "month first"
    if (guessed.index("%d") < guessed.index("%m")) != options.dayfirst:
        raise DataError(f"{origin}: {where(first)} {example!r} cannot be read {order} ({setting}); "
                        f"set {other} or a timestamp_format on the source.")
    return _with_format(values, guessed, options.timezone, origin, where,
                        f"does not match {guessed!r} ({order}, by {setting}, "
                        f"the layout of {where(first)} {example!r}); "
                        f"fix the row, or set {other} or a timestamp_format on the source")


def _with_format(values: pd.Series, fmt: str, timezone: str | None, origin: str, where: Callable[[int], str],
                 mismatch: str | None) -> pd.Series:
    """``pd.to_datetime`` with one format; a row that does not match is refused with ``mismatch`` (the
    problem and the fix), or becomes NaT where ``mismatch`` is None. Rows with different UTC offsets
    come back in UTC."""
    try:
        try:
            parsed = pd.to_datetime(values, format=fmt, errors="coerce")
        except ValueError as error:
            if "Mixed timezones" not in str(error):
                raise
            parsed = _mixed_offsets(values, fmt, timezone, origin, where)
    except ValueError as error:  # a bad directive in the format
        raise DataError(f"{origin}: timestamp_format {fmt!r} is not a strftime format ({error}); fix it.") from None
    bad = parsed.isna().to_numpy()
    if mismatch is not None and bad.any():
        first = _first(bad)
        raise DataError(f"{origin}: {where(first)} {values.iloc[first]!r} {mismatch}.")
    return parsed


def _mixed_offsets(values: pd.Series, fmt: str, timezone: str | None, origin: str,
                   where: Callable[[int], str]) -> pd.Series:
    """Rows with different UTC offsets, in UTC; rows without an offset among them are read in
    ``timezone``, and refused without one."""
    parsed = pd.to_datetime(values, format=fmt, errors="coerce", utc=True)
    has_offset = (values.str.contains(r"(?:Z|[+-]\d\d(?::?\d\d)?)\s*$", regex=True)
                  & values.str.contains(":", regex=False))
    without = (~has_offset & parsed.notna()).to_numpy()
    if not without.any():
        return parsed
    if timezone is None:
        first, other = _first(without), _first(has_offset.to_numpy())
        raise DataError(f"{origin}: {where(first)} {values.iloc[first]!r} has no UTC offset while {where(other)} "
                        f"{values.iloc[other]!r} has one; give every row an offset, or set timezone: (the zone of "
                        "the rows without one, e.g. Europe/Paris) on the source.")
    naive = pd.to_datetime(values[without], format=fmt)
    parsed[without] = _localize(naive, timezone, values, origin, where).dt.tz_convert("UTC")
    return parsed


def _readings(example: str) -> str:
    """How the example reads day first and month first, when the two differ."""
    readings = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for dayfirst in (True, False):
            fmt = guess_datetime_format(example, dayfirst=dayfirst)
            if fmt is not None and "%d" in fmt and "%m" in fmt and not fmt.startswith("%Y"):
                stamp = pd.to_datetime(example, format=fmt, errors="coerce")
                if stamp is not pd.NaT:
                    readings[dayfirst] = f"{stamp:%d %B %Y}".lstrip("0")
    if len(readings) < 2 or readings[True] == readings[False]:
        return ""
    return f": {readings[True]} with dayfirst: true, {readings[False]} with dayfirst: false"


def _in_zone(parsed: pd.Series, values: pd.Series, options: TimestampOptions, origin: str,
             where: Callable[[int], str]) -> pd.Series:
    """Aware times to ``timezone`` (else UTC); naive times localized to ``timezone`` (else kept naive)."""
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        return parsed.dt.tz_convert(options.timezone or "UTC")
    if options.timezone is None:
        return parsed
    return _localize(parsed, options.timezone, values, origin, where)


def _localize(naive: pd.Series, timezone: str, values: pd.Series, origin: str,
              where: Callable[[int], str]) -> pd.Series:
    """Naive times (index: positions in ``values``) as times in ``timezone``; a time that does not exist
    or exists twice there (a daylight-saving change) is refused."""
    local = naive.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    bad = local.isna().to_numpy()
    if bad.any():
        first = int(local.index[_first(bad)])
        raise DataError(f"{origin}: {where(first)} '{values.iloc[first]}' does not exist or exists twice in "
                        f"{timezone} (a daylight-saving change); write the times with their UTC offset "
                        "(e.g. +01:00) or in UTC.")
    return local
