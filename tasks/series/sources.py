"""Where a series task's data comes from: the UEA/UCR archive's ``.ts`` files or a tidy long table.

Each source reads into a ``Panel``: one array (time, channels) per series, a label per series (classification)
and, where the source defines one, the series' given split (the archive's train/test files).
The ``.ts`` format is the one aeon and sktime read and write (aeon.datasets.load_from_ts_file); the long
table is one row per series and time step (Wickham, "Tidy Data", J. Stat. Software 59(10), 2014).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from gatelab.errors import DataError

from tasks.tables import Dialect, Table, read_table

__all__ = ["ArchiveSource", "LongTable", "Panel", "SeriesSource", "TsFiles", "shipped_data_dir"]

#: Header tags of the ``.ts`` format (lower case), as aeon's and sktime's loaders read them.
TS_HEADER_TAGS = frozenset({"problemname", "timestamps", "missing", "univariate", "dimensions", "dimension",
                            "equallength", "serieslength", "classlabel", "targetlabel", "data"})


@dataclass(frozen=True)
class Panel:
    """Series as read: ``values[i]`` is series ``ids[i]`` as float32 (time, channels).

    ``labels`` holds one class name per series (``None`` for a source without labels); ``given_split``
    holds ``"train"`` or ``"test"`` per series where the source fixes the split, else ``None``.
    ``times`` holds each series' time stamps where the source has them; ``notes``, what reading did beyond
    plain text (decompression, a trailing delimiter).
    """

    ids: list[str]
    values: list[np.ndarray]
    channels: list[str]
    labels: np.ndarray | None
    given_split: np.ndarray | None
    origin: str
    times: list[np.ndarray] | None = None
    notes: tuple[str, ...] = ()


class SeriesSource(abc.ABC):
    """Where the series come from (a config names a subclass by ``class_path``)."""

    @abc.abstractmethod
    def read(self) -> Panel:
        """The series; raises ``DataError`` naming the file, the series and the fix."""


def shipped_data_dir() -> Path:
    """The data sets sktime ships in its wheel (``sktime/datasets/data``), BSD-3-Clause (sktime) over the
    UEA/UCR archive's files (Bagnall et al. 2018, https://timeseriesclassification.com)."""
    import sktime

    return Path(sktime.__file__).parent / "datasets" / "data"


def _check_ts_header(path: Path) -> None:
    """Refuse a header tag the format does not define (the loaders ignore it silently)."""
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            stripped = line.strip()
            if not stripped.startswith("@"):
                continue
            tag = stripped[1:].split(maxsplit=1)[0].lower() if len(stripped) > 1 else ""
            if tag not in TS_HEADER_TAGS:
                raise DataError(f"{path}: line {number}: unknown .ts header field '@{tag}'; the format defines "
                                f"@{', @'.join(sorted(TS_HEADER_TAGS))} (remove or rename it).")
            if tag == "data":
                return


def _read_ts(path: Path) -> tuple[list[np.ndarray], np.ndarray]:
    from aeon.datasets import load_from_ts_file

    if not path.is_file():
        raise DataError(f"{path}: no such .ts file; give the path of an archive file (e.g. GunPoint_TRAIN.ts).")
    _check_ts_header(path)
    try:
        x, y = load_from_ts_file(str(path))
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: not a readable .ts file ({err}); check it against the format's header "
                        "and data lines.") from err
    return [np.asarray(series, dtype=np.float32).T for series in x], np.asarray(y, dtype=str)


@dataclass(frozen=True)
class TsFiles(SeriesSource):
    """The archive's ``.ts`` files: ``train`` and, optionally, ``test`` (the given split is kept).

    Args:
        train: path of the training file (all series when ``test`` is not given).
        test: path of the test file.
    """

    train: str
    test: str | None = None

    def read(self) -> Panel:
        parts = [("train", Path(self.train))] + ([("test", Path(self.test))] if self.test else [])
        values, labels, split = [], [], []
        for name, path in parts:
            series, y = _read_ts(path)
            values += series
            labels.append(y)
            split += [name] * len(series)
        widths = {series.shape[1] for series in values}
        if len(widths) != 1:
            raise DataError(f"{self.train}: series have different numbers of dimensions {sorted(widths)}; "
                            "every series needs the same channels.")
        ids = [f"{name}-{index}" for index, name in enumerate(split)]
        channels = [f"dim_{index}" for index in range(widths.pop())]
        return Panel(ids=ids, values=values, channels=channels, labels=np.concatenate(labels),
                     given_split=np.asarray(split) if self.test else None, origin=self.train)


@dataclass(frozen=True)
class ArchiveSource(SeriesSource):
    """A data set shipped inside sktime's wheel, read offline: a classification pair
    (``<name>/<name>_TRAIN.ts``, ``_TEST.ts``, the archive's default split) or a forecasting series
    (``<name>/<name>.csv``: a time column and one value column).

    Args:
        name: the data set's folder, e.g. ``GunPoint``, ``JapaneseVowels``, ``BasicMotions``, ``Airline``.
    """

    name: str

    def read(self) -> Panel:
        folder = shipped_data_dir() / self.name
        train, test, table = (folder / f"{self.name}_TRAIN.ts", folder / f"{self.name}_TEST.ts",
                              folder / f"{self.name}.csv")
        if train.is_file():
            return TsFiles(str(train), str(test) if test.is_file() else None).read()
        if table.is_file():
            columns = pd.read_csv(table, nrows=0).columns
            return LongTable(str(table), time_column=columns[0], value_columns=list(columns[1:2])).read()
        shipped = sorted(path.name for path in shipped_data_dir().iterdir() if path.is_dir() and path.name[0] != "_")
        raise DataError(f"series data set '{self.name}' is not shipped with sktime; choose one of "
                        f"{', '.join(shipped)} or point a TsFiles or LongTable source at your files.")


