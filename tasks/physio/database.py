"""The MIT-BIH Arrhythmia Database on disk: where it is, fetching it, and reading checked records.

Where the records come from, in order:

1. ``path`` given to the DataModule: that folder, read as is (never downloaded into).
2. ``$GATELAB_DATA/physio/mitdb`` when ``GATELAB_DATA`` is set.
3. ``~/.cache/gatelab/physio/mitdb``, where missing records are downloaded from PhysioNet with
   ``wfdb`` on first use, each checked before it is moved into place.

Records are read the way the WFDB format defines them, by ``wfdb``: a header may omit the sample
count (the length is then the signal file's), and the format's invalid-sample value (-32768 in
format 16, -2048 in format 212, ...) becomes a missing value (NaN) in the physical signal. On top,
every record is checked: where the header gives the sample count, the ``.dat`` size must match it
(samples x channels in the storage format), and where it gives checksums, they must match the
samples. Data: Moody GB, Mark RG, *The impact of the MIT-BIH Arrhythmia Database*, IEEE EMB
20(3):45-50, 2001; PhysioNet (Goldberger et al. 2000), ODC-By 1.0.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from gatelab.errors import DataError
from gatelab.files import cache_dir, data_dir, data_root

from tasks.physio.aami import aami_labels

if TYPE_CHECKING:
    import wfdb

__all__ = [
    "DATABASE",
    "Lead",
    "RecordData",
    "database_dir",
    "download_records",
    "ensure_records",
    "files_fingerprint",
    "lead_columns",
    "read_record",
    "verify_record",
]

DATABASE = "mitdb"
"""PhysioNet's name of the MIT-BIH Arrhythmia Database."""
EXTENSIONS = ("hea", "dat", "atr")
# Bytes per sample of the WFDB storage formats a size can be checked for.
_BYTES_PER_SAMPLE = {"8": 1.0, "16": 2.0, "61": 2.0, "80": 1.0, "160": 2.0, "212": 1.5, "24": 3.0, "32": 4.0}

Fetch = Callable[[list[str], Path], None]
Lead = str | tuple[str, ...]
"""A lead by name (``sig_name``), or alternatives: the first of them a record holds."""


@dataclass(frozen=True)
class RecordData:
    """One record's chosen leads and its beat annotations.

    Args:
        name: the record's name (``"114"``).
        fs: sampling frequency in Hz.
        signal: the chosen leads in mV, shape (samples, leads); NaN where a sample holds the format's
            invalid-sample value (a missing value).
        beat_samples: sample index of every beat annotation (R peak), ascending.
        beat_labels: the AAMI class code of each of those beats (``tasks.physio.aami``).
        not_beats: annotations that are not classified beats (rhythm, noise, ...), counted by symbol.
    """

    name: str
    fs: float
    signal: np.ndarray
    beat_samples: np.ndarray
    beat_labels: np.ndarray
    not_beats: Mapping[str, int] = field(default_factory=dict)


def database_dir(path: str | None) -> tuple[Path, bool]:
    """The folder of the records, and whether missing records may be downloaded into it.

    Args:
        path: an explicit folder, or None for ``$GATELAB_DATA/physio/mitdb`` or the download cache.
    """
    if path is not None:
        return Path(path).expanduser(), False
    return data_dir("physio", DATABASE), data_root() is None


def _missing_files(directory: Path, record: str) -> list[str]:
    return [f"{record}.{ext}" for ext in EXTENSIONS if not (directory / f"{record}.{ext}").is_file()]


def ensure_records(directory: Path, records: Iterable[str], downloadable: bool, fetch: Fetch | None = None) -> None:
    """Make sure every record's ``.hea``, ``.dat`` and ``.atr`` are in ``directory``, downloading if allowed.

    Raises:
        DataError: a record is missing and may not (or could not) be downloaded, naming it and the fix.
    """
    missing = [record for record in records if _missing_files(directory, record)]
    if not missing:
        return
    if downloadable:
        download_records(directory, missing, fetch or _wfdb_fetch)
        return
    record = missing[0]
    raise DataError(
        f"record {record}: {', '.join(_missing_files(directory, record))} not found in {directory} "
        f"({len(missing)} record(s) missing: {', '.join(missing)}). Put the MIT-BIH files there (see "
        f"physio/SOURCE.md), point GATELAB_DATA at the folder holding physio/{DATABASE}, or unset GATELAB_DATA "
        f"to download the database into {cache_dir()}."
    )


