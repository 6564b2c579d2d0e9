"""The fraud handbook's simulated transactions (183 days, 1,754,155 transactions) as a source.

Data: Le Borgne Y-A, Siblini W, Lebichot B, Bontempi G. *Reproducible Machine Learning for
Credit Card Fraud Detection - Practical Handbook*. Université Libre de Bruxelles, 2022;
repository ``Fraud-Detection-Handbook/simulated-data-raw`` (synthetic data, no license file;
cite the book).

Where the file comes from, in order:

1. ``HandbookSource(path=...)``: that file, read as is (its sha256 is its fingerprint).
2. ``$GATELAB_DATA/fraud/handbook_simulated_transactions.csv.gz`` when ``GATELAB_DATA`` is set.
3. ``~/.cache/gatelab/fraud/handbook_simulated_transactions.csv.gz``, downloaded there on first use
   from the book's 183 daily pickles at a fixed commit, each checked against the sha256 in
   ``handbook_manifest.txt``, unpickled with an allow-list of pandas/numpy reconstruction classes
   only, concatenated in date order and written atomically as one gzip CSV.

The default file (2 and 3) is checked against its known sha256 on every load. The staging tools (the
rebuild of step 3) are in ``tasks.fraud.handbook_staging``; their names are re-exported here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from gatelab.errors import DataError
from gatelab.files import cache_dir, data_dir, data_root, file_sha256, read_decompressed

from tasks.fraud.handbook_staging import (
    CONTENT_SHA256,
    CSV_COLUMNS,
    FILENAME,
    SHA256,
    ManifestEntry,
    RestrictedUnpickler,
    download_handbook,
    frames_to_csv,
    read_manifest,
    unpickle_frame,
    write_atomic,
)
from tasks.fraud.schema import AMOUNT, CARD, LABEL, SCENARIO, TERMINAL, TIME
from tasks.fraud.sources import READ_NOTES, TransactionSource, csv_line, validate_transactions

__all__ = [
    "CONTENT_SHA256",
    "FILENAME",
    "HandbookSource",
    "ManifestEntry",
    "RestrictedUnpickler",
    "SHA256",
    "default_path",
    "download_handbook",
    "frames_to_csv",
    "read_handbook_csv",
    "read_manifest",
    "unpickle_frame",
    "write_atomic",
]

COLUMNS = {
    "CUSTOMER_ID": CARD,
    "TX_DATETIME": TIME,
    "TX_AMOUNT": AMOUNT,
    "TERMINAL_ID": TERMINAL,
    "TX_FRAUD": LABEL,
    "TX_FRAUD_SCENARIO": SCENARIO,
}
_OPTIONAL = ("TX_FRAUD_SCENARIO",)


def default_path() -> Path:
    """``$GATELAB_DATA/fraud/<FILENAME>``, else the download cache's copy."""
    return data_dir("fraud") / FILENAME


@dataclass(frozen=True)
class HandbookSource(TransactionSource):
    """The fraud handbook's simulated transactions.

    Args:
        path: a copy of the gzip CSV; None: ``$GATELAB_DATA/fraud/handbook_simulated_transactions.csv.gz``,
            or, with ``GATELAB_DATA`` unset, the cache copy (downloaded on first use).
    """

    path: str | None = None

    def file(self) -> Path:
        """The file this source reads."""
        return Path(self.path).expanduser() if self.path is not None else default_path()

    def origin(self) -> str:
        return str(self.file())

    def prepare(self) -> Path:
        """Make sure the file is there (downloading it into the cache if that is where it belongs).

        Raises:
            DataError: the file is missing and cannot be downloaded, naming the path and the fix.
        """
        path = self.file()
        if path.is_file():
            return path
        if self.path is None and data_root() is None:
            return download_handbook(path)
        where = "the given path" if self.path is not None else "GATELAB_DATA"
        raise DataError(
            f"{path}: no such file ({where}). Set GATELAB_DATA to the folder holding fraud/{FILENAME}, "
            f"give the source's 'path' to a copy of it, or unset GATELAB_DATA to download it into "
            f"{cache_dir('fraud')}."
        )

    def load(self) -> pd.DataFrame:
        """Read, check and map the file to the canonical table (``tasks.fraud.schema``).

        Raises:
            DataError: missing file, wrong sha256 (default file only), unreadable or malformed file.
        """
        path = self.prepare()
        if self.path is None:
            _check_default_file(path)
        raw, notes = read_handbook_csv(path)
        missing = [name for name in COLUMNS if name not in raw.columns and name not in _OPTIONAL]
        if missing:
            raise DataError(f"{path}: missing column(s) {missing}; expected the handbook's header {list(CSV_COLUMNS)}.")
        frame = raw[[name for name in COLUMNS if name in raw.columns]].rename(columns=COLUMNS)
        frame[TIME] = frame[TIME].astype("datetime64[ns]")
        if SCENARIO in frame.columns:
            frame[SCENARIO] = frame[SCENARIO].astype("int8")
        table = validate_transactions(frame, str(path), where=csv_line)
        table.attrs[READ_NOTES] = notes
        return table

    def fingerprint(self) -> str:
        """The default file's known sha256, or the given file's sha256."""
        if self.path is None:
            return SHA256
        path = self.file()
        if not path.is_file():
            raise DataError(f"{path}: no such file; give the source's 'path' to a copy of {FILENAME}.")
        return file_sha256(path)


def read_handbook_csv(path: Path) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Read a CSV (plain, gzip, bz2, xz or a one-file zip, by content) with pyarrow's multithreaded parser into
    pandas, columns as in the file; with what reading did (``gatelab.files.FileBytes.describe``).

    Raises:
        DataError: a damaged archive, or a file that cannot be parsed as CSV, naming it.
    """
    content = read_decompressed(path)
    try:
        table = pacsv.read_csv(pa.BufferReader(content.data))
    except (pa.ArrowInvalid, OSError) as error:
        raise DataError(f"{path}: cannot be read as CSV ({error}); replace it with the handbook's file.") from None
    names = table.column_names
    if "TX_DATETIME" in names and not pa.types.is_timestamp(table.schema.field("TX_DATETIME").type):
        raise DataError(f"{path}: column 'TX_DATETIME' does not hold timestamps like 2018-04-01 00:00:31.")
    return table.to_pandas(), tuple(note for note in [content.describe(path)] if note)


def _check_default_file(path: Path) -> None:
    """Raise DataError unless the file is the known one (its gzip bytes, or else its CSV text)."""
    if file_sha256(path) == SHA256 or _content_sha256(path) == CONTENT_SHA256:
        return
    fix = (
        "delete it and load again to download it afresh"
        if data_root() is None
        else f"replace it with the original (sha256 {SHA256}, see SOURCE.md)"
    )
    raise DataError(f"{path}: sha256 does not match the fraud handbook's file (damaged or another version); {fix}.")


def _content_sha256(path: Path) -> str | None:
    """sha256 of the file's CSV text (decompressed where it is compressed), or None for a damaged archive."""
    try:
        return hashlib.sha256(read_decompressed(path).data).hexdigest()
    except DataError:
        return None