@dataclass(frozen=True)
class LongTable(SeriesSource):
    """A tidy long table (CSV or Parquet): one row per series and time step.

    Args:
        path: the file (``.parquet`` read as Parquet, anything else as CSV).
        time_column: the time of each step (numbers or dates); steps are sorted by it within a series.
        value_columns: the features of each step (forecast targets are named by the task among them).
        id_column: the series id; ``None`` when the whole table is one series.
        label_column: a class per series (classification), the same on every row of a series.
        sep: the CSV field separator.
        decimal: the CSV decimal mark.
        thousands: the CSV thousands mark (``None``: numbers are not grouped).
        encoding: the CSV text encoding.

    CSV files are read by ``tasks.tables.read_table``, as the fraud task's are: compressed files by their
    content, row shapes checked before typing, ambiguous grouped numbers in the value columns refused.

    Raises:
        DataError: a missing column, a series of one step, labels that change within a series,
        a value column with gaps, or a series whose steps are not evenly spaced.
    """

    path: str
    time_column: str
    value_columns: list[str]
    id_column: str | None = None
    label_column: str | None = None
    sep: str = ","
    decimal: str = "."
    thousands: str | None = None
    encoding: str = "utf-8"

    def _table(self) -> Table:
        path = Path(self.path)
        if not path.is_file():
            raise DataError(f"{path}: no such file; point data.init_args.source.init_args.path at your table.")
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            return Table(frame, np.arange(2, len(frame) + 2), ())
        return read_table(path, Dialect(self.sep, self.decimal, self.thousands, self.encoding),
                          numeric=self.value_columns)

    def read(self) -> Panel:
        table = self._table()
        frame = table.frame
        wanted = [self.time_column, *self.value_columns, *(c for c in (self.id_column, self.label_column) if c)]
        missing = [column for column in wanted if column not in frame.columns]
        if missing:
            raise DataError(f"{self.path}: no column {', '.join(map(repr, missing))}; the table has "
                            f"{', '.join(map(str, frame.columns))} (set the source's column names).")
        for column in self.value_columns:
            gaps = frame[column].isna()
            if gaps.any():
                where = table.where(int(np.flatnonzero(gaps.to_numpy())[0]))
                raise DataError(f"{self.path}: column '{column}' has {int(gaps.sum())} empty values (first on "
                                f"{where}); fill or drop those steps before training (gatelab does not impute).")
        frame = frame.assign(_id=frame[self.id_column].astype(str) if self.id_column else "series")
        frame = frame.assign(_time=_times(frame[self.time_column]))
        ids, values, labels, times = [], [], [], []
        for series_id, rows in frame.sort_values(["_id", "_time"], kind="stable").groupby("_id", sort=False):
            ids.append(str(series_id))
            times.append(rows["_time"].to_numpy())
            values.append(rows[self.value_columns].to_numpy(dtype=np.float32))
            if self.label_column:
                classes = rows[self.label_column].astype(str).unique()
                if len(classes) > 1:
                    raise DataError(f"{self.path}: series '{series_id}' has labels {', '.join(classes[:3])} on its "
                                    f"steps; a classification table needs one label per series (column "
                                    f"'{self.label_column}').")
                labels.append(classes[0])
        for series_id, stamps in zip(ids, times):
            _check_steps(self.path, series_id, stamps)
        return Panel(ids=ids, values=values, channels=list(self.value_columns),
                     labels=np.asarray(labels) if self.label_column else None, given_split=None,
                     origin=self.path, times=times, notes=table.notes)


def _times(column: pd.Series) -> pd.Series:
    """Numbers as they are; anything else parsed as dates (ISO 8601 or ``YYYY-MM``)."""
    if pd.api.types.is_numeric_dtype(column):
        return column
    return pd.to_datetime(column, format="mixed")


def _check_steps(path: str, series_id: str, stamps: np.ndarray) -> None:
    """Refuse a series of one step, or one whose steps are not evenly spaced (months count as even)."""
    if len(stamps) < 2:
        raise DataError(f"{path}: series '{series_id}' has 1 step; a series needs at least 2 (drop it or join it "
                        "to its neighbours).")
    if np.issubdtype(stamps.dtype, np.datetime64):
        index = pd.DatetimeIndex(stamps)
        if len(index) > 2 and pd.infer_freq(index) is not None:
            return
        steps = np.unique(np.diff(index.asi8))
    else:
        steps = np.unique(np.diff(stamps))
    if len(steps) > 1:
        raise DataError(f"{path}: series '{series_id}' mixes sampling intervals ({len(steps)} different steps "
                        "between time stamps); resample it to one interval first (e.g. pandas resample).")