def _wfdb_fetch(records: list[str], dest: Path) -> None:
    """Download records' header, signal and reference annotation files from PhysioNet."""
    import wfdb  # local: wfdb (and its pandas/matplotlib/requests) is heavy, and the options import this module

    wfdb.dl_database(DATABASE, str(dest), records=records, annotators=["atr"])


def download_records(directory: Path, records: list[str], fetch: Fetch) -> None:
    """Fetch records into a temporary folder beside ``directory``, check each, then move them into place.

    A record whose files fail the checks is not moved, so the folder never holds a damaged record.

    Args:
        directory: the database folder (created).
        records: record names to fetch.
        fetch: ``(records, folder) -> None``, writing the files into the folder (tests pass a local one).

    Raises:
        DataError: the download failed or a downloaded record fails its checks.
    """
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".download-", dir=directory) as temp:
        staging = Path(temp)
        try:
            fetch(records, staging)
        except (OSError, ValueError) as error:
            raise DataError(
                f"cannot download records {', '.join(records)} of '{DATABASE}' from PhysioNet ({error}); check the "
                f"network, or set GATELAB_DATA to a folder holding physio/{DATABASE}."
            ) from None
        for record in records:
            verify_record(staging, record)
        for record in records:
            for ext in EXTENSIONS:
                os.replace(staging / f"{record}.{ext}", directory / f"{record}.{ext}")


def _fix(directory: Path, record: str) -> str:
    if directory.resolve().is_relative_to(cache_dir("physio", DATABASE).resolve()):
        return f"delete {directory / record}.* and run again to download it afresh"
    return f"replace {directory / record}.* with PhysioNet's original files (see physio/SOURCE.md)"


def _read_checked(directory: Path, record: str) -> wfdb.Record:
    """Read a record's digital samples after checking its files against its header.

    A header without the sample count (legal WFDB) leaves the length to ``wfdb``, which takes it from
    the signal file's size; the size check needs the count and is skipped then, the checksums are not.
    """
    import wfdb  # local: wfdb (and its pandas/matplotlib/requests) is heavy, and the options import this module

    missing = _missing_files(directory, record)
    if missing:
        raise DataError(f"record {record}: {', '.join(missing)} not found in {directory}; {_fix(directory, record)}.")
    base = str(directory / record)
    try:
        header = wfdb.rdheader(base)
    except (OSError, ValueError, IndexError) as error:
        raise DataError(f"record {record}: unreadable header {base}.hea ({error}); "
                        f"{_fix(directory, record)}.") from None
    for file_name in sorted(set(header.file_name)):
        fmts = {fmt for name, fmt in zip(header.file_name, header.fmt) if name == file_name}
        channels = sum(name == file_name for name in header.file_name)
        fmt = fmts.pop()
        if fmts or fmt not in _BYTES_PER_SAMPLE:
            raise DataError(f"record {record}: storage format(s) {header.fmt} of {file_name} are not supported; "
                            f"convert the record to format 16 or 212 (e.g. with wfdb.wrsamp).")
        if header.sig_len is None:
            continue
        expected = math.ceil(header.sig_len * channels * _BYTES_PER_SAMPLE[fmt])
        actual = (directory / file_name).stat().st_size
        if actual != expected:
            raise DataError(
                f"record {record}: {file_name} has {actual:,} bytes but its header promises {expected:,} "
                f"({header.sig_len:,} samples x {channels} channels, format {fmt}); the file is truncated or does "
                f"not belong to this header: {_fix(directory, record)}."
            )
    try:
        signals = wfdb.rdrecord(base, physical=False)
    except (OSError, ValueError, IndexError) as error:
        raise DataError(f"record {record}: unreadable signal file ({error}); {_fix(directory, record)}.") from None
    if signals.checksum is not None:
        computed = np.sum(signals.d_signal, axis=0, dtype=np.int64) % 65536
        stated = np.asarray(signals.checksum, dtype=np.int64) % 65536
        if not np.array_equal(computed, stated):
            raise DataError(
                f"record {record}: the samples' checksums {computed.tolist()} differ from the header's "
                f"{stated.tolist()} (channels {signals.sig_name}); the data is damaged or does not belong to "
                f"this header: {_fix(directory, record)}."
            )
    return signals


