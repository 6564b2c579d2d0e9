"""The on-disk cache of preprocessed beats and their records' notes, keyed by the preprocessing and the data's
fingerprint."""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from collections.abc import Callable
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
from gatelab.files import atomic_file, cache_dir

from tasks.physio.preprocess import Beats, Preprocessing, RecordNotes

__all__ = ["FORMAT", "cache_key", "default_cache_dir", "load_or_build"]

FORMAT = 3
"""Version of the cached arrays' layout and meaning; part of every key (2: missing values, resampling, notes;
3: the full EC57 symbol table, non-beat annotations counted by symbol)."""
_NOTES = "notes."
_LOG = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``~/.cache/gatelab/physio/beats``."""
    return cache_dir("physio", "beats")


def cache_key(cfg: Preprocessing, records: tuple[int, ...], data_fingerprint: str) -> str:
    """A short hash of everything the beat arrays depend on: every ``Preprocessing`` setting (the cutting
    rate ``sampling_rate_hz`` included), the records, their files' fingerprint and ``FORMAT``."""
    text = json.dumps({"format": FORMAT, "preprocess": asdict(cfg), "records": list(records),
                       "data": data_fingerprint}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def load_or_build(directory: Path, key: str,
                  build: Callable[[], tuple[Beats, RecordNotes]]) -> tuple[Beats, RecordNotes, bool]:
    """The cached beats and notes of ``key`` in ``directory``, else ``build()`` them and cache them atomically.

    An unreadable cache file is rebuilt. Returns the beats, the notes and whether they came from the cache.
    """
    path = directory / f"beats-{key}.npz"
    if path.is_file():
        try:
            with np.load(path) as arrays:
                beats = Beats(**{field.name: arrays[field.name] for field in fields(Beats)})
                notes = RecordNotes(**{field.name: arrays[_NOTES + field.name] for field in fields(RecordNotes)})
                return beats, notes, True
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            _LOG.warning("rebuilding the unreadable beat cache %s (%s)", path, error)
    beats, notes = build()
    with atomic_file(path) as out:
        np.savez(out, **asdict(beats), **{_NOTES + name: value for name, value in asdict(notes).items()})
    return beats, notes, False
