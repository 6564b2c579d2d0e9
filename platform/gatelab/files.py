"""Where data sets live, and files written whole or not at all (what a download or a cache needs)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["DATA_ENV", "atomic_file", "cache_dir", "data_dir", "data_root"]

#: The environment variable naming the folder of the data sets (``<task>/...`` inside it).
DATA_ENV = "GATELAB_DATA"


def data_root() -> Path | None:
    """The folder named by ``GATELAB_DATA``, or None when it is unset or empty."""
    root = os.environ.get(DATA_ENV)
    return Path(root).expanduser() if root else None


def cache_dir(*parts: str) -> Path:
    """``~/.cache/gatelab/<parts>``: where data sets are downloaded and preprocessed data cached."""
    return Path.home().joinpath(".cache", "gatelab", *parts)


def data_dir(*parts: str) -> Path:
    """``$GATELAB_DATA/<parts>`` when ``GATELAB_DATA`` is set, else the download cache ``~/.cache/gatelab/<parts>``."""
    root = data_root()
    return root.joinpath(*parts) if root is not None else cache_dir(*parts)


@contextlib.contextmanager
def atomic_file(dest: Path) -> Iterator[BinaryIO]:
    """A binary file to write that appears at ``dest`` only once complete.

    It is a temporary file in ``dest``'s folder (created if missing), flushed to disk and moved into
    place with ``os.replace``; if the writing fails, the temporary file is removed and ``dest`` is untouched.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, dest)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
