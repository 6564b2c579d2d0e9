"""Where data sets live, files written whole or not at all (what a download or a cache needs), and data
files read whatever their compression."""

from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import lzma
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from gatelab.errors import DataError

__all__ = ["COMPRESSIONS", "DATA_ENV", "FileBytes", "atomic_file", "cache_dir", "compression_note", "compression_of",
           "data_dir", "data_root", "download_checked", "fetch_checked", "file_sha256", "read_decompressed",
           "url_bytes"]

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


def file_sha256(path: Path) -> str:
    """The sha256 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def url_bytes(url: str, timeout: float = 120) -> bytes:
    """A URL's whole body (``urllib``)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (the callers' fixed https URLs)
        return response.read()


def fetch_checked(url: str, sha256: str, fix: str, size: int | None = None,
                  fetch: Callable[[str], bytes] = url_bytes) -> bytes:
    """Download ``url`` and return its bytes if their sha256 (and size, when given) are the expected ones.

    Args:
        url: what to download.
        sha256: the expected hex digest.
        fix: what to do instead when the download fails (said after the error).
        size: the expected size in bytes, or None.
        fetch: URL -> bytes (tests pass a local stand-in).

    Raises:
        DataError: the download failed (naming the URL, the error and ``fix``), or its size or sha256
            differs (naming both digests).
    """
    try:
        data = fetch(url)
    except (urllib.error.URLError, OSError) as error:
        raise DataError(f"cannot download {url} ({error}); {fix}.") from None
    got = hashlib.sha256(data).hexdigest()
    if got != sha256 or (size is not None and len(data) != size):
        expected = f"sha256 {sha256}" + (f", {size:,} bytes" if size is not None else "")
        raise DataError(f"{url}: the download (sha256 {got}, {len(data):,} bytes) is not the expected one "
                        f"({expected}); it is damaged or changed and nothing was saved; try again.")
    return data


def download_checked(url: str, sha256: str, dest: Path, fix: str) -> None:
    """``fetch_checked`` then write the bytes to ``dest`` atomically (``atomic_file``): all or nothing."""
    data = fetch_checked(url, sha256, fix)
    with atomic_file(dest) as out:
        out.write(data)


COMPRESSIONS: dict[str, bytes] = {
    "gzip": b"\x1f\x8b",
    "bz2": b"BZh",
    "xz": b"\xfd7zXZ\x00",
    "zip": b"PK\x03\x04",
}
"""Compression name -> the magic bytes its files start with (RFC 1952; bzip2; the .xz format spec; PKWARE APPNOTE)."""


def compression_of(path: Path) -> str | None:
    """``gzip``, ``bz2``, ``xz`` or ``zip`` when the file starts with that format's magic bytes, else None.

    The file's name plays no part: ``data.csv`` holding gzip is gzip, ``data.csv.gz`` holding text is text.
    """
    with open(path, "rb") as handle:
        head = handle.read(8)
    return next((name for name, magic in COMPRESSIONS.items() if head.startswith(magic)), None)


@dataclass(frozen=True)
class FileBytes:
    """A file's content, decompressed.

    Args:
        data: the bytes (decompressed where the file was compressed).
        compression: the compression found (``COMPRESSIONS``), or None for a plain file.
        member: the file read inside a zip archive, else None.
    """

    data: bytes
    compression: str | None = None
    member: str | None = None

    def describe(self, path: Path) -> str | None:
        """One line saying how the file was read (``data.csv.gz: gzip-compressed, read decompressed``), or None."""
        return compression_note(path, self.compression, self.member)


def compression_note(path: Path, compression: str | None, member: str | None = None) -> str | None:
    """``<path>: <compression>-compressed[ (member 'x')], read decompressed``, or None for a plain file."""
    if compression is None:
        return None
    inside = f" (member {member!r})" if member is not None else ""
    return f"{path}: {compression}-compressed{inside}, read decompressed"


def read_decompressed(path: Path) -> FileBytes:
    """Read a whole file, decompressing gzip, bz2, xz or a zip archive of one file (found by ``compression_of``).

    Raises:
        DataError: one line naming the file: a truncated or damaged archive (what the decompressor
            found), or a zip archive holding no file or several.
    """
    kind = compression_of(path)
    if kind is None:
        return FileBytes(path.read_bytes())
    try:
        if kind == "zip":
            with zipfile.ZipFile(path) as archive:
                names = [info.filename for info in archive.infolist() if not info.is_dir()]
                if len(names) != 1:
                    raise DataError(f"{path}: a zip archive of {len(names)} files ({', '.join(names[:5]) or 'none'}); "
                                    "give an archive of exactly one file, or unzip it and give that file.")
                return FileBytes(archive.read(names[0]), kind, names[0])
        opener = {"gzip": gzip.decompress, "bz2": bz2.decompress, "xz": lzma.decompress}[kind]
        return FileBytes(opener(path.read_bytes()), kind)
    except (EOFError, OSError, zlib.error, lzma.LZMAError, zipfile.BadZipFile, ValueError) as error:
        cut = isinstance(error, EOFError) or "ended before the end-of-stream" in str(error)
        problem = "cut short (it ends before its end-of-stream marker)" if cut else f"damaged ({error})"
        raise DataError(f"{path}: its {kind} data is {problem}; replace the file with a complete copy "
                        f"(check it with `{_CHECK[kind]} {path}`).") from None


_CHECK = {"gzip": "gzip -t", "bz2": "bzip2 -t", "xz": "xz -t", "zip": "unzip -t"}
