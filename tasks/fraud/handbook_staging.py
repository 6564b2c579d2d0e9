"""Staging the fraud handbook's data set: which file it is (name, sha256s, source repository and commit)
and its rebuild from the book's 183 daily pickles.

Each pickle is downloaded (``gatelab.files.fetch_checked``) and checked against the sha256 and size in
``handbook_manifest.txt``, unpickled with an allow-list of pandas/numpy reconstruction classes only,
concatenated in date order and written atomically as one gzip CSV whose bytes do not depend on the time.
``tasks.fraud.handbook`` reads the result.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import pickle
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from gatelab.errors import DataError
from gatelab.files import atomic_file, fetch_checked, url_bytes
from pandas.compat.pickle_compat import Unpickler as _PandasCompatUnpickler

__all__ = ["COMMIT", "CONTENT_SHA256", "CSV_COLUMNS", "FILENAME", "MANIFEST", "REPOSITORY", "SHA256", "ManifestEntry",
           "RestrictedUnpickler", "download_handbook", "frames_to_csv", "read_manifest", "unpickle_frame",
           "write_atomic"]

FILENAME = "handbook_simulated_transactions.csv.gz"
SHA256 = "ca7a073d6646e2ff7698b693a0d9a68ebb4fcf4ab89e8eb7fba42fb8da68d473"
"""sha256 of the staged gzip file."""
CONTENT_SHA256 = "77ba91942d0377c96abf9a28d9abb4617369070138cac26658148e344b29a7cf"
"""sha256 of its uncompressed CSV text: a rebuilt file may compress to other bytes (zlib builds differ)."""
REPOSITORY = "Fraud-Detection-Handbook/simulated-data-raw"
COMMIT = "6e67dbd0a3bfe0d7ec33abc4bce5f37cd4ff0d6a"
RAW_URL = "https://raw.githubusercontent.com/{repository}/{commit}/{path}"
MANIFEST = Path(__file__).with_name("handbook_manifest.txt")
CSV_COLUMNS = (
    "TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT",
    "TX_TIME_SECONDS", "TX_TIME_DAYS", "TX_FRAUD", "TX_FRAUD_SCENARIO",
)  # fmt: skip
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class ManifestEntry:
    """One original daily pickle.

    Args:
        sha256: its sha256.
        size: its size in bytes.
        path: its path in the data repository (``data/2018-04-01.pkl``).
    """

    sha256: str
    size: int
    path: str

    @property
    def url(self) -> str:
        """Its raw-file URL at the pinned commit."""
        return RAW_URL.format(repository=REPOSITORY, commit=COMMIT, path=self.path)


def read_manifest(path: Path = MANIFEST) -> list[ManifestEntry]:
    """Parse ``sha256  git_blob_sha1  size  path`` lines (``#`` comments skipped), sorted by path (= date).

    Args:
        path: the manifest file.

    Raises:
        DataError: a malformed line, naming it.
    """
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 4 or len(parts[0]) != 64 or not parts[2].isdigit() or not parts[3].endswith(".pkl"):
            raise DataError(f"{path}:{number}: malformed manifest line {line!r}; expected 'sha256 blob size path'.")
        entries.append(ManifestEntry(sha256=parts[0], size=int(parts[2]), path=parts[3]))
    return sorted(entries, key=lambda entry: entry.path)


_BUILTIN_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}
_RENAMED = {
    # pandas 2 removed these index classes; their pickles rebuild as a plain Index
    ("pandas.core.indexes.numeric", "Int64Index"): ("pandas.core.indexes.base", "Index"),
    ("pandas.core.indexes.numeric", "UInt64Index"): ("pandas.core.indexes.base", "Index"),
    ("pandas.core.indexes.numeric", "Float64Index"): ("pandas.core.indexes.base", "Index"),
    # numpy 2 moved numpy.core to numpy._core
    ("numpy.core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"): ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"): ("numpy._core.numeric", "_frombuffer"),
}
_ALLOWED = frozenset(
    {
        ("builtins", "slice"),
        ("builtins", "bytearray"),
        ("builtins", "object"),
        ("copyreg", "_reconstructor"),
        ("_codecs", "encode"),
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy._core.numeric", "_frombuffer"),
        ("pandas", "DataFrame"),
        ("pandas", "Index"),
        ("pandas", "Series"),
        ("pandas", "RangeIndex"),
        ("pandas", "DatetimeIndex"),
        ("pandas.core.frame", "DataFrame"),
        ("pandas.core.series", "Series"),
        ("pandas.core.internals.managers", "BlockManager"),
        ("pandas.core.internals.managers", "SingleBlockManager"),
        ("pandas.core.internals.blocks", "new_block"),
        ("pandas._libs.internals", "_unpickle_block"),
        ("pandas.core.indexes.base", "_new_Index"),
        ("pandas.core.indexes.base", "Index"),
        ("pandas.core.indexes.range", "RangeIndex"),
        ("pandas.core.indexes.datetimes", "_new_DatetimeIndex"),
        ("pandas.core.indexes.datetimes", "DatetimeIndex"),
        ("pandas._libs.arrays", "__pyx_unpickle_NDArrayBacked"),
        ("pandas.core.arrays.datetimes", "DatetimeArray"),
        ("pandas.arrays", "DatetimeArray"),
        ("pandas._libs.tslibs.timestamps", "_unpickle_timestamp"),
        ("pandas._libs.tslibs.timestamps", "Timestamp"),
        ("pandas._libs.tslibs.nattype", "__nat_unpickle"),
        ("pandas._libs.tslibs.nattype", "_nat_unpickle"),
    }
)


class RestrictedUnpickler(_PandasCompatUnpickler):
    """Unpickles pandas DataFrames of old pandas versions and nothing else.

    Only the pandas/numpy reconstruction classes and functions in an allow-list can be loaded
    (anything else raises ``pickle.UnpicklingError``); classes that pandas removed
    (``Int64Index`` ...) are mapped to their successors. It builds on pandas' own compatibility
    unpickler, which knows how to rebuild old block managers.
    """

    def find_class(self, module: str, name: str) -> Any:
        """Resolve a global only when it is allowed."""
        key = (_BUILTIN_MODULES.get(module, module), name)
        key = _RENAMED.get(key, key)
        if key not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: not a pandas/numpy reconstruction class")
        return super().find_class(*key)


def unpickle_frame(data: bytes, origin: str) -> pd.DataFrame:
    """Unpickle one DataFrame with the restricted unpickler.

    Args:
        data: the pickle's bytes.
        origin: where they came from, named in errors.

    Raises:
        DataError: the pickle refers to a class outside the allow-list, is damaged, or is not a DataFrame.
    """
    try:
        frame = RestrictedUnpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, KeyError, TypeError,
            ValueError) as error:
        raise DataError(f"{origin}: cannot be unpickled safely ({error}).") from None
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{origin}: holds a {type(frame).__name__}, not a DataFrame.")
    return frame


def frames_to_csv(frames: Iterable[pd.DataFrame]) -> bytes:
    """Concatenate daily frames (in the given order) into the handbook CSV text.

    Integer columns stored as Python-int ``object`` columns are written as plain integers,
    timestamps as ``YYYY-MM-DD HH:MM:SS``.

    Args:
        frames: the daily DataFrames with the columns of ``CSV_COLUMNS``.
    """
    frame = pd.concat(list(frames), ignore_index=True)
    missing = [name for name in CSV_COLUMNS if name not in frame.columns]
    if missing:
        raise DataError(f"the downloaded pickles lack column(s) {missing}; expected {list(CSV_COLUMNS)}.")
    frame = frame[list(CSV_COLUMNS)]
    for name in CSV_COLUMNS:
        if frame[name].dtype == object:
            frame[name] = frame[name].astype("int64")
    return frame.to_csv(index=False, date_format="%Y-%m-%d %H:%M:%S").encode()


def write_atomic(data: bytes, dest: Path, compress: bool = True) -> Path:
    """Write bytes (gzipped when ``compress``) to ``dest`` via a temp file in its folder and ``os.replace``.

    A reader never sees a half-written file, and a failure leaves no temp file behind.

    Args:
        data: the content.
        dest: the final path; its folder is created.
        compress: gzip the content (header without time stamp, so the bytes are reproducible).
    """
    with atomic_file(dest) as raw:
        if compress:
            with gzip.GzipFile(filename=dest.name.removesuffix(".gz"), mode="wb", fileobj=raw, mtime=0) as out:
                out.write(data)
        else:
            raw.write(data)
    return dest


def download_handbook(
    dest: Path,
    manifest: Path = MANIFEST,
    fetch: Callable[[str], bytes] = url_bytes,
    content_sha256: str | None = CONTENT_SHA256,
) -> Path:
    """Download the daily pickles, check them, rebuild the CSV and write it atomically to ``dest``.

    Args:
        dest: where the gzip CSV goes.
        manifest: the pickles' manifest (sha256, size, path).
        fetch: URL -> bytes (tests pass a local stand-in).
        content_sha256: the expected sha256 of the CSV text; None skips the check.

    Raises:
        DataError: a download fails or differs from the manifest, a pickle is refused, or the
            rebuilt CSV differs from the known one (nothing is written then).
    """
    entries = read_manifest(manifest)
    _LOG.info("downloading %d daily files of %s@%s to rebuild %s", len(entries), REPOSITORY, COMMIT[:7], dest)
    frames = []
    for entry in entries:
        data = fetch_checked(entry.url, entry.sha256, size=entry.size, fetch=fetch,
                             fix=f"check the network, or set GATELAB_DATA to a folder holding fraud/{FILENAME}, or "
                                 "give the source's 'path'")
        frames.append(unpickle_frame(data, entry.url))
    text = frames_to_csv(frames)
    if content_sha256 is not None and hashlib.sha256(text).hexdigest() != content_sha256:
        raise DataError(
            f"the CSV rebuilt from {REPOSITORY}@{COMMIT[:7]} differs from the known file; nothing was written to "
            f"{dest}. Set GATELAB_DATA to a folder holding fraud/{FILENAME} instead."
        )
    return write_atomic(text, dest)