def verify_record(directory: Path, record: str) -> None:
    """Check a record's files (present, ``.dat`` size, header checksums, readable annotations).

    Raises:
        DataError: naming the record, what is wrong and the fix.
    """
    _read_checked(directory, record)
    _read_beats(directory, record)


def _read_beats(directory: Path, record: str) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Each beat's sample and AAMI class code, and the other annotations counted by symbol."""
    import wfdb  # local: wfdb (and its pandas/matplotlib/requests) is heavy, and the options import this module

    try:
        annotation = wfdb.rdann(str(directory / record), "atr")
    except (OSError, ValueError, IndexError) as error:
        raise DataError(f"record {record}: unreadable annotations {record}.atr ({error}); "
                        f"{_fix(directory, record)}.") from None
    labels = aami_labels(annotation.symbol)
    beats = labels >= 0
    others = Counter(symbol for symbol, label in zip(annotation.symbol, labels) if label < 0)
    return np.asarray(annotation.sample)[beats].astype(np.int64), labels[beats], dict(sorted(others.items()))


def lead_columns(record: str, sig_name: list[str], leads: tuple[Lead, ...]) -> list[int]:
    """The channel of each lead in a record's header: a name, or the first of a tuple of alternatives it has.

    Args:
        record: the record's name (for the message).
        sig_name: the header's lead names, in channel order.
        leads: lead names, e.g. ``("MLII",)``, or ``("MLII", ("V1", "V2", "V4", "V5"))`` for MLII plus
            whichever of those precordial leads the record holds (MIT-BIH's second lead varies by record).

    Raises:
        DataError: a lead (or every alternative of one) the record does not have.
    """
    options = [(lead,) if isinstance(lead, str) else tuple(lead) for lead in leads]
    unknown = [" or ".join(map(repr, names)) for names in options if not set(names) & set(sig_name)]
    if unknown:
        raise DataError(
            f"record {record}: no lead {', '.join(unknown)}; it has {sig_name}. Set "
            f"data.init_args.preprocess.leads to lead names every record has (MLII, the default, is in all "
            f"non-paced MIT-BIH records), or leave this record out of the split."
        )
    return [next(sig_name.index(name) for name in names if name in sig_name) for names in options]


def read_record(directory: Path, record: str, leads: tuple[Lead, ...]) -> RecordData:
    """Read a checked record: the named leads in mV (NaN where invalid) and its beats with their AAMI classes.

    Args:
        directory: the database folder.
        record: the record's name, e.g. ``"114"``.
        leads: lead names (``sig_name`` in the header) or tuples of alternatives (``lead_columns``), e.g.
            ``("MLII",)``; MLII is channel 1 in record 114.

    Raises:
        DataError: a missing or damaged file, or a lead the record does not have.
    """
    signals = _read_checked(directory, record)
    columns = lead_columns(record, signals.sig_name, leads)
    # wfdb's digital-to-physical conversion, the one rdrecord(physical=True) runs: the format's
    # invalid-sample value becomes NaN.
    physical = signals.dac(return_res=64)[:, columns]
    samples, labels, others = _read_beats(directory, record)
    return RecordData(name=record, fs=float(signals.fs), signal=physical, beat_samples=samples, beat_labels=labels,
                      not_beats=others)


def files_fingerprint(directory: Path, records: Iterable[str]) -> str:
    """sha256 over the records' names and file contents: changes whenever any byte does."""
    digest = hashlib.sha256()
    for record in sorted(records):
        for ext in EXTENSIONS:
            path = directory / f"{record}.{ext}"
            digest.update(f"{record}.{ext}\0".encode())
            with open(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()
