"""The shared checked download (gatelab.files) against a real local HTTP server."""

from __future__ import annotations

import functools
import hashlib
import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from gatelab.errors import DataError
from gatelab.files import download_checked, file_sha256


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder
    server.shutdown()
    server.server_close()


def test_download_is_kept_only_with_the_expected_sha256(served: tuple[str, Path], tmp_path: Path) -> None:
    url, folder = served
    (folder / "words.txt.xz").write_bytes(b"\xfd7zXZ\x00 stand-in bytes")
    sha = hashlib.sha256(b"\xfd7zXZ\x00 stand-in bytes").hexdigest()
    dest = tmp_path / "cache" / "words.txt.xz"
    download_checked(f"{url}/words.txt.xz", sha, dest, fix="put the file there yourself")
    assert file_sha256(dest) == sha
    other = tmp_path / "cache" / "other.txt.xz"
    with pytest.raises(DataError, match=re.escape(f"{url}/words.txt.xz: the download (sha256 {sha}, 21 bytes) is not "
                                                  f"the expected one (sha256 {'0' * 64})")):
        download_checked(f"{url}/words.txt.xz", "0" * 64, other, fix="unused")
    with pytest.raises(DataError, match=r"cannot download .*/missing\.txt \(HTTP Error 404.*\); put it there\.$"):
        download_checked(f"{url}/missing.txt", sha, other, fix="put it there")
    assert sorted(path.name for path in other.parent.iterdir()) == ["words.txt.xz"]
