"""Text corpora with their own train/valid/test splits, read as UTF-8 and cut into tokens.

A corpus is word level (whitespace-separated words, ``<eos>`` appended at each line end, as in
Mikolov's PTB set-up) or character level (every character a token, newlines included).

Lines end at ``\n``, ``\r\n`` or ``\r`` only, so one ``<eos>`` stands for one line of the file. Other
characters Unicode calls line or paragraph separators (U+2028, U+2029, U+0085, form feed, vertical
tab, U+001C..U+001E; ``str.splitlines`` splits at them) are whitespace inside a line at word level
and ordinary characters at character level. A leading byte-order mark is not text, and ``\r\n`` and
``\r`` read as ``\n``: a file and its plain twin give the same tokens.
"""

from __future__ import annotations

import abc
import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gatelab.errors import DataError

__all__ = ["EOS", "INLINE_SEPARATORS", "SPLITS", "Corpus", "Level", "TextFiles", "read_text", "sha256_of",
           "tokenize"]

EOS = "<eos>"
SPLITS = ("train", "valid", "test")
Level = Literal["word", "char"]
INLINE_SEPARATORS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
"""Characters ``str.splitlines`` takes for line ends that end no line here (whitespace inside a line)."""
_LINE_END = re.compile(r"\r\n?")
_BOM = "\ufeff"


def read_text(path: Path) -> str:
    """A whole text file (gzip if its name ends in ``.gz``), decoded as UTF-8, with ``\n`` line ends.

    A leading byte-order mark is dropped and ``\r\n`` and ``\r`` become ``\n``; nothing else changes.

    Raises:
        DataError: a missing, empty or non-UTF-8 file, naming it and the fix.
    """
    if not path.is_file():
        raise DataError(f"{path}: no such file; give the path of an existing text file.")
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: cannot be read as gzip ({error}); give a .gz file or drop the .gz suffix.") from None
    try:
        text = _LINE_END.sub("\n", raw.decode("utf-8").removeprefix(_BOM))
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text (byte {error.start} is 0x{raw[error.start]:02x}); "
                        "convert it to UTF-8, e.g. with `iconv -t UTF-8`.") from None
    if not text.strip():
        raise DataError(f"{path}: the file is empty; give a file with text in it.")
    return text


def tokenize(text: str, level: Level) -> list[str]:
    """Word level: each line's words then ``<eos>``; character level: every character.

    Lines end at ``\n`` (``read_text`` has turned ``\r\n`` and ``\r`` into it); a final line without
    one still ends. Words are split at whitespace, ``INLINE_SEPARATORS`` included.
    """
    if level == "char":
        return list(text)
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [token for line in lines for token in (*line.split(), EOS)]


def sha256_of(data: bytes) -> str:
    """The sha256 hex digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


class Corpus(abc.ABC):
    """A tokenised text corpus with train, valid and test splits.

    Subclasses are frozen dataclasses, so a corpus is hashable and its tokens can be cached per process.
    """

    #: ``word`` or ``char``.
    level: Level

    def prepare(self) -> None:
        """Make the files available (download them where that is the corpus's way); default: nothing."""

    @abc.abstractmethod
    def texts(self) -> dict[str, tuple[str, str]]:
        """Each split's text and where it came from (a path, named in errors): ``{split: (text, origin)}``."""

    @abc.abstractmethod
    def fingerprint(self) -> str:
        """A short stable id of the corpus's content and splitting."""


@dataclass(frozen=True)
class TextFiles(Corpus):
    """Your own corpus: one UTF-8 text file per split (``.gz`` allowed).

    Args:
        train: the training text; the vocabulary comes from it alone.
        valid: the validation text.
        test: the test text.
        level: ``word`` (whitespace-separated words, ``<eos>`` per line) or ``char``.
    """

    train: str
    valid: str
    test: str
    level: Level = "word"

    def paths(self) -> dict[str, Path]:
        """Each split's file."""
        return {"train": Path(self.train), "valid": Path(self.valid), "test": Path(self.test)}

    def texts(self) -> dict[str, tuple[str, str]]:
        return {split: (read_text(path), str(path)) for split, path in self.paths().items()}

    def fingerprint(self) -> str:
        digest = hashlib.sha256(self.level.encode())
        for path in self.paths().values():
            digest.update(read_text(path).encode())
        return digest.hexdigest()[:16]
